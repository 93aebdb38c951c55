"""Who is signed in, from the session (accounts.sessions), as django.contrib.auth does it."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    load_backend,
)
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import (
    AuthenticationMiddleware as DjangoAuthenticationMiddleware,
)
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from accounts import rows
from accounts.sessions import SessionStore
from accounts.suspension import is_suspended


def get_user(request: HttpRequest):
    """django.contrib.auth.get_user, with one step more: once the member's row is read, the session
    is vouched for by it (accounts.sessions.SessionStore.vouch) before anything in it is trusted,
    so a copy the cache kept of a session that has ended is never used."""
    session = request.session
    try:
        user_id = session[SESSION_KEY]
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return AnonymousUser()
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return AnonymousUser()
    backend = load_backend(backend_path)
    user = _backend_user(backend, _user_pk(user_id))
    if user is None:
        return AnonymousUser()
    vouch = getattr(session, "vouch", None)
    if vouch is not None:
        vouch(user)
        if session.get(SESSION_KEY) != user_id or session.get(BACKEND_SESSION_KEY) != backend_path:
            return AnonymousUser()  # ended meanwhile (or, never seen, made another's)
    if is_suspended(user):
        # Suspending raises the sessions' generation, which would end this below; this also ends
        # it for a suspension written by other means (the shell), from the row already read.
        session.flush()
        return AnonymousUser()
    session_hash = session.get(HASH_SESSION_KEY)
    verified = bool(
        session_hash and constant_time_compare(session_hash, user.get_session_auth_hash())
    )
    if verified:
        return user
    if session_hash and any(
        constant_time_compare(session_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    ):
        session.cycle_key()
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        return user
    session.flush()
    return AnonymousUser()


def _backend_user(backend, pk):
    """`backend.get_user(pk)`: for Django's ModelBackend, the same row read by the statement compiled
    once per database that a bearer token's member is read by too (accounts.rows), not by the ORM on
    every request."""
    if type(backend).get_user is not ModelBackend.get_user:
        return backend.get_user(pk)
    user = rows.read_user(pk)
    return user if user is not None and backend.user_can_authenticate(user) else None


def _user_pk(value):
    from django.contrib.auth import get_user_model

    return get_user_model()._meta.pk.to_python(value)


def _cached_user(request: HttpRequest):
    # `_cached_user` is Django's own name for it (django.contrib.auth.middleware), not in the stubs.
    if not hasattr(request, "_cached_user"):
        request.session.get(SESSION_KEY)  # a first load looks the member up (process_request)
        vouched = request.__dict__.pop("_vouched_user", None)
        user = vouched if vouched is not None else get_user(request)
        request._cached_user = user  # type: ignore[attr-defined]
        session_key = request.session.session_key
        if user.is_authenticated and session_key is not None:
            if len(_MEMBER_OF_SESSION) >= _MEMBER_OF_SESSION_MAX:
                _MEMBER_OF_SESSION.clear()
            _MEMBER_OF_SESSION[session_key] = user.pk
    return request._cached_user  # type: ignore[attr-defined]


# Who each session was found to be signed in as, when this process last looked: a guess, so that a
# page can read what it will show of that member (their bell) with the session's copy, in one cache
# read, before the session is loaded. Whatever is read for a guess that proves wrong is not used.
_MEMBER_OF_SESSION: dict[str, object] = {}
_MEMBER_OF_SESSION_MAX = 10_000


def member_of(session_key: str | None):
    """The pk of the member `session_key` was last signed in as here, if this process knows."""
    return _MEMBER_OF_SESSION.get(session_key) if session_key is not None else None


def _acached_user(request: HttpRequest):
    # Apart from the sync one, as Django keeps them: an async caller's lookup is its own.
    if not hasattr(request, "_acached_user"):
        request._acached_user = get_user(request)  # type: ignore[attr-defined]  # Django's own
    return request._acached_user  # type: ignore[attr-defined]


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    """Django's, with the user from `get_user` above, looked up as soon as the session is first read
    whenever a session cookie is sent: the session's cached copy is vouched for before any view reads
    or writes it, so `login()`
    never decides on an unchecked copy, and a write is never made to data `vouch` then replaces (or
    saved over a newer row). A request with no session cookie is looked up lazily, as Django does."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)  # checks the session middleware is there
        # A lazy user, as Django's own middleware sets it (the stubs type the attribute as the user).
        request.user = SimpleLazyObject(lambda: _cached_user(request))  # type: ignore[assignment]
        request.auser = sync_to_async(lambda: _acached_user(request))
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            # At the session's first load (nothing is read for a response that never touches it:
            # /healthz does no I/O). The member's row is read on such a request anyway. Kept apart
            # until a view asks, so a response that never asked is not judged made for a member
            # (sigma_playground.caching).
            def vouch() -> None:
                request.__dict__["_vouched_user"] = get_user(request)  # popped by _cached_user

            if isinstance(request.session, SessionStore):  # the hook is this engine's own
                request.session.on_first_load = vouch
