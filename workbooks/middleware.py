"""Each viewer's parts of an HTML page composed in after the view (workbooks.slots)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import cache as gallery_cache
from . import slots


class ComposeMiddleware:
    """Fill in each viewer's parts of an HTML page (workbooks.slots): after the view, so a page taken
    whole from the cache gets them too, and before the messages middleware (messages shown here are
    marked read) and the private-cache one (the viewer is looked up here)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        setattr(request, slots.COMPOSED_LATER, True)
        response = self.get_response(request)
        if (
            getattr(response, gallery_cache.COMPOSED, False)
            or response.streaming
            or not response.get("Content-Type", "").startswith("text/html")
            or not slots.has_markers(response.content)
        ):
            return response
        charset = response.charset
        html = response.content.decode(charset)
        if getattr(response, gallery_cache.KEEP_FOR_VISITORS, None) and _compose_for_visitors(
            request, response, html
        ):
            return response
        response.content = slots.compose(request, html).encode(charset)
        return response


def _compose_for_visitors(request: HttpRequest, response: HttpResponse, html: str) -> bool:
    """Fill in a visitor's page from a request that holds nothing of theirs (not even their Host)
    and keep it for every visitor (workbooks.cache.keep_for_visitors), unless what was filled in
    is one viewer's own: a CSRF token (its cookie goes to this viewer only) or a message. Then
    False: the page is composed for this request as any other, and not kept."""
    if not gallery_cache.is_visitor(request) or _has_messages(request):
        return False
    visitor = gallery_cache.visitor_request(request)
    setattr(visitor, slots.COMPOSED_LATER, True)
    composed = slots.compose(visitor, html)
    composition = getattr(visitor, "_composition", None)
    if (
        composition is None
        or composition.per_viewer
        or visitor.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        or response.cookies
    ):
        return False
    response.content = composed.encode(response.charset)
    gallery_cache.store_for_visitors(request, response)
    return True


def _has_messages(request: HttpRequest) -> bool:
    storage = getattr(request, "_messages", None)
    return bool(storage is not None and len(storage))
