"""A task's log lines and error reports carry the request that scheduled it.

When a task is sent, the current request's id and member go into the message's headers; when a
worker runs it, they become the task's context (logs.RequestContext) until it ends. A task scheduled
by another task passes the same request on. Eager tasks (the test suite, the embedded default) run in
the request's own context, which they keep.

Celery's own logging is off (`setup_logging`): workers log through the LOGGING setting, as the web
processes do, so LOG_FORMAT=json applies to them too.
"""

from __future__ import annotations

import contextlib
import logging.config
from typing import Any

from celery import signals

from . import logs

REQUEST_ID_HEADER = "request_id"
USER_ID_HEADER = "request_user_id"
USERNAME_HEADER = "request_username"

_tokens: dict[str, Any] = {}  # task id -> the token that restores the context before it


def setup_logging(**kwargs: Any) -> None:
    # A receiver here stops Celery from replacing the root logger's handlers with its own.
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


def add_request_headers(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    context = logs.current()
    if context is None or headers is None:
        return
    user_id, username = context.user()
    headers[REQUEST_ID_HEADER] = context.request_id
    headers[USER_ID_HEADER] = user_id
    headers[USERNAME_HEADER] = username


def _header(task: Any, name: str) -> Any:
    # Custom headers are attributes of task.request on a worker; kept under `headers` by some
    # message protocols.
    value = getattr(task.request, name, None)
    if value is None:
        value = (getattr(task.request, "headers", None) or {}).get(name)
    return value


def enter_task(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    if task is None or task_id is None:
        return
    request_id = _header(task, REQUEST_ID_HEADER)
    if request_id is None:
        if logs.current() is not None:
            return  # run eagerly inside a request or task: its context goes on
        request_id = logs.new_request_id()  # from beat, a shell: its own id
    context = logs.RequestContext(
        str(request_id),
        user_id=_header(task, USER_ID_HEADER),
        username=_header(task, USERNAME_HEADER),
        route=task.name,
    )
    _tokens[task_id] = logs.enter(context)


def leave_task(task_id: str | None = None, **kwargs: Any) -> None:
    token = _tokens.pop(task_id, None) if task_id is not None else None
    if token is not None:
        # A token made in another context (a thread pool's) has nothing to restore here.
        with contextlib.suppress(ValueError):
            logs.leave(token)


# Connected by call, not as decorators: Celery has no type information, and its decorator would
# leave these functions untyped.
signals.setup_logging.connect(setup_logging, dispatch_uid="observability.setup_logging")
signals.before_task_publish.connect(
    add_request_headers, dispatch_uid="observability.request_headers"
)
signals.task_prerun.connect(enter_task, dispatch_uid="observability.enter_task")
signals.task_postrun.connect(leave_task, dispatch_uid="observability.leave_task")
