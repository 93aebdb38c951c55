"""Audit events: who did what to an account or through the admin, and from which address.

One INFO line per event on the `sigma_playground.audit` logger, with `event` (its name), `actor_id`,
`actor` (username), `ip`, `request_id` and the event's own fields as structured fields (LOG_FORMAT=json)
and as key=value pairs in the message (plain). docs/operations.md lists the events.

An event never holds a password, a code, a token, a secret, a session key or an email address:
`event()` drops any field whose name says it is one, should a caller pass it by mistake.
"""

from __future__ import annotations

import logging
from typing import Any

from sigma_playground.http import client_address  # trusts X-Forwarded-For as far as NUM_PROXIES

from . import logs

logger = logging.getLogger("sigma_playground.audit")

# Names a LogRecord already uses: an extra with one of them is refused by logging.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


def _client_address(request: Any) -> str | None:
    return client_address(request) or None


def event(name: str, *, request: Any = None, actor: Any = None, **fields: Any) -> None:
    """Log the audit event `name`. `request` defaults to the request being served; `actor` (who
    did it) to its signed-in member."""
    context = logs.current()
    if request is None and context is not None:
        request = context.request
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    if actor is not None:
        actor_id, actor_name = actor.pk, actor.get_username()
    elif context is not None:
        actor_id, actor_name = context.user()
    else:
        actor_id, actor_name = None, None
    record = {
        "event": name,
        "actor_id": actor_id,
        "actor": actor_name,
        "ip": _client_address(request) if request is not None else None,
        "request_id": logs.current_request_id(),
    }
    for key, value in fields.items():
        if logs.SENSITIVE_NAME.search(key):  # never a secret, a code or an email
            continue
        record[f"field_{key}" if key in _RECORD_FIELDS else key] = value
    message = " ".join(
        [name]
        + [
            f"{key}={value!r}"
            for key, value in record.items()
            if key not in ("event", "request_id")
        ]
    )
    logger.info(message, extra=record)
