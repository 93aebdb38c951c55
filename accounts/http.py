"""Request types for views only a signed-in member reaches.

Django and DRF type `request.user` as `User | AnonymousUser`. Behind `login_required` (pages) or
`IsAuthenticated` (API) it is always a member, so those views annotate their request with these types
instead of narrowing or casting the user in every body. They exist for the type checker only: at run
time they are Django's and DRF's own request classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.request import Request

from .models import User

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    class AuthenticatedHttpRequest(HttpRequest):
        user: User

    class AuthenticatedRequest(Request):
        @property
        def user(self) -> User: ...

        @user.setter
        def user(self, value: User | AnonymousUser) -> None: ...

else:
    AuthenticatedHttpRequest = HttpRequest
    AuthenticatedRequest = Request


def member(request: HttpRequest | Request) -> User:
    """The signed-in member, where only a member gets but the request cannot be typed as above: a
    view that also serves anonymous reads (IsAuthenticatedOrReadOnly), a method whose signature DRF
    fixes, or a function login_required wraps after the fact."""
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied  # not reached: the permission or login_required came first
    return user
