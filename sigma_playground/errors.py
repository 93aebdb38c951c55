"""Error answers: the API's exception handler, the pages' middleware, and Django's error views (400,
403, 404, 500 and a CSRF failure) that answer JSON on /api/ and the site's pages elsewhere.

A view calls a service and lets what it raises through (Django's ValidationError, PermissionDenied,
Http404, RetryLater below, and paging.BadPage for a list's page). The exception handler is the one
place where those become the API's answers: the status with a `code` (docs/api.md, Errors).
PageErrorsMiddleware is the one place where they become the site's pages. A page that shows its
form again with the refusal on it, so that nothing typed is lost, still gets its 429 and
Retry-After from here (`retry_later`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
    ValidationError,
)
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.templatetags.static import static
from django.urls import reverse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from . import paging
from .database import busy_response, is_out_of_connections
from .http import error_response, is_api, next_url, safe_url
from .parsers import RequestTooLarge
from .refusals import Forbidden as Forbidden  # raised by services; imported from here or there


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
    elif isinstance(exc, Forbidden):
        exc = exceptions.PermissionDenied(str(exc), code=exc.code)
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


# --- Pages ----------------------------------------------------------------------------------------


def retry_later(response: HttpResponse, error: RetryLater) -> HttpResponse:
    """`response` as the 429 it is, with Retry-After: for a page showing its form again with the
    refusal on it (what was typed stays), and for the problem page below."""
    response.status_code = 429
    response["Retry-After"] = str(error.retry_after)
    return response


def wait_phrase(seconds: int) -> str:
    """How long until a refused action may be tried again, as a person would say it."""
    if seconds < 60:
        return "in a second" if seconds <= 1 else f"in {seconds} seconds"
    minutes = -(-seconds // 60)  # rounded up: trying a moment early would be refused again
    if minutes < 60:
        return "in about a minute" if minutes == 1 else f"in about {minutes} minutes"
    hours = -(-minutes // 60)
    return "in about an hour" if hours == 1 else f"in about {hours} hours"


def problem_page(
    request: HttpRequest,
    status: int,
    message: str,
    *,
    title: str = "That did not work",
    retry_after: int | None = None,
) -> HttpResponse:
    """Why an action was refused, with a way back: to `next` if it stays on this site, else to the
    page the action was sent from (its Referer, if on this site), else home. A refusal for now
    (`retry_after` seconds) also says when to try again."""
    back = next_url(request, safe_url(request, request.headers.get("Referer")) or "/")
    context: dict[str, Any] = {"title": title, "message": message, "back": back}
    if retry_after is not None:
        context["retry_after"] = retry_after
        context["retry_when"] = wait_phrase(retry_after)
    return render(request, "problem.html", context, status=status)


def bad_page(request: HttpRequest, error: paging.BadPage) -> HttpResponse:
    """A list's page that cannot be answered: a clear 400 and a link to the list's first page."""
    context = {"message": str(error), "first": request.path}
    return render(request, "paging/bad_page.html", context, status=400)


class PageErrorsMiddleware:
    """The services' refusals, raised through a page's view, as the site's pages:

    - RetryLater (too many of an action): a 429 with Retry-After, saying when to try again;
    - a ValidationError that is not about a form's fields (following yourself): a 400 with its
      message; a form's own errors are shown by the form;
    - paging.BadPage: a 400 with a link to the list's first page;
    - Forbidden (an unverified address): a 403 page saying what to do first.

    /api/ is left alone: DRF answers there, with `exception_handler`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_api(request):
            return None
        if isinstance(exception, RetryLater):
            page = problem_page(
                request,
                429,
                str(exception),
                title="Slow down a little",
                retry_after=exception.retry_after,
            )
            return retry_later(page, exception)
        if isinstance(exception, ValidationError) and not hasattr(exception, "error_dict"):
            return problem_page(request, 400, exception.messages[0])
        if isinstance(exception, paging.BadPage):
            return bad_page(request, exception)
        if isinstance(exception, Forbidden):
            back = next_url(request, safe_url(request, request.headers.get("Referer")) or "/")
            context = {"title": "Not yet", "message": str(exception), "back": back}
            return render(request, exception.page_template, context, status=403)
        return None


# --- Django's error views -------------------------------------------------------------------------
#
# The site's pages for them are one standalone template (errors/page.html) rendered without the
# request: no base template, no context processors, no signed-in menu, nothing that reads the
# database or the cache. A 500 is often the database or the cache failing; its page must not fail
# with them. Navigation is what needs none of that: home, explore and the search box.


def _address(name: str, fallback: str) -> str:
    """A page's address, or where it usually is if the URLs cannot be read (the error may be theirs)."""
    try:
        return reverse(name)
    except Exception:
        return fallback


def _static_address(path: str) -> str:
    """A static file's address. A release without collectstatic has no manifest and `static()`
    raises for every file; the unhashed copy's address still serves the file wherever it exists."""
    try:
        return static(path)
    except Exception:
        return f"{settings.STATIC_URL}{path}"


def error_page(status: int, title: str, message: str) -> HttpResponse:
    context = {
        "status": status,
        "title": title,
        "message": message,
        "home": _address("home", "/"),
        "explore": _address("workbooks:explore", "/explore/"),
        "stylesheet": _static_address("css/site.css"),
        "theme_script": _static_address("js/theme.js"),
        "favicon": _static_address("img/favicon.svg"),
    }
    return HttpResponse(loader.render_to_string("errors/page.html", context), status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return error_response(413, RequestTooLarge.default_detail, RequestTooLarge.default_code)
        return error_response(400, "The request was refused as malformed.", "bad_request")
    return error_page(
        400,
        "That request could not be read",
        "Something in the address or the form sent was malformed. Start again from the home page "
        "or search for what you were looking for.",
    )


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return error_response(
            403, "You do not have permission to perform this action.", "permission_denied"
        )
    return error_page(
        403,
        "You cannot open this page",
        "This page is not open to your account. If it should be, sign in with the account that "
        "owns it.",
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return error_response(404, "Not found.", "not_found")
    return error_page(
        404,
        "Page not found",
        "There is no page at this address: it may have moved, or its workbook may no longer be "
        "published. Search for it, or explore the gallery.",
    )


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception: one that says the database had no connection
    # to give (raised outside a view, where DatabaseBusyMiddleware does not see it) is a 503.
    if is_out_of_connections(sys.exc_info()[1]):
        return busy_response(request)
    if is_api(request):
        return error_response(500, "A server error occurred.", "server_error")
    return error_page(
        500,
        "Something went wrong on our side",
        "The error has been reported. Try again in a moment; if it keeps happening, start again "
        "from the home page.",
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api(request):
        return error_response(403, f"CSRF Failed: {reason}", "csrf_failed")
    return error_page(
        403,
        "That form has expired",
        "The form could not be sent safely: the page may have been open for a long time, or your "
        "browser blocked this site's cookies. Go back, reload the page and try again.",
    )
