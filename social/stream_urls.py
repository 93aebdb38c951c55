"""The notifications event stream (Server-Sent Events)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
