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

import asyncio
import contextvars
import functools
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import AsyncToSync, SyncToAsync
from channels.auth import get_user
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connections
from django.http import HttpRequest, HttpResponse
from django.http.cookie import parse_cookie
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.crypto import constant_time_compare
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.settings import api_settings as drf_settings
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from .http import without_nul_cookies
from .observability import logs

# Calls of `closing_database_sync_to_async` started and not finished, by the thread they run on.
_unfinished: dict[object, int] = {}
_unfinished_lock = threading.Lock()
_calls_thread: contextvars.ContextVar[object] = contextvars.ContextVar("closing_calls_thread")

_P = ParamSpec("_P")
_R = TypeVar("_R")
# ASGI as these middlewares see it: the scope a dict. The rest is typed loosely: channels' stubs
# type each kind of scope and event apart, which a middleware passing them through has no use for.
Scope = dict[str, Any]
Receive = Any
Send = Any
ASGIApp = Any


def _thread_of_call() -> object:
    """What picks the thread a thread-sensitive `SyncToAsync` call runs on, as asgiref chooses it:
    the sync thread that awaits it, else the request's ThreadSensitiveContext, else the loop's or
    the process's one shared thread."""
    current = getattr(AsyncToSync.executors, "current", None)
    if current is not None:
        return current
    context = SyncToAsync.thread_sensitive_context.get(None)
    if context is not None:
        return context
    loop = asyncio.get_running_loop()
    return AsyncToSync.loop_thread_executors.get(loop) or SyncToAsync.single_thread_executor


