"""PostgreSQL client connections to one database, counted from pg_stat_activity: what the fault
tests assert a process's connection budget with and the connection benchmark prints."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

# Client backends on the URL's database, less the probe asking.
COUNT = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
)


def connections_held(url: str) -> int:
    """The client connections open on the URL's database now, besides this one."""
    with psycopg.connect(url, autocommit=True) as probe:
        return probe.execute(COUNT).fetchone()[0]


@contextmanager
def peak_connections(url: str, every: float = 0.02) -> Iterator[list[int]]:
    """The most client connections held while the block ran (`peak[0]`), sampled every `every`
    seconds. One probe connection throughout: a probe per sample would count the previous one's
    backend, still exiting."""
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        with psycopg.connect(url, autocommit=True) as probe:
            while not done.is_set():
                peak[0] = max(peak[0], probe.execute(COUNT).fetchone()[0])
                done.wait(every)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join(timeout=5)
