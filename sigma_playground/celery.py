"""The Celery application, configured from Django settings (the `CELERY_` namespace).

Workers, a kind per queue (Procfile; one without -Q takes all four queues):
    celery -A sigma_playground worker -Q images --loglevel=INFO
    celery -A sigma_playground worker -Q notifications,email --loglevel=INFO
    celery -A sigma_playground worker -Q default --loglevel=INFO
Beat (exactly one):
    celery -A sigma_playground beat --loglevel=INFO
"""

import os
from typing import Any

from celery import Celery
from django.db import InterfaceError, OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigma_playground.settings")

app = Celery("sigma_playground")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A task's logs and error reports carry the request that scheduled it; workers log as LOGGING says.
from .observability import task_context  # noqa: E402, F401

# Worth another try later: a server (the database, storage, mail) did not answer, or PostgreSQL
# restarted under the task. Anything else is a bug, and trying again would not change it.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OSError, OperationalError, InterfaceError)


def retry_policy(max_retries: int = 5) -> dict[str, Any]:
    """The options of a task that retries on its own (`@shared_task(**retry_policy(), ...)`): on
    TRANSIENT_ERRORS, with exponential backoff and jitter, never waiting longer than the broker's
    visibility timeout allows for (settings.TASK_RETRY_MAX_DELAY)."""
    from django.conf import settings

    return {
        "autoretry_for": TRANSIENT_ERRORS,
        "retry_backoff": True,
        "retry_backoff_max": settings.TASK_RETRY_MAX_DELAY,
        "retry_jitter": True,
        "max_retries": max_retries,
    }


# Task runs counted and timed, messages stamped with their publishing time, a worker's own /metrics.
from sigma_playground.observability import tasks as _task_metrics  # noqa: E402

_task_metrics.use_app(app)
