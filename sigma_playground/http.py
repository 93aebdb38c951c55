"""Request helpers shared by the apps' views."""

from __future__ import annotations

from django.http import HttpRequest
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
