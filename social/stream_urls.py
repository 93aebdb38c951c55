"""The notifications event stream (Server-Sent Events), at /api/v1/notifications/stream/."""

from django.urls import path

from .stream import notification_stream

urlpatterns = [
    path("", notification_stream, name="api-notification-stream"),
]
