"""WSGI entry point: serves every HTTP page and API call in production (see README, "Production")."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigma_playground.settings")

application = get_wsgi_application()
