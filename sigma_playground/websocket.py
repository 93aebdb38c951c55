"""What every websocket passes before it reaches a consumer: an origin check, then authentication.

Browsers send the session cookie with the handshake, so a page on another site could open a socket as the
signed-in user: the origin check refuses that. API clients authenticate with `Authorization: Bearer <access
JWT>` instead. A consumer finds the result in `scope["user"]` (anonymous when a token is missing or bad).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import WebsocketDenier
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import validate_host
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def origin_is_allowed(origin: str | None) -> bool:
    """A browser always sends Origin on a websocket handshake; a missing one means a non-browser client,
    which has no victim's cookies to ride on. A present Origin must be one of our own hosts."""
    if origin is None:
        return True
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = ["localhost", "127.0.0.1", "[::1]"]
    return validate_host(parts.hostname, allowed_hosts)


class OriginCheckMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        if not origin_is_allowed(_header(scope, b"origin")):
            return await WebsocketDenier()(scope, receive, send)
        return await self.inner(scope, receive, send)


@database_sync_to_async
def _user_and_expiry(raw_token: str):
    auth = JWTAuthentication()
    try:
        token = auth.get_validated_token(raw_token.encode())
        return auth.get_user(token), token["exp"]
    except (InvalidToken, TokenError, AuthenticationFailed, KeyError):
        return None, None


async def bearer_user(authorization: str):
    """(user, token expiry as a Unix time) for an `Authorization: Bearer <access JWT>` header with
    a good token; (None, None) for any other value. Shared by the socket and the event stream."""
    kind, _, raw_token = authorization.partition(" ")
    if kind.lower() != "bearer" or not raw_token.strip():
        return None, None
    return await _user_and_expiry(raw_token.strip())


class BearerOrSessionAuthMiddleware(BaseMiddleware):
    """Sets scope["user"] from a bearer token if the handshake carries one, else from the session."""

    async def __call__(self, scope, receive, send):
        scope = dict(scope)
        authorization = _header(scope, b"authorization")
        if authorization is not None:
            user, expires_at = await bearer_user(authorization)
            scope["user"] = user or AnonymousUser()
            # The consumer closes the socket when the token expires, as an HTTP call would fail.
            scope["auth_expires_at"] = expires_at
        else:
            scope["user"] = await get_user(scope)
        return await self.inner(scope, receive, send)


def websocket_origin_check(inner):
    return OriginCheckMiddleware(inner)


def websocket_auth(inner):
    return CookieMiddleware(SessionMiddleware(BearerOrSessionAuthMiddleware(inner)))
