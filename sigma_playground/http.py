"""Request helpers shared by the apps' views."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils.http import url_has_allowed_host_and_scheme


def safe_url(request: HttpRequest, candidate: str | None) -> str | None:
    """`candidate` if it stays on this site (no open redirect), else None."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


def next_url(request: HttpRequest, default: str) -> str:
    """Where to go after an action: the `next` parameter if it stays on this site, else `default`."""
    return safe_url(request, request.POST.get("next") or request.GET.get("next")) or default


def content_length(request: HttpRequest) -> int:
    """The body's declared size, from its Content-Length (0 when absent or not a number), so that a
    body over a limit can be refused before a byte of it is read."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    """Whether the request is for the API, whose every answer is JSON (errors included)."""
    return request.path.startswith(API_PREFIX)


def error_response(status_code: int, detail: str, code: str) -> JsonResponse:
    """The API's error body, for answers made outside DRF (its exception handler makes the rest)."""
    response = JsonResponse({"detail": detail, "code": code}, status=status_code)
    if status_code == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response
