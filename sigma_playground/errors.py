"""Error answers: the API's exception handler, and Django's error views (400, 403, 404, 500 and a
CSRF failure) that answer JSON on /api/ and the site's pages elsewhere.

The exception handler is the one place where the services' exceptions become the API's answers: a
view calls a service and lets what it raises through (Django's ValidationError, PermissionDenied,
Http404 and RetryLater below), and the client gets the status with a `code` (docs/api.md, Errors)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
    ValidationError,
)
from django.http import Http404, HttpRequest, HttpResponse
from django.views import csrf, defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .database import busy_response, is_out_of_connections
from .http import error_response, is_api
from .parsers import RequestTooLarge


class RetryLater(Exception):
    """An action refused for now because the member (or address) did too many of them: a 429 with
    Retry-After. The services' rate limits raise subclasses of it."""

    retry_after: int  # seconds


def _validation_error(exc: ValidationError) -> exceptions.ValidationError:
    """A service's ValidationError as the API's 400: a field's errors under the field, else the
    first message as `detail` with the error's code (e.g. `not_published`)."""
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(exc.message_dict)
    return exceptions.ValidationError({"detail": exc.messages[0]}, code=exc.code or "invalid")


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with a machine-readable `code` next to every `detail`."""
    # The services' own refusals (see the module's docstring).
    if isinstance(exc, RetryLater):
        exc = exceptions.Throttled(wait=exc.retry_after)
    elif isinstance(exc, ValidationError):
        exc = _validation_error(exc)
    # Django's own 404 and 403 (from shared helpers such as accounts.selectors.active_user_or_404)
    # as DRF's, so they get their code too.
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args[:1])
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args[:1])
    # Django's limits on a body, met while DRF parses it; unhandled they become an HTML 400 page.
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = exceptions.ParseError("The request has too many fields.", code="too_many_fields")
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError("The request was refused as malformed.", code="bad_request")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and "detail" in data and "code" not in data:
        codes = exc.get_codes() if hasattr(exc, "get_codes") else None
        if isinstance(codes, dict):
            codes = codes.get("detail")
        if isinstance(codes, str):
            data["code"] = codes
    return response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return error_response(413, RequestTooLarge.default_detail, RequestTooLarge.default_code)
        return error_response(400, "The request was refused as malformed.", "bad_request")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return error_response(
            403, "You do not have permission to perform this action.", "permission_denied"
        )
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return error_response(404, "Not found.", "not_found")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception: one that says the database had no connection
    # to give (raised outside a view, where DatabaseBusyMiddleware does not see it) is a 503.
    if is_out_of_connections(sys.exc_info()[1]):
        return busy_response(request)
    if is_api(request):
        return error_response(500, "A server error occurred.", "server_error")
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api(request):
        return error_response(403, f"CSRF Failed: {reason}", "csrf_failed")
    return csrf.csrf_failure(request, reason)
