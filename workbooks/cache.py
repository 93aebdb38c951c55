"""Rendered gallery fragments, shared by every web process through the cache (Redis in production).

Each key carries the gallery's version, which every change that can alter a listing increments: a
cached fragment is never stale, only unused. The version key never
expires; fragments expire on their own.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
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


def anonymous_page(name: str, key: Callable[[HttpRequest], str] = _no_parameters):
    """Serve a listing page to visitors who are not signed in from the cache, whole.

    Such a page depends only on the gallery's version and on what the view reads from the URL: `key`
    returns that, built by the same code the view uses, so a parameter the view ignores (`/?junk=1`,
    `/?junk=2`...) cannot make a new entry. Signed-in members, and anyone with a message waiting, get
    it rendered (their navigation bar is their own). A hit answers with the headers the miss had,
    `Vary: Cookie` included: the choice between the two depends on the cookies.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if (
                request.method != "GET"
                or request.COOKIES.get(settings.SESSION_COOKIE_NAME)
                or (request.COOKIES.get("messages"))
            ):
                response = view(request, *args, **kwargs)
                patch_vary_headers(response, ("Cookie",))
                return response
            digest = hashlib.sha256(key(request).encode()).hexdigest()[:32]
            cache_key = f"gallery:{version()}:page:{name}:{minute()}:{digest}"
            cached = cache.get(cache_key)
            if cached is not None:
                content, headers = cached
                return HttpResponse(content, headers=headers)
            response = view(request, *args, **kwargs)
            patch_vary_headers(response, ("Cookie",))
            if response.status_code == 200 and not response.cookies and _may_store(f"page:{name}"):
                cache.set(
                    cache_key,
                    (response.content, dict(response.headers)),
                    timeout=FRAGMENT_TIMEOUT,
                )
            return response

        return wrapper

    return decorator


def minute() -> int:
    # Featured windows open and close with no write to mark it: keys change every minute.
    return int(time.time() // 60)
