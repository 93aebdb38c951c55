"""`Cache-Control: private` on every response made for a signed-in member.

A page that shows a member's own things (settings, notifications, feed, their home page's navigation)
must never be kept by a shared cache and served to someone else. Views that set their own policy keep
it: `no-store` and `no-cache` are left as they are, and `private` is only ever added.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.functional import SimpleLazyObject


def made_for_a_member(request: HttpRequest) -> bool:
    """Whether the response was made for a signed-in member, judged without looking the user up: a view
    that never asked who is signed in made a response that does not depend on it (and /healthz stays
    free of I/O)."""
    user = getattr(request, "user", None)
    if isinstance(user, SimpleLazyObject):  # AuthenticationMiddleware's, resolved on first use
        user = getattr(request, "_cached_user", None)
    return bool(user is not None and user.is_authenticated)


class PrivateCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if made_for_a_member(request):
            directives = response.get("Cache-Control", "").lower()
            if "private" not in directives and "no-store" not in directives:
                patch_cache_control(response, private=True)  # also drops a `public`
        return response
