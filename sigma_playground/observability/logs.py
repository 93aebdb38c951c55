"""Request ids and the log format (docs/operations.md, "Logs").

Every request gets an id: the proxy's `X-Request-ID` when TRUST_REQUEST_ID_HEADER is on and the value
is a sane token, a new one otherwise. It is answered in the `X-Request-ID` header, written on every log
line of the request (RequestIdFilter), carried into the Celery tasks the request schedules
(task_context) and their log lines, and sent to Sentry with any error (sentry).

LOG_FORMAT=json writes one JSON object per line (time, level, logger, message, request_id and any
`extra=` fields); the default plain format is for a person reading a terminal (`make run`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import empty
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

if TYPE_CHECKING:  # not at import: settings import this module
    from django.http import HttpRequest, HttpResponseBase

HEADER = "X-Request-ID"
NO_REQUEST = "-"
LOG_FORMATS = ("plain", "json")
# Any name that says one of these is a secret ("new_password", "otp_code", "csrfmiddlewaretoken"):
# its value stays out of error reports (reports, sentry).
SENSITIVE_NAME = re.compile(
    r"pass|secret|token|code|otp|session|cookie|csrf|auth|key|email|refresh|access|signature",
    re.IGNORECASE,
)
# What stands in an error report or a log line for a value left out.
FILTERED = "[Filtered]"
# What a proxy may hand us as an id: it goes into every log line and a response header as it is.
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


@dataclass(slots=True)
class RequestContext:
    """What the logs and error reports say about the work under way: a request being served, or a
    task scheduled by one (then the scheduling request's id and member, and the task's name)."""

    request_id: str
    request: Any = None  # the HttpRequest, while one is served
    user_id: int | None = None  # set for a task, from the request that scheduled it
    username: str | None = None
    route: str | None = None  # set for a task: its name

    def user(self) -> tuple[int | None, str | None]:
        """The signed-in member's id and username, if any."""
        request = self.request
        if request is None:
            return self.user_id, self.username
        return loaded_user(request)

    def view_name(self) -> str | None:
        if self.request is None:
            return self.route
        match = getattr(self.request, "resolver_match", None)
        return match.view_name if match is not None else None


def loaded_user(request: Any) -> tuple[int | None, str | None]:
    """The id and username of the member `request` is signed in as, if Django has looked them up
    already; else (None, None). Never queries the database: this runs in error reports (where the
    database may be the thing that failed) and from async code, and a lookup there would raise."""
    try:
        user = getattr(request, "_cached_user", None)
        if user is None:
            lazy = request.__dict__.get("user")
            wrapped = getattr(lazy, "_wrapped", None)
            # A plain user object (a test's, an API view's) or a lazy one already evaluated.
            user = lazy if wrapped is None else wrapped
        if user is None or user is empty or not user.is_authenticated:
            return None, None
        return user.pk, user.get_username()
    except Exception:
        return None, None


_current: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)


def current() -> RequestContext | None:
    return _current.get()


def current_request_id() -> str:
    context = _current.get()
    return context.request_id if context is not None else NO_REQUEST


def enter(context: RequestContext) -> Token[RequestContext | None]:
    """Make `context` the current one; returns the token `leave` takes to restore the one before."""
    return _current.set(context)


def leave(token: Token[RequestContext | None]) -> None:
    _current.reset(token)


def new_request_id() -> str:
    """32 random hex digits, as a uuid4's hex but for its version bits, in a fifth of the time."""
    return os.urandom(16).hex()


def request_id_for(meta: dict[str, Any], trust_header: bool) -> str:
    if trust_header:
        given: str = meta.get("HTTP_X_REQUEST_ID", "")
        if _SANE_ID.fullmatch(given):
            return given
    return new_request_id()


