"""This process's own figures: memory, CPU, open file descriptors and database connections.

prometheus_client's process collector reads only the process that answers the scrape, so in
multiprocess mode it would show one worker of several. Instead each process writes its own gauges
(a series per pid, metrics.py) when it is busy anyway: the metrics middleware, the /metrics view,
the websocket consumers (on opening and on each socket's heartbeat, so a ws worker holding only
idle sockets stays current) and Celery's pool processes (on starting and after each task) call
`update()`, which does the work at most once every INTERVAL seconds and costs a clock read
otherwise. A worker's main process writes none: its exporter reads its figures when scraped
(observability.tasks).
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import threading
import time
import weakref
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

from . import metrics

logger = logging.getLogger(__name__)

INTERVAL = 5.0

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_next_update = 0.0
_updating = threading.Lock()

# Every DatabaseWrapper that ever opened a connection in this process (one per thread and alias);
# weak, so a finished thread's wrapper is forgotten with it.
_wrappers: weakref.WeakSet[BaseDatabaseWrapper] = weakref.WeakSet()
_wrappers_lock = threading.Lock()


def _remember(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    with _wrappers_lock:
        _wrappers.add(connection)


connection_created.connect(_remember, dispatch_uid="observability.process")


def update(*, force: bool = False) -> None:
    """Record this process's gauges, unless they were recorded less than INTERVAL seconds ago."""
    global _next_update
    now = time.monotonic()
    if (now < _next_update and not force) or not _updating.acquire(blocking=False):
        return
    try:
        _next_update = now + INTERVAL
        _record()
    except Exception:  # a figure we cannot read must never fail the request that asked
        logger.exception("could not read the process's figures")
    finally:
        _updating.release()


def _recreate_locks() -> None:
    """A forked child's own locks: a copy of one held by another thread at the fork (the worker's
    exporter, a web thread) would stay held in the child for ever."""
    global _updating, _wrappers_lock
    _updating = threading.Lock()
    _wrappers_lock = threading.Lock()


os.register_at_fork(after_in_child=_recreate_locks)


def _record() -> None:
    memory = resident_memory_bytes()
    if memory is not None:
        metrics.process_resident_memory.set(memory)
    metrics.process_cpu_seconds.set(cpu_seconds())
    fds = open_fds()
    if fds is not None:
        metrics.process_open_fds.set(fds)
    for alias, count in open_database_connections().items():
        metrics.db_connections_open.labels(alias=alias).set(count)


def resident_memory_bytes() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, IndexError, ValueError):
        pass
    # Elsewhere only the peak is to be had: kilobytes on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def open_fds() -> int | None:
    for directory in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(directory))
        except OSError:
            continue
    return None


def open_database_connections() -> dict[str, int]:
    """Connections this process holds, by database alias: what a psycopg pool holds (in use or
    idle) where the alias has one, else the threads' connections that are open."""
    counts = dict.fromkeys(connections.settings, 0)
    with _wrappers_lock:
        # This thread's too: a connection opened before this module was imported sent no signal here.
        _wrappers.update(connections.all(initialized_only=True))
        wrappers = list(_wrappers)
    for wrapper in wrappers:
        if wrapper.alias in counts and wrapper.connection is not None:
            counts[wrapper.alias] += 1
    for alias in counts:
        pool = _pool(alias)
        if pool is not None:
            counts[alias] = pool.get_stats().get("pool_size", 0)
    return counts


def _pool(alias: str) -> Any:
    """The alias's psycopg pool if this process made one (asking the wrapper's `pool` would make
    it)."""
    pools = getattr(type(connections[alias]), "_connection_pools", None)
    return pools.get(alias) if pools else None
