"""Error reports to Sentry when SENTRY_DSN is set (docs/operations.md, "Sentry").

Each report names the route (the URL pattern's name, or the task's), the method, the request id and
the member (id and username only). Nothing that opens an account goes out: no cookies, no
Authorization or CSRF header, no password, code, token, secret or session in the request's body,
query string or extra data, no frame's local variables (a serializer's repr holds what was posted),
no email address, no Redis key (a session's key is its cookie's value), no client address in the
breadcrumbs, and no token a URL's path holds (a password-reset link's).

`before_send` never raises and never looks the member up: sentry-sdk drops an event whose callback
raises, and the lookup fails exactly when reporting matters (the database is down; async code).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import ignore_logger
from sentry_sdk.integrations.redis import RedisIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, DEFAULT_PII_DENYLIST, EventScrubber
from sentry_sdk.types import Breadcrumb, BreadcrumbHint, Event, Hint

from . import logs

log = logging.getLogger(__name__)

# Any key that names one of these is never sent, whatever else it says ("new_password", "otp_code").
_SENSITIVE_KEY = logs.SENSITIVE_NAME
_DROPPED_HEADERS = {"cookie", "authorization", "proxy-authorization", "x-csrftoken", "set-cookie"}
# Frame variables and breadcrumbs are scrubbed by Sentry's own scrubber, by exact key.
_DENYLIST = [
    *DEFAULT_DENYLIST,
    "code",
    "otp",
    "recovery_codes",
    "new_password",
    "old_password",
    "new_password1",
    "new_password2",
    "password1",
    "password2",
    "raw",
    "refresh",
    "access",
    "csrfmiddlewaretoken",
    "mfa_secret",
    "email",
]


def default_release(base_dir: Path) -> str:
    """The deployed git commit, read from .git without running git; else the package's version."""
    git = base_dir / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head.removeprefix("ref: ")
            ref_file = git / ref
            if ref_file.exists():
                head = ref_file.read_text().strip()
            else:
                packed = (git / "packed-refs").read_text().splitlines()
                head = next(line.split()[0] for line in packed if line.endswith(f" {ref}"))
        if re.fullmatch(r"[0-9a-f]{40}", head):
            return head
    except (OSError, StopIteration):
        pass
    try:
        return f"sigma-playground@{metadata.version('sigma-playground')}"
    except metadata.PackageNotFoundError:
        return "sigma-playground@unknown"


# `name=value` in a text (a request's repr in a frame's variables shows its query string).
_SENSITIVE_PAIR = re.compile(
    r"(?P<name>[\w.-]*(?:pass|secret|token|code|otp|session|auth|key|refresh|access|signature)"
    r"[\w.-]*)=(?P<value>[^&\s'\"]+)",
    re.IGNORECASE,
)


def _scrub_text(value: Any) -> Any:
    if isinstance(value, str):
        return _SENSITIVE_PAIR.sub(rf"\g<name>={logs.FILTERED}", value)
    if isinstance(value, dict):
        return {key: _scrub_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub_text(item) for item in value]
    return value


def _frames(event: Event) -> Iterator[dict[str, Any]]:
    for exception in (event.get("exception") or {}).get("values") or []:
        yield from (exception.get("stacktrace") or {}).get("frames") or []
    for thread in (event.get("threads") or {}).get("values") or []:
        yield from (thread.get("stacktrace") or {}).get("frames") or []


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: logs.FILTERED if _SENSITIVE_KEY.search(str(key)) else _scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def _scrub_query(query: Any) -> Any:
    if not isinstance(query, str):
        return _scrub(query)
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode(
        [(key, logs.FILTERED if _SENSITIVE_KEY.search(key) else item) for key, item in pairs]
    )


def _scrub_url(url: Any) -> Any:
    if not isinstance(url, str):
        return url
    from .reports import filtered_path  # not at import: settings import this module

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=filtered_path(parts.path), query=""))


def _scrub_request(request: dict[str, Any]) -> None:
    request.pop("cookies", None)
    headers = request.get("headers")
    if isinstance(headers, dict):
        request["headers"] = {
            key: item for key, item in headers.items() if key.lower() not in _DROPPED_HEADERS
        }
    if "data" in request:
        request["data"] = _scrub(request["data"])
    if "query_string" in request:
        request["query_string"] = _scrub_query(request["query_string"])
    if "url" in request:
        request["url"] = _scrub_url(request["url"])