class RequestIdMiddleware:
    """Gives the request its id for as long as it is served (first in MIDDLEWARE but for the
    metrics, so that every other middleware's log lines carry it too)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    # The request is typed loosely: it gains a `request_id` attribute here.
    def _begin(self, request: Any) -> Token[RequestContext | None]:
        request.request_id = request_id_for(request.META, settings.TRUST_REQUEST_ID_HEADER)
        return _current.set(RequestContext(request.request_id, request=request))

    def _end(
        self, request: Any, token: Token[RequestContext | None], response: HttpResponseBase
    ) -> HttpResponseBase:
        if response.streaming and _served_by_asgi(request):
            # Sent after this returns (the notification event stream), by the request's own task,
            # which Django ends by closing the response: the lines written while it streams keep
            # the id. A WSGI thread serves the next request next, so there the id ends here.
            response._resource_closers.append(_clear)  # type: ignore[attr-defined]  # Django's
        else:
            _current.reset(token)
        response[HEADER] = request.request_id
        return response

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        token = self._begin(request)
        try:
            response = self.get_response(request)
        except BaseException:
            _current.reset(token)
            raise
        return self._end(request, token, response)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        token = self._begin(request)
        try:
            response = await self.get_response(request)
        except BaseException:
            _current.reset(token)
            raise
        return self._end(request, token, response)


def _served_by_asgi(request: HttpRequest) -> bool:
    from django.core.handlers.asgi import ASGIRequest  # not at import: settings import this module

    return isinstance(request, ASGIRequest)


def _clear() -> None:
    _current.set(None)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record a handler writes ("-" outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request_id = current_request_id()
            if request_id == NO_REQUEST:
                # Django writes a 4xx's line ("Not Found: ...") after the middleware has returned,
                # with the request as an extra.
                request_id = getattr(getattr(record, "request", None), "request_id", NO_REQUEST)
            record.request_id = request_id
        return True


class TaskArgsFilter(logging.Filter):
    """Drops a task's arguments from Celery's own records ("Received task", "succeeded",
    "raised"): Celery passes them as a `data` extra, which the JSON format would write, and they
    can hold a password-reset link or an email address."""

    def filter(self, record: logging.LogRecord) -> bool:
        data = getattr(record, "data", None)
        if record.name.startswith("celery") and isinstance(data, dict):
            record.data = {
                key: value for key, value in data.items() if key not in ("args", "kwargs")
            }
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line, its time in ISO 8601 UTC."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")

    def add_fields(
        self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_record, record, message_dict)
        request: Any = log_record.get("request")
        if hasattr(request, "method") and hasattr(request, "path"):
            # Django passes the request with a 4xx or 5xx line; its repr holds the query string,
            # which can hold a token. The method and path say which request it was.
            from .reports import filtered_path  # not at import: settings import this module

            log_record["request"] = f"{request.method} {filtered_path(request.path)}"


def logging_config(
    log_format: str, level: str, *, mail_admins: bool, quiet_tasks: bool = False
) -> dict[str, Any]:
    """The LOGGING setting. `mail_admins`: a 500 is also mailed to ADMINS (when Sentry is not
    set up to report it). `quiet_tasks`: Celery's line for each task run ("Task ... succeeded") is
    left out; a task that fails is still written."""
    if log_format not in LOG_FORMATS:
        raise ImproperlyConfigured(
            f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}; got {log_format!r}."
        )
    handlers: dict[str, dict[str, Any]] = {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": log_format,
            "filters": ["request_id", "task_args", "path"],
        }
    }
    loggers: dict[str, dict[str, Any]] = {
        # The development server's access log has its own handler; propagating would print it twice.
        "django.channels.server": {"propagate": False},
        # A request with a Host the site does not serve (scanners do it all day): a console line,
        # never a mail (nor a Sentry event, sentry.init ignores this logger).
        "django.security.DisallowedHost": {
            "handlers": ["console"],
            "level": "WARNING",
            "propagate": False,
        },
    }
    if quiet_tasks:
        # A worker's record of its work; where tasks run in the web process (`make run`), it is
        # noise between the site's own lines. Celery writes a failure at ERROR, so that still shows.
        loggers["celery.app.trace"] = {"level": "WARNING"}
    if mail_admins:
        handlers["mail_admins"] = {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "request_id", "path"],
            "formatter": "plain",  # the mail's first line names the request id
        }
    # In place of Django's own handlers for its loggers (its console one would print each line a
    # second time under DEBUG; its mail one would mail a 500 that Sentry reports).
    loggers["django"] = {
        "handlers": ["mail_admins"] if mail_admins else [],
        "level": "INFO",
        "propagate": True,
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "task_args": {"()": TaskArgsFilter},
            "path": {"()": "sigma_playground.observability.reports.PathFilter"},
            "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        },
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
            "json": {
                "()": JsonFormatter,
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "handlers": handlers,
        "root": {"handlers": ["console"], "level": level},
        "loggers": loggers,
    }
