"""Request helpers shared by the apps' views."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults


def safe_url(request: HttpRequest, candidate: str | None) -> str | None:
    """`candidate` if it stays on this site (no open redirect), else None."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


def client_address(request: HttpRequest) -> str:
    """The client's IP, trusting X-Forwarded-For only as far as NUM_PROXIES proxies we run ourselves."""
    remote: str = request.META.get("REMOTE_ADDR", "")
    num_proxies = settings.NUM_PROXIES
    forwarded: str | None = request.META.get("HTTP_X_FORWARDED_FOR")
    if num_proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(num_proxies, len(hops))]
    return remote


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


# --- Malformed addresses --------------------------------------------------------------------------

NUL = "\x00"


def without_nul_cookies(cookies: Mapping[str, str]) -> dict[str, str]:
    """The cookies, less any whose name or value holds a NUL byte (no cookie of ours ever does)."""
    return {name: value for name, value in cookies.items() if NUL not in name + value}


class RefuseMalformedAddressesMiddleware:
    """Addresses no part of the site can use are refused at the door, not checked by every view.

    - A NUL byte in the path or the query string is a 400, and a cookie holding one is ignored.
      PostgreSQL text cannot hold a NUL byte: handed to a query (a username in the path, a search, a
      session key from the cookie, which `"\\000"` in a quoted cookie value spells) it fails that query
      with a 500, on any page.
    - On the API, a query parameter given twice is a 400: the API takes no parameter as a list (its
      schema says so), and reading one of the values silently would answer a request nobody sent.

    Forms and API bodies are checked by their fields already.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = self._nul_refusal(request) or self._repeat_refusal(request)
        if refused is not None:
            return refused
        if any(NUL in name + value for name, value in request.COOKIES.items()):
            # Read before the session middleware looks its key up.
            request.COOKIES = without_nul_cookies(request.COOKIES)
        return self.get_response(request)

    def _nul_refusal(self, request: HttpRequest) -> HttpResponse | None:
        params = [name for name, values in request.GET.lists() if NUL in name + "".join(values)]
        if NUL not in request.path and not params:
            return None
        if not is_api(request):
            return defaults.bad_request(request, BadRequest("A NUL byte in the address."))
        if NUL in request.path or NUL in params[0]:
            return error_response(400, "The request was refused as malformed.", "bad_request")
        # The API's invalid-input body, naming the parameter as its own validation would.
        return JsonResponse({params[0]: ["Null characters are not allowed."]}, status=400)

    def _repeat_refusal(self, request: HttpRequest) -> HttpResponse | None:
        if not is_api(request):
            return None
        repeated = next((name for name, values in request.GET.lists() if len(values) > 1), None)
        if repeated is None:
            return None
        return JsonResponse({repeated: ["Give this parameter once."]}, status=400)
