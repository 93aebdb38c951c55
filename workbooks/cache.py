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
from django.utils.safestring import SafeString, mark_safe

VERSION_KEY = "gallery:version"
FRAGMENT_TIMEOUT = 300


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
        cache.set(key, html, timeout=FRAGMENT_TIMEOUT)
    return mark_safe(html)  # noqa: S308 - our own rendered template output


def anonymous_page(name: str):
    """Serve a listing page to visitors who are not signed in from the cache, whole.

    Such a page depends only on its URL and the gallery's version. Signed-in members, and anyone with
    a message waiting, get it rendered (their navigation bar is their own).
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if (
                request.method != "GET"
                or request.COOKIES.get(settings.SESSION_COOKIE_NAME)
                or (request.COOKIES.get("messages"))
            ):
                return view(request, *args, **kwargs)
            digest = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:32]
            key = f"gallery:{version()}:page:{name}:{minute()}:{digest}"
            cached = cache.get(key)
            if cached is not None:
                return HttpResponse(cached, content_type="text/html; charset=utf-8")
            response = view(request, *args, **kwargs)
            if response.status_code == 200 and not response.cookies:
                cache.set(key, response.content, timeout=FRAGMENT_TIMEOUT)
            return response

        return wrapper

    return decorator


def minute() -> int:
    # Featured windows open and close with no write to mark it: keys change every minute.
    return int(time.time() // 60)
