"""What every page's navigation shows a signed-in member."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from . import selectors


def notification_bell(request: HttpRequest) -> dict[str, Any]:
    """`bell.unread` and `bell.last_id` for the navigation: one query, and only when a page with the
    navigation is rendered for a signed-in member (JSON answers and anonymous pages cost nothing)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # One per request: a page's composed parts (workbooks/slots.py) are rendered apart from it.
    bell = request.__dict__.get(_BELL)
    if bell is None:
        # The bell's keys read ahead with the page (workbooks.cache.shared), if for this member.
        ahead = request.__dict__.get(BELL_READ_AHEAD)
        found = ahead[1] if ahead is not None and ahead[0] == user.pk else None
        bell = request.__dict__[_BELL] = SimpleLazyObject(lambda: selectors.bell(user, found=found))
    return {"bell": bell}


# Set on a request by a page that read the bell's keys ahead: (member pk, what the cache held).
BELL_READ_AHEAD = "_bell_read_ahead"
# The request's bell, once made (workbooks.cache leaves it out of an anonymous copy).
_BELL = "_bell"
