"""The Celery application, configured from Django settings (the `CELERY_` namespace).

Worker:  celery -A sigma_playground worker --loglevel=INFO
Beat:    celery -A sigma_playground beat --loglevel=INFO
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigma_playground.settings")

app = Celery("sigma_playground")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