class closing_database_sync_to_async(SyncToAsync[_P, _R]):
    """channels' `database_sync_to_async`, except that the thread's connections are closed once it
    has no call left to run, whatever CONN_MAX_AGE says.

    Under ASGI each event stream runs its database calls on a thread of its own (Django's
    ThreadSensitiveContext per request), and a persistent connection there outlives the stream: one
    PostgreSQL connection per listener, kept after it hangs up, until the server refuses new ones.
    Sockets share one thread per process, whose connection would sit idle between their rare calls.
    Closing when a thread's last call returns makes listeners cost a connection only while they
    query; calls queued behind one another (thousands of sockets connecting after a restart, a
    batch of sign-in checks) reuse it instead of setting one up each, about 4 ms a time on the
    same machine. With Django's psycopg pool (`OPTIONS["pool"]`) the close hands the connection back
    to the pool. Persistent connections stay right for the WSGI tier, whose few threads each reuse
    theirs, so this is done here rather than by a CONN_MAX_AGE of 0 for every process."""

    def __init__(self, func: Callable[_P, _R], *args: Any, **kwargs: Any) -> None:
        super().__init__(self._closing(func), *args, **kwargs)

    async def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        thread = _thread_of_call()
        with _unfinished_lock:
            _unfinished[thread] = _unfinished.get(thread, 0) + 1
        token = _calls_thread.set(thread)  # copied into the call's context
        try:
            return await super().__call__(*args, **kwargs)
        finally:
            _calls_thread.reset(token)
            with _unfinished_lock:
                left = _unfinished[thread] - 1
                if left:
                    _unfinished[thread] = left
                else:
                    del _unfinished[thread]

    @staticmethod
    def _closing(func: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(func)
        def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            close_old_connections()
            try:
                return func(*args, **kwargs)
            finally:
                with _unfinished_lock:
                    others = _unfinished.get(_calls_thread.get(None), 1) - 1
                if not others:
                    connections.close_all()

        return run


@closing_database_sync_to_async
def release_database_connections() -> None:
    """Close the connections of the thread this context's database calls run on (say, one that
    `request.auser()` or channels' `get_user` opened)."""


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            text: str = value.decode("latin1")
            return text
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
    check = CsrfViewMiddleware(lambda request: HttpResponse())
    verified: bool = check._origin_verified(handshake)  # type: ignore[attr-defined]  # Django's own
    return verified


class OriginCheckMiddleware:
    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not origin_is_allowed(_header(scope, b"origin"), scope):
            await WebsocketDenier()(scope, receive, send)  # type: ignore[arg-type]  # see Scope
            return
        await self.inner(scope, receive, send)


def _bearer_authentication() -> JWTAuthentication:
    """The API's own bearer check (the first JWT class of its DEFAULT_AUTHENTICATION_CLASSES), so a
    socket or event stream refuses every token the API refuses (a suspended member's, say)."""
    for authentication in drf_settings.DEFAULT_AUTHENTICATION_CLASSES:
        if isinstance(authentication, type) and issubclass(authentication, JWTAuthentication):
            return authentication()
    return JWTAuthentication()


@closing_database_sync_to_async
def _user_and_expiry(raw_token: str) -> tuple[Any, int | None]:
    auth = _bearer_authentication()
    try:
        token = auth.get_validated_token(raw_token.encode())
        return auth.get_user(token), token["exp"]
    except (InvalidToken, TokenError, AuthenticationFailed, PermissionDenied, KeyError):
        return None, None


async def bearer_user(authorization: str) -> tuple[Any, int | None]:
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
    return _session_signs_in_now(session_key, user_id)


def _session_signs_in_now(session_key: str, user_id: int) -> bool:
    """django.contrib.auth.get_user's checks, read-only: the session exists and has not expired, it names
    this member through a configured backend that still returns them (not when deactivated), and it
    carries their current auth hash (a password change replaces it). Read-only, because get_user
    would flush or re-key the session: that is for the browser's next request, whose response can
    set the new cookie."""
    # A fresh store: the handshake's copy of the session was read once and is kept. The row itself,
    # not a cached copy of it (accounts.sessions): once a minute per connection, and it sees an end
    # the cache was not told of.
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if issubclass(store, DatabaseSessionStore):
        store = DatabaseSessionStore
    session = store(session_key)
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
def _vouched(session: SessionBase, user: Any) -> bool:
    """Whether the session still names `user` once their row has vouched for it: a copy the
    cache kept of a session that has ended does not (accounts.sessions)."""
    vouch = getattr(session, "vouch", None)
    if vouch is None:
        return True
    named = session.get(SESSION_KEY)
    vouch(user)
    return named is not None and session.get(SESSION_KEY) == named


@closing_database_sync_to_async
def _is_active(user_id: int) -> bool:
    return get_user_model().objects.filter(pk=user_id, is_active=True).exists()


# Members whose token sign-ins one query checks at a time.
_ACTIVE_CHUNK = 1000


@closing_database_sync_to_async
def sign_ins_current(sign_ins: list[SignIn]) -> list[bool]:
    """`SignIn.is_current` for many at once, on one database connection and one query for all the
    token sign-ins: a process holding 10,000 sockets re-checks 170 a second, and a connection set
    up for each was more than its database thread could do."""
    now = time.time()
    members = sorted({s.user_id for s in sign_ins if s.session_key is None})
    active: set[int] = set()
    for start in range(0, len(members), _ACTIVE_CHUNK):
        active.update(
            get_user_model()
            .objects.filter(pk__in=members[start : start + _ACTIVE_CHUNK], is_active=True)
            .values_list("pk", flat=True)
        )
    return [
        _session_signs_in_now(s.session_key, s.user_id)
        if s.session_key is not None
        else (s.expires_at is None or now < s.expires_at) and s.user_id in active
        for s in sign_ins
    ]


# What a consumer keeps of the handshake's scope: what routing and the protocol need, not the
# headers, cookies or session (a process holds thousands of sockets, each for hours).
_KEPT_SCOPE_KEYS = (
    "type",
    "asgi",
    "http_version",
    "scheme",
    "path",
    "raw_path",
    "root_path",
    "query_string",
    "subprotocols",
    "extensions",
)


def _session_key(scope: dict[str, Any]) -> str | None:
    """The session cookie's value, unless it holds a NUL byte: such a key fails the query on
    PostgreSQL, which would end the handshake in a server error instead of an anonymous socket (the
    HTTP side drops such cookies too, sigma_playground.http.RefuseMalformedAddressesMiddleware)."""
    header = _header(scope, b"cookie")
    if header is None:
        return None
    return without_nul_cookies(parse_cookie(header)).get(settings.SESSION_COOKIE_NAME) or None


async def authenticate(scope: dict[str, Any]) -> tuple[Any, SignIn | None]:
    """(user, how they proved it) for a handshake: a bearer token if it carries one, else the
    session cookie; (AnonymousUser, None) when neither signs anyone in."""
    authorization = _header(scope, b"authorization")
    if authorization is not None:
        user, expires_at = await bearer_user(authorization)
        if user is None:
            return AnonymousUser(), None
        # The consumer closes the socket when the token expires, as an HTTP call would fail.
        return user, SignIn(user.pk, expires_at=expires_at)
    session_key = _session_key(scope)
    if session_key is None:
        return AnonymousUser(), None
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = await get_user({"session": session})  # type: ignore[typeddict-item]  # reads only this
    if user.is_authenticated and not await _vouched(session, user):
        user = AnonymousUser()
    # get_user keeps its thread's connection for CONN_MAX_AGE; the socket needs it no more.
    await release_database_connections()
    if not user.is_authenticated or session.session_key is None:
        return user, None
    return user, SignIn(user.pk, session_key=session.session_key)


class WebsocketAuthMiddleware:
    """Sets scope["user"] from a bearer token if the handshake carries one, else from the session
    cookie, and scope["sign_in"] to how (None when anonymous).

    One middleware rather than channels' cookie, session and auth middlewares in a row: each of those
    stays suspended for as long as the socket is open, holding its own copy of the scope (headers,
    cookies, a session object), a few kilobytes a socket. The application gets a scope with only
    what routing and the consumer need."""

    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A socket is one request as far as the logs go: every line written while it is open, by
        # the consumer and what it calls, carries the handshake's id (the proxy's, when trusted).
        given = _header(scope, b"x-request-id")
        request_id = logs.request_id_for(
            {"HTTP_X_REQUEST_ID": given} if given else {}, settings.TRUST_REQUEST_ID_HEADER
        )
        context = logs.RequestContext(request_id, route="websocket")
        token = logs.enter(context)
        try:
            user, sign_in = await authenticate(scope)
            if user.is_authenticated:  # named in an error report of the socket's
                context.user_id, context.username = user.pk, user.get_username()
            kept = {key: scope[key] for key in _KEPT_SCOPE_KEYS if key in scope}
            kept["user"], kept["sign_in"] = user, sign_in
            await self.inner(kept, receive, send)
        finally:
            logs.leave(token)


def websocket_origin_check(inner: ASGIApp) -> OriginCheckMiddleware:
    return OriginCheckMiddleware(inner)


def websocket_auth(inner: ASGIApp) -> WebsocketAuthMiddleware:
    return WebsocketAuthMiddleware(inner)
