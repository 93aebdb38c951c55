"""What every websocket passes before it reaches a consumer: an origin check, then authentication.

Browsers send the session cookie with the handshake, so a page on another site could open a socket as the
signed-in user: the origin check refuses that. API clients authenticate with `Authorization: Bearer <access
JWT>` instead. A consumer finds the result in `scope["user"]` (anonymous when a token is missing or bad)
and how it was proved in `scope["sign_in"]`, which it asks again while the socket stays open: a socket
lives no longer than the sign-in it was opened with.

Long-lived connections use the database through `closing_database_sync_to_async`: each call closes its
thread's connection when it returns, so a socket or event stream holds none between its queries.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from asgiref.sync import SyncToAsync
from channels.auth import get_user
from channels.middleware import BaseMiddleware
from channels.security.websocket import WebsocketDenier
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connections
from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.crypto import constant_time_compare
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from .http import without_nul_cookies


class closing_database_sync_to_async(SyncToAsync):
    """channels' `database_sync_to_async`, except that the thread's connections are closed after the
    call whatever CONN_MAX_AGE says.

    Under ASGI each event stream runs its database calls on a thread of its own (Django's
    ThreadSensitiveContext per request), and a persistent connection there outlives the stream: one
    PostgreSQL connection per listener, kept after it hangs up, until the server refuses new ones.
    Sockets share one thread per process, whose connection would sit idle between their rare calls.
    Closing after each call makes a listener cost a connection only while it queries; with Django's
    psycopg pool (`OPTIONS["pool"]`) the same close hands the connection back to the pool. Persistent
    connections stay right for the WSGI tier, whose few threads each reuse theirs, so this is done
    per call rather than by a CONN_MAX_AGE of 0 for every process."""

    def thread_handler(self, loop, *args, **kwargs):
        close_old_connections()
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            connections.close_all()


@closing_database_sync_to_async
def release_database_connections() -> None:
    """Close the connections of the thread this context's database calls run on (say, one that
    `request.auser()` or channels' `get_user` opened)."""


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


class _Handshake(HttpRequest):
    """A websocket handshake as Django's request: its headers, the server's address, the scheme, so
    that `get_host()` and `is_secure()` answer as they would for a page served on that connection."""

    def __init__(self, scope: dict[str, Any]) -> None:
        super().__init__()
        for name, value in scope.get("headers", []):
            key = name.decode("latin1").upper().replace("-", "_")
            self.META.setdefault(f"HTTP_{key}", value.decode("latin1"))
        server = scope.get("server") or ("", "")
        # Without a Host header and a server address there is no origin of ours to match.
        self.META["SERVER_NAME"], self.META["SERVER_PORT"] = server[0], str(server[1] or "")
        self._scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"

    def _get_scheme(self) -> str:
        return self._scheme


def origin_is_allowed(origin: str | None, scope: dict[str, Any]) -> bool:
    """Django's CSRF origin check (`CsrfViewMiddleware._origin_verified`), on the handshake.

    A browser always sends Origin on a websocket handshake; a missing one means a non-browser client,
    which has no victim's cookies to ride on. A present Origin must be exactly this site as the
    handshake reached it, `scheme://host[:port]` (the scheme https when the connection or the trusted
    proxy says it is secure; the Host one ALLOWED_HOSTS allows, so a rebound DNS name does not pass),
    or one of CSRF_TRUSTED_ORIGINS (`https://*.example.com` matching subdomains, as for forms). A
    matching host name is not enough: another port or scheme of one host is another origin."""
    if origin is None:
        return True
    handshake = _Handshake(scope)
    handshake.META["HTTP_ORIGIN"] = origin
    return CsrfViewMiddleware(lambda request: None)._origin_verified(handshake)


class OriginCheckMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        if not origin_is_allowed(_header(scope, b"origin"), scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.inner(scope, receive, send)


@closing_database_sync_to_async
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


# --- The sign-in a connection was opened with -------------------------------------------------------


def session_digest(session_key: str) -> str:
    """How a message names a session: a session key is a credential, and the channel layer's Redis is
    shared with the cache and the broker."""
    return hashlib.sha256(session_key.encode()).hexdigest()


@dataclass(frozen=True)
class SignIn:
    """How a socket or event stream proved who it is, so that it can ask again while it stays open:
    the session it was opened with (`session_key`), or a bearer token (`expires_at`, a Unix time)."""

    user_id: int
    session_key: str | None = None
    expires_at: float | None = None

    def is_session(self, digest: str) -> bool:
        """Was this opened with the session that `session_digest` named?"""
        return self.session_key is not None and constant_time_compare(
            session_digest(self.session_key), digest
        )

    async def is_current(self) -> bool:
        """Would the same credential still sign the member in now?"""
        if self.session_key is not None:
            return await _session_signs_in(self.session_key, self.user_id)
        if self.expires_at is not None and time.time() >= self.expires_at:
            return False
        return await _is_active(self.user_id)


@closing_database_sync_to_async
def _session_signs_in(session_key: str, user_id: int) -> bool:
    """django.contrib.auth.get_user's checks, read-only: the session exists and has not expired, it names
    this member through a configured backend that still returns them (not when deactivated), and it
    carries their current auth hash (a password change replaces it). Read-only, because get_user
    would flush or re-key the session: that is for the browser's next request, whose response can
    set the new cookie."""
    # A fresh store: the handshake's copy of the session was read once and is kept.
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    try:
        session_user_id = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except (KeyError, ValidationError):
        return False
    if session_user_id != user_id or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return False
    user = load_backend(backend_path).get_user(session_user_id)
    session_hash = session.get(HASH_SESSION_KEY)
    if user is None or not session_hash:
        return False
    return any(
        constant_time_compare(session_hash, known)
        for known in [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    )


@closing_database_sync_to_async
def _is_active(user_id: int) -> bool:
    return get_user_model().objects.filter(pk=user_id, is_active=True).exists()


class BearerOrSessionAuthMiddleware(BaseMiddleware):
    """Sets scope["user"] from a bearer token if the handshake carries one, else from the session, and
    scope["sign_in"] to how (None when anonymous)."""

    async def __call__(self, scope, receive, send):
        scope = dict(scope)
        authorization = _header(scope, b"authorization")
        sign_in = None
        if authorization is not None:
            user, expires_at = await bearer_user(authorization)
            if user is not None:
                # The consumer closes the socket when the token expires, as an HTTP call would fail.
                sign_in = SignIn(user.pk, expires_at=expires_at)
            scope["user"] = user or AnonymousUser()
        else:
            scope["user"] = await get_user(scope)
            # get_user keeps its thread's connection for CONN_MAX_AGE; the socket needs it no more.
            await release_database_connections()
            if scope["user"].is_authenticated:
                sign_in = SignIn(scope["user"].pk, session_key=scope["session"].session_key)
        scope["sign_in"] = sign_in
        return await self.inner(scope, receive, send)


def websocket_origin_check(inner):
    return OriginCheckMiddleware(inner)


class NulCookieFilter(BaseMiddleware):
    """Drops cookies holding a NUL byte before the session is looked up, as the HTTP side does
    (sigma_playground.http.RefuseMalformedAddressesMiddleware): such a session key fails the query on
    PostgreSQL, which would end the handshake in a server error instead of an anonymous socket."""

    async def __call__(self, scope, receive, send):
        cookies = without_nul_cookies(scope.get("cookies", {}))
        return await self.inner({**scope, "cookies": cookies}, receive, send)


def websocket_auth(inner):
    return CookieMiddleware(
        NulCookieFilter(SessionMiddleware(BearerOrSessionAuthMiddleware(inner)))
    )
