"""ASGI entry point: HTTP and websockets in development; in production only the long-lived
connections: websockets (`/ws/`) and the notification event stream.

Under ASGI, Django runs sync views on one shared thread per process, so production sends every other
request to the WSGI processes (README, "Production").
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigma_playground.settings")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from .routing import websocket_urlpatterns  # noqa: E402
from .websocket import websocket_auth, websocket_origin_check  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": websocket_origin_check(websocket_auth(URLRouter(websocket_urlpatterns))),
    }
)
