"""What every page's navigation shows a signed-in member."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from . import selectors


def notification_bell(request: HttpRequest) -> dict:
    """`bell.unread` and `bell.last_id` for the navigation: one query, and only when a page with the
    navigation is rendered for a signed-in member (JSON answers and anonymous pages cost nothing)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # One per request: a page's composed parts (workbooks/slots.py) are rendered apart from it.
    if not hasattr(request, "_bell"):
        request._bell = SimpleLazyObject(lambda: selectors.bell(user))
    return {"bell": request._bell}
