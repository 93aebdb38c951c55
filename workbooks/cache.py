"""Rendered gallery fragments, shared by every web process through the cache (Redis in production).

Each key carries the gallery's version, which every change that can alter a listing increments: a
cached fragment is never stale, only unused. The version key never
expires; fragments expire on their own.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Callable
from functools import wraps
from importlib import import_module

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.safestring import SafeString, mark_safe

VERSION_KEY = "gallery:version"
FRAGMENT_TIMEOUT = 300
# New entries one page (or fragment) may store per minute: at most five minutes' worth are alive.
STORE_BUDGET_PER_MINUTE = 120


def version() -> int:
    current = cache.get(VERSION_KEY)
    if current is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        current = cache.get(VERSION_KEY, 1)
    return current


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # not there yet (or evicted): any new value retires the old fragments
        cache.set(VERSION_KEY, version() + 1, timeout=None)


def gallery_changed() -> None:
    """Call from any write that can change what a listing shows.

    Bumped now, so this transaction's own next read is fresh, and again once it commits, so a
    fragment another request rendered in between from the old rows is retired too.
    """
    _bump()
    transaction.on_commit(_bump)


def fragment(name: str, key_parts: str, render: Callable[[], str]) -> SafeString:
    digest = hashlib.sha256(key_parts.encode()).hexdigest()[:32]
    key = f"gallery:{version()}:{name}:{digest}"
    html = cache.get(key)
    if html is None:
        html = render()
        if _may_store(name):
            cache.set(key, html, timeout=FRAGMENT_TIMEOUT)
    return mark_safe(html)  # noqa: S308 - our own rendered template output


def _may_store(name: str) -> bool:
    """Whether `name` may store one more new entry this minute.

    Keys hold known parameters only, but a search's text is bounded in length, not in number: without
    a budget, a stream of distinct searches would fill the Redis that also carries the broker and the
    channel layer. Past the budget a page is rendered as usual and not kept.
    """
    counter = f"gallery:stored:{name}:{minute()}"
    cache.add(counter, 0, timeout=120)
    try:
        return cache.incr(counter) <= STORE_BUDGET_PER_MINUTE
    except ValueError:  # the counter was evicted meanwhile: store nothing rather than guess
        return False


def _no_parameters(request: HttpRequest) -> str:
    return ""


def as_visitor(request: HttpRequest) -> HttpRequest:
    """The same request as seen by a visitor who is not signed in, for renderings shared by everyone:
    no user, session, cookies or messages, so nothing of the member asking can reach the copy, and
    reached through SITE_URL, whatever Host it came with."""
    visitor = copy.copy(request)
    visitor.user = AnonymousUser()
    visitor.COOKIES = {}
    visitor.META = {
        name: value
        for name, value in request.META.items()
        if name not in ("HTTP_COOKIE", "HTTP_AUTHORIZATION", "CSRF_COOKIE")
    }
    visitor.session = import_module(settings.SESSION_ENGINE).SessionStore()  # empty: no query
    visitor._messages = []
    # Absolute URLs (request.build_absolute_uri: canonical, og:url, share link, pictures) come from
    # the configured origin, not from the Host this request sent: any allowed name (an internal
    # address, a wildcard subdomain) would otherwise reach every reader of the copy. Django builds
    # them all from this one cached property of the request.
    visitor.__dict__["_current_scheme_host"] = settings.SITE_URL
    for remembered in ("_cached_user", "_bell"):  # what a member's own request has looked up
        visitor.__dict__.pop(remembered, None)
    return visitor


def shared_page(
    name: str,
    key: Callable[..., str] = _no_parameters,
    personal: Callable[..., bool] | None = None,
):
    """Serve a page from one rendering shared by every viewer, visitors and members alike.

    The view renders as for a visitor (`as_visitor`); each viewer's parts are `{% slot %}`s, filled
    in per request after the view (workbooks.slots), so the cached copy holds no one's state, CSRF
    token or messages. The entry is keyed on the gallery's version and on what the view reads from
    the URL: `key(request, **view_kwargs)` returns that, built by the same code the view uses, so a
    parameter the view ignores (`/?junk=1`, `/?junk=2`...) cannot make a new entry. `personal`
    (request, **view_kwargs) says when a viewer sees more than visitors do (their own profile, with
    drafts): the page is then rendered for them and not kept. A hit answers with the headers the
    miss had; `Vary: Cookie` stays, since the composed parts depend on the cookies.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method != "GET" or (personal is not None and personal(request, **kwargs)):
                response = view(request, *args, **kwargs)
                patch_vary_headers(response, ("Cookie",))
                return response
            return shared(
                request,
                name,
                key(request, **kwargs),
                lambda visitor: view(visitor, *args, **kwargs),
            )

        return wrapper

    return decorator


def shared(
    request: HttpRequest,
    name: str,
    key: str,
    render: Callable[[HttpRequest], HttpResponse],
) -> HttpResponse:
    """The page `name` for `key` from the cache, or `render(as_visitor(request))` kept there (an
    answer of 200 that sets no cookie). Either way its `{% slot %}`s are still to be composed."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    cache_key = f"gallery:{version()}:page:{name}:{minute()}:{digest}"
    cached = cache.get(cache_key)
    if cached is not None:
        content, headers = cached
        return HttpResponse(content, headers=headers)
    response = render(as_visitor(request))
    patch_vary_headers(response, ("Cookie",))
    if response.status_code == 200 and not response.cookies and _may_store(f"page:{name}"):
        cache.set(cache_key, (response.content, dict(response.headers)), timeout=FRAGMENT_TIMEOUT)
    return response


def minute() -> int:
    # Featured windows open and close with no write to mark it: keys change every minute.
    return int(time.time() // 60)
