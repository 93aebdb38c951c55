from typing import Any

from django.urls import path

from social.consumers import NotificationConsumer

# Channels routes ASGI applications with Django's path(), whose stubs accept views only; the list is
# typed loosely for the same reason (channels' URLRouter wants its own pattern type).
websocket_urlpatterns: list[Any] = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),  # type: ignore[arg-type]
]
