"""Content-Security-Policy and Cross-Origin-Resource-Policy on every response.

The policy starts from `default-src 'none'` and names each kind of resource the pages use: scripts and
styles only from our own static files (no inline code anywhere), pictures from here or the media
storage, frames only from the allow-listed Sigma hosts; no site may frame us. Anything new a page
loads (a font host, a worker, a media file) is refused until it is named here, on purpose.

`Cross-Origin-Resource-Policy: same-origin` stops other sites from loading our responses as
no-cors subresources (an <img> or <script> pointing at a page of ours); CORS requests to the API
are not affected, and public media served by S3 or a CDN carries that service's own headers.

One exception, in development only: Django's debug pages (a 500's traceback, a 404's list of
addresses, shown only with DEBUG on) style themselves with inline <style>, so their responses, and
no others, are allowed inline styles. With DEBUG off they are never produced and never relaxed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.storage import storages
from django.http import HttpRequest, HttpResponse
from django.views import debug


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


@functools.lru_cache(maxsize=4)
def _media_origin(_storage_settings: str) -> str | None:
    """Where pictures are served from: the CDN, the S3 endpoint, or this site. Asked of the storage
    once per configuration (an S3 URL takes botocore a moment to build)."""
    return _origin(storages["default"].url("probe.webp"))


# Where a page's forms may lead besides this site: a sign-in button's POST is answered with a
# redirect to an identity provider, which `form-action` would block. Apps register a function giving
# those origins in their ready() (accounts: its configured providers'); asked per response.
_form_action_sources: list[Callable[[], list[str]]] = []


def register_form_action_source(source: Callable[[], list[str]]) -> None:
    if source not in _form_action_sources:
        _form_action_sources.append(source)


def build_policy(*, inline_styles: bool = False) -> str:
    frame_src = [f"https://{host}" for host in settings.SIGMA_EMBED_HOSTS]
    if settings.SIGMA_EMBED_STANDIN:
        frame_src.append("'self'")  # the development stand-in for Sigma is served by this site
    img_src = ["'self'", "data:", "blob:"]  # blob: previews a chosen picture before upload
    media = _media_origin(
        repr(
            (
                settings.STORAGES["default"],
                settings.MEDIA_URL,
                settings.AWS_STORAGE_BUCKET_NAME,
                settings.AWS_S3_ENDPOINT_URL,
            )
        )
    )
    for origin in (media, _origin(settings.STATIC_URL)):
        if origin and origin not in img_src:
            img_src.append(origin)
    directives = {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"] if inline_styles else ["'self'"],
        "img-src": img_src,
        "font-src": ["'self'"],
        "connect-src": ["'self'"],  # CSP 3: 'self' also covers ws(s):// to this host
        "manifest-src": ["'self'"],
        "frame-src": frame_src,
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", *sorted({o for f in _form_action_sources for o in f()})],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


# Django makes its debug pages with these functions of django.views.debug, which its exception
# handling calls through the module (django.core.handlers.exception), and only with DEBUG on.
_DEBUG_PAGE_FUNCTIONS = ("technical_404_response", "technical_500_response")


def _allow_inline_styles_on_debug_pages() -> None:
    """Wrap Django's debug page functions so that their responses carry a policy allowing inline
    styles. Told apart by what made them, not by what they contain, so no other response (a page
    of ours, a member's content) can ask for it. Done once; a no-op once done."""
    for name in _DEBUG_PAGE_FUNCTIONS:
        make_page = getattr(debug, name)
        if getattr(make_page, "allows_inline_styles", False):
            continue

        @functools.wraps(make_page)
        def styled(
            *args: Any, _make_page: Callable[..., HttpResponse] = make_page, **kwargs: Any
        ) -> HttpResponse:
            response = _make_page(*args, **kwargs)
            if settings.DEBUG:  # never in production, even if the page were made there
                response.headers["Content-Security-Policy"] = build_policy(inline_styles=True)
            return response

        styled.allows_inline_styles = True  # type: ignore[attr-defined]
        setattr(debug, name, styled)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        if settings.DEBUG:
            _allow_inline_styles_on_debug_pages()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # A view that needs another policy (the embed stand-in) sets its own. Built per response
        # (a few microseconds) so it always matches the settings.
        response.headers.setdefault("Content-Security-Policy", build_policy())
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response
