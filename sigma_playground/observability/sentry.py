"""Error reports to Sentry when SENTRY_DSN is set (docs/operations.md, "Sentry").

Each report names the route (the URL pattern's name, or the task's), the method, the request id and
the member (id and username only). Nothing that opens an account goes out: no cookies, no
Authorization or CSRF header, no password, code, token, secret or session in the request's body,
query string or extra data, and no email address.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.redis import RedisIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, DEFAULT_PII_DENYLIST, EventScrubber

from . import logs

FILTERED = "[Filtered]"
# Any key that names one of these is never sent, whatever else it says ("new_password", "otp_code").
_SENSITIVE_KEY = re.compile(
    r"pass|secret|token|code|otp|session|cookie|csrf|auth|key|email|refresh|access|signature",
    re.IGNORECASE,
)
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
        return _SENSITIVE_PAIR.sub(rf"\g<name>={FILTERED}", value)
    if isinstance(value, dict):
        return {key: _scrub_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub_text(item) for item in value]
    return value


def _frames(event: dict):
    for exception in (event.get("exception") or {}).get("values") or []:
        yield from (exception.get("stacktrace") or {}).get("frames") or []
    for thread in (event.get("threads") or {}).get("values") or []:
        yield from (thread.get("stacktrace") or {}).get("frames") or []


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: FILTERED if _SENSITIVE_KEY.search(str(key)) else _scrub(item)
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
        [(key, FILTERED if _SENSITIVE_KEY.search(key) else item) for key, item in pairs]
    )


def before_send(event: dict, hint: dict) -> dict:
    request = event.get("request")
    if isinstance(request, dict):
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
    if "extra" in event:
        event["extra"] = _scrub(event["extra"])
    for frame in _frames(event):
        if "vars" in frame:
            frame["vars"] = _scrub_text(frame["vars"])
    breadcrumbs = event.get("breadcrumbs")
    if isinstance(breadcrumbs, dict) and "values" in breadcrumbs:
        breadcrumbs["values"] = _scrub_text(breadcrumbs["values"])

    event.pop("user", None)
    context = logs.current()
    if context is not None:
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
        integrations=[
            DjangoIntegration(transaction_style="url"),
            CeleryIntegration(),
            RedisIntegration(),
        ],
    )
