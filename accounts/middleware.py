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
from django.contrib.auth.middleware import (
    AuthenticationMiddleware as DjangoAuthenticationMiddleware,
)
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject


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
    user = backend.get_user(_user_pk(user_id))
    if user is None:
        return AnonymousUser()
    vouch = getattr(session, "vouch", None)
    if vouch is not None:
        vouch(user)
        if session.get(SESSION_KEY) != user_id or session.get(BACKEND_SESSION_KEY) != backend_path:
            return AnonymousUser()  # ended meanwhile (or, never seen, made another's)
    session_hash = session.get(HASH_SESSION_KEY)
    verified = bool(session_hash) and constant_time_compare(
        session_hash, user.get_session_auth_hash()
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


def _user_pk(value):
    from django.contrib.auth import get_user_model

    return get_user_model()._meta.pk.to_python(value)


def _cached_user(request: HttpRequest):
    if not hasattr(request, "_cached_user"):
        request.session.get(SESSION_KEY)  # a first load looks the member up (process_request)
        vouched = request.__dict__.pop("_vouched_user", None)
        request._cached_user = vouched if vouched is not None else get_user(request)
    return request._cached_user


def _acached_user(request: HttpRequest):
    # Apart from the sync one, as Django keeps them: an async caller's lookup is its own.
    if not hasattr(request, "_acached_user"):
        request._acached_user = get_user(request)
    return request._acached_user


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    """Django's, with the user from `get_user` above, looked up as soon as the session is first read
    whenever a session cookie is sent: the session's cached copy is vouched for before any view reads
    or writes it, so `login()`
    never decides on an unchecked copy, and a write is never made to data `vouch` then replaces (or
    saved over a newer row). A request with no session cookie is looked up lazily, as Django does."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)  # checks the session middleware is there
        request.user = SimpleLazyObject(lambda: _cached_user(request))
        request.auser = sync_to_async(lambda: _acached_user(request))
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            # At the session's first load (nothing is read for a response that never touches it:
            # /healthz does no I/O). The member's row is read on such a request anyway. Kept apart
            # until a view asks, so a response that never asked is not judged made for a member
            # (sigma_playground.caching).
            def vouch() -> None:
                request._vouched_user = get_user(request)

            request.session.on_first_load = vouch