def _tag(event: Event) -> None:
    event.pop("user", None)
    context = logs.current()
    if context is None:
        return
    tags = event.setdefault("tags", {})
    tags["request_id"] = context.request_id
    route = context.view_name()
    if route:
        tags["route"] = route
    if context.request is not None:
        tags["method"] = context.request.method
    user_id, username = context.user()
    if user_id is not None:
        event["user"] = {"id": str(user_id), "username": username}


def before_send(event: Event, hint: Hint) -> Event:
    try:
        request = event.get("request")
        if isinstance(request, dict):
            _scrub_request(request)
        if "extra" in event:
            event["extra"] = _scrub(event["extra"])
            if str(event.get("logger") or "").startswith("celery"):
                _drop_task_arguments(event["extra"])
        for frame in _frames(event):
            frame.pop("vars", None)  # none are sent (include_local_variables=False): in case
        breadcrumbs = event.get("breadcrumbs")
        if isinstance(breadcrumbs, dict) and "values" in breadcrumbs:
            breadcrumbs["values"] = _scrub_text(breadcrumbs["values"])
        _tag(event)
    except Exception:
        # The event goes out scrubbed as far as this got: dropped, nobody would hear of the error.
        log.warning("could not finish an error report's scrubbing", exc_info=True)
    return event


# An audit line's address (a breadcrumb of every logged line): ` ip='203.0.113.9'`.
_IP_PAIR = re.compile(r" ip=(?:'[^']*'|None)")


def _drop_task_arguments(extra: Any) -> None:
    # Celery's own lines pass the task's arguments as a `data` extra (logs.TaskArgsFilter).
    data = extra.get("data") if isinstance(extra, dict) else None
    if isinstance(data, dict):
        data.pop("args", None)
        data.pop("kwargs", None)


def before_breadcrumb(crumb: Breadcrumb, hint: BreadcrumbHint) -> Breadcrumb | None:
    data = crumb.get("data")
    if str(crumb.get("category") or "").startswith("celery"):
        _drop_task_arguments(data)
    if crumb.get("category") == "redis":
        # The command's text names the key; a session's key is the member's cookie.
        if isinstance(data, dict):
            data.pop("redis.key", None)
            crumb["message"] = str(data.get("redis.command") or "redis")
        else:
            crumb["message"] = "redis"
    if isinstance(data, dict):
        data.pop("ip", None)
    if isinstance(crumb.get("message"), str):
        crumb["message"] = _IP_PAIR.sub("", crumb["message"])
    return crumb


_SPAN_KEY_FIELDS = ("redis.key", "db.redis.key", "redis.commands", "cache.key")


def before_send_transaction(event: Event, hint: Hint) -> Event:
    """A traced request's Redis and cache spans name their keys in the description and data."""
    try:
        spans = event.get("spans")
        for span in spans if isinstance(spans, list) else []:
            op = str(span.get("op") or "")
            if "redis" in op or op.startswith("cache"):
                span["description"] = str(span.get("description") or "").split(" ", 1)[0]
                for field in ("tags", "data"):
                    values = span.get(field)
                    if isinstance(values, dict):
                        for key in _SPAN_KEY_FIELDS:
                            values.pop(key, None)
        request = event.get("request")
        if isinstance(request, dict):
            _scrub_request(request)
    except Exception:
        log.warning("could not finish a transaction's scrubbing", exc_info=True)
    return event


def init(
    *, dsn: str, environment: str, release: str, traces_sample_rate: float, base_dir: Path
) -> None:
    """Start reporting, once per process (settings are imported once)."""
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or default_release(base_dir),
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        event_scrubber=EventScrubber(
            denylist=_DENYLIST, recursive=True, pii_denylist=DEFAULT_PII_DENYLIST
        ),
        before_send=before_send,
        before_send_transaction=before_send_transaction,
        before_breadcrumb=before_breadcrumb,
        # A frame's variables hold what the code had in hand: a posted password in a serializer's
        # repr, a reset link in a mail's body. The scrubbers match names, not such values.
        include_local_variables=False,
        integrations=[
            DjangoIntegration(transaction_style="url"),
            CeleryIntegration(),
            RedisIntegration(),
        ],
    )
    # A request for a host the site does not serve (scanners send them all day) is no error.
    ignore_logger("django.security.DisallowedHost")
