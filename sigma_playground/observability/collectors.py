"""Figures read when /metrics is scraped, not recorded as things happen: what PostgreSQL says of its
connections (and, appended by the Celery module, the broker's queues).

A collector is an object with a `collect()` yielding prometheus_client metric families, as
prometheus_client defines it. Each one in SCRAPE_COLLECTORS is asked on every scrape of the web and
ws processes' /metrics. A collector that fails (PostgreSQL busy, the broker down) is logged and
left out of that scrape: the scrape itself, and every other figure in it, still answers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Protocol

from django.db import DEFAULT_DB_ALIAS, connections
from prometheus_client.core import GaugeMetricFamily, Metric

from .tasks import BrokerQueues


class Collects(Protocol):
    """What prometheus_client asks of a collector."""

    def collect(self) -> Iterable[Metric]: ...


logger = logging.getLogger(__name__)


class PostgresConnections:
    """pg_connections{state}: the server's connections to the site's database, by state (active,
    idle, idle in transaction...), from every process and host; pg_max_connections: the server's
    limit. Both describe the whole server, so every process scraped reports the same figures:
    alerts take max() over instances, not sum()."""

    alias = DEFAULT_DB_ALIAS

    def collect(self) -> Iterator[Metric]:
        connection = connections[self.alias]
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(state, 'unknown'), count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() GROUP BY 1"
            )
            by_state = cursor.fetchall()
            cursor.execute("SHOW max_connections")
            (max_connections,) = cursor.fetchone()
        states = GaugeMetricFamily(
            "pg_connections",
            "Connections to the site's database on the PostgreSQL server, by state.",
            labels=["state"],
        )
        for state, count in by_state:
            states.add_metric([state], count)
        yield states
        yield GaugeMetricFamily(
            "pg_max_connections", "PostgreSQL's max_connections.", value=int(max_connections)
        )


SCRAPE_COLLECTORS: list[Collects] = [PostgresConnections(), BrokerQueues()]


class Guarded:
    """A collector whose failure leaves its figures out of the scrape instead of failing it."""

    def __init__(self, collector: Collects) -> None:
        self.collector = collector

    def collect(self) -> Iterable[Metric]:
        try:
            # Collected whole before answering: a failure halfway leaves out all of its figures.
            return list(self.collector.collect())
        except Exception:
            logger.warning(
                "metrics collector %s failed; left out of this scrape",
                type(self.collector).__name__,
                exc_info=True,
            )
            return []
