"""Work a service leaves for a worker: the one seam between services and Celery tasks.

Services never import their tasks (tasks call services, so that would be a loop): they name the
task and its arguments here, and the message is sent once the transaction commits, so a worker
never looks for a row that is not there yet, and a rolled-back change schedules nothing.

    jobs.later("workbooks.tasks.refresh_related", ids, sets)

A task's name is its module and function (Celery's default). Tasks are found in the Celery app's
registry; a web process fills it (every app's tasks module, Celery's autodiscovery) the first time
a name is not there. An unknown name is a KeyError, which the tests catch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction

from sigma_playground.celery import app

logger = logging.getLogger(__name__)


def later(
    task: str,
    *args: Any,
    robust: bool = True,
    on_error: Callable[[], None] | None = None,
    countdown: float | None = None,
) -> None:
    """Send `task(*args)` to the workers once the current transaction commits (at once outside
    one). `robust`: a broker that cannot take the message does not fail the request that made the
    change (the change is kept; the error is logged); then `on_error`, if given, runs instead (say,
    to mark an image failed rather than leave it waiting). `countdown`: a worker runs it that many
    seconds later (at once when tasks run in the web process)."""
    transaction.on_commit(
        lambda: send(task, *args, on_error=on_error, countdown=countdown), robust=robust
    )


def scheduled(task: str) -> None:
    """Work for a task that beat runs on a schedule (say, every minute): with workers, beat's next
    run picks it up and this sends nothing. Without them (tasks run in the web process, the
    embedded default, where no beat runs) the task runs once the transaction commits, so the change
    shows at once. The one place that asks how tasks run, so services never do."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        later(task, robust=False)


def send(
    task: str,
    *args: Any,
    on_error: Callable[[], None] | None = None,
    countdown: float | None = None,
) -> None:
    """Send `task(*args)` now (from a task chaining another, or after a commit)."""
    try:
        if countdown is None:
            _task(task).delay(*args)
        else:
            _task(task).apply_async(args, countdown=countdown)
    except Exception:
        if on_error is None:
            raise
        logger.exception("Could not queue %s", task)
        on_error()


def _task(name: str) -> Any:
    try:
        return app.tasks[name]
    except KeyError:  # this process has not imported the apps' tasks modules yet
        app.loader.import_default_modules()
        return app.tasks[name]
