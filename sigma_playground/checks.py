"""System check: the processes' planned connections fit PostgreSQL's max_connections.

A database check, so it runs where Django is given a database to check: the release's `migrate` (and
`manage.py check --database default`). It asks the server itself, so it holds when
DATABASE_MAX_CONNECTIONS is not set; when it is (behind PgBouncer, whose clients are not the server's),
the settings check that budget instead, in every process.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import connections

# PostgreSQL keeps these for superusers (and, from 16, for roles granted pg_use_reserved_connections).
_SERVER_LIMITS = """
    SELECT current_setting('max_connections')::int,
           current_setting('superuser_reserved_connections')::int,
           coalesce(current_setting('reserved_connections', true), '0')::int
"""


@register(Tags.database)
def connections_fit_the_server(
    *, app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None, **kwargs: Any
) -> list[Error]:
    if settings.DATABASE_MAX_CONNECTIONS:
        return []  # the budget given instead (PgBouncer's), already checked by the settings
    errors = []
    for alias in databases or []:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        with connection.cursor() as cursor:
            cursor.execute(_SERVER_LIMITS)
            max_connections, superuser_reserved, reserved = cursor.fetchone()
        available = max_connections - superuser_reserved - reserved
        plan = settings.CONNECTION_PLAN
        if plan.total > available:
            errors.append(
                Error(
                    f"The processes could hold {plan.total} connections to database {alias!r},"
                    f" more than the {available} its server gives ordinary roles"
                    f" (max_connections {max_connections} less {superuser_reserved + reserved}"
                    f" reserved):\n{plan.describe()}",
                    hint="Lower WEB_CONCURRENCY, WEB_THREADS, WS_DATABASE_CONNECTIONS or a Celery"
                    " concurrency, or raise max_connections; docs/scaling.md.",
                    id="sigma_playground.E001",
                )
            )
    return errors
