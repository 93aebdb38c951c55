"""Each request's figures, added up in memory and written to the metrics about once a second.

In multiprocess mode every write to a metric is a lock, a check of the process id and a write to a
mapped file, 4 to 6 µs; a request has nine (a count, and a bucket and a sum for each of four
histograms), a tenth of the explore page's own time. So a request appends one tuple here, and a
flush, every FLUSH_SECONDS from a thread of the process's own and before every scrape this process
answers, adds the tuples up per label set and writes each sum once: a few writes a second per view,
whatever the traffic. A scrape may miss up to a second of the other processes' requests, which the
next scrape reads.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from bisect import bisect_right
from collections import deque
from typing import TYPE_CHECKING, Any

from . import metrics

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
# Flushed at once by the request that finds this many waiting: a flushing thread that fell behind
# (a process starved of CPU) never lets them grow without bound.
MOST_PENDING = 50_000


class RequestFigures:
    def __init__(self, *, background: bool = True) -> None:
        """`background`: flush from a thread of the process's own (False: only when `flush` is
        called, for a test that flushes when it chooses)."""
        self._pending: deque[tuple[Any, ...]] = deque()
        self._flushing = threading.Lock()
        self._running = not background  # this process's flushing thread (or none wanted)

    def add(
        self,
        view: str,
        method: str,
        status: str,
        seconds: float,
        size: int | None,
        queries: int,
        query_seconds: float,
    ) -> None:
        """One answered request (`size` None for a streamed answer). Appending to a deque is safe
        across threads without a lock."""
        self._pending.append((view, method, status, seconds, size, queries, query_seconds))
        if not self._running:
            self._start()
        elif len(self._pending) > MOST_PENDING:
            self.flush()

    def flush(self) -> None:
        """Write what was added since the last flush, the tallies' too."""
        with self._flushing:
            pending, take = self._pending, self._pending.popleft
            records = [take() for _ in range(len(pending))]
            if records:
                self._write(records)
            for tally in _TALLIES:
                tally.flush()

    @staticmethod
    def _write(records: list[tuple[Any, ...]]) -> None:
        """Sort the records by label set, then write each metric once per label set (each
        histogram once per bucket that changed): a few dictionary operations a record, the rest
        once per label set."""
        by_labels: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
        for record in records:
            key = record[:3]  # view, method, status
            group = by_labels.get(key)
            if group is None:
                by_labels[key] = [record]
            else:
                group.append(record)
        by_view_method: dict[tuple[Any, ...], list[float]] = {}
        by_view: dict[str, list[tuple[Any, ...]]] = {}
        for (view, method, status), group in by_labels.items():
            metrics.http_requests.labels(view, method, status).inc(len(group))
            by_view_method.setdefault((view, method), []).extend(r[3] for r in group)
            by_view.setdefault(view, []).extend(group)
        for labels, seconds in by_view_method.items():
            _observe_all(metrics.http_request_duration.labels(*labels), seconds)
        for view, group in by_view.items():
            sizes = [r[4] for r in group if r[4] is not None]
            _observe_all(metrics.http_response_size.labels(view), sizes)
            _observe_all(metrics.http_request_db_queries.labels(view), [r[5] for r in group])
            _observe_all(metrics.http_request_db_duration.labels(view), [r[6] for r in group])

    def keep_flushing(self) -> None:
        """Start this process's flushing thread, unless it runs."""
        if not self._running:
            self._start()

    def _start(self) -> None:
        with self._flushing:
            if self._running:
                return
            self._running = True
        threading.Thread(target=self._run, name="metrics-flush", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            try:
                self.flush()
            except Exception:  # a bad flush loses a second of figures, never the thread
                logger.exception("could not write the requests' figures")

    def forked(self) -> None:
        """In a forked process: no flushing thread runs (it starts with the first figure), no lock
        is held by a thread that did not come along, and the figures not yet written are the
        parent's to write."""
        self._flushing = threading.Lock()
        self._running = False
        self._pending.clear()
        for tally in _TALLIES:
            tally._pending.clear()


def _observe_all(child: Histogram, values: list[float]) -> None:
    """What `child.observe(value)` for each of `values` does (a histogram with its labels chosen),
    in one write per bucket that gains any."""
    if not values:
        return
    values.sort()
    counted = 0
    for bound, bucket in zip(child._upper_bounds, child._buckets, strict=True):
        # Histogram.observe counts a value in the first bucket whose bound is >= the value.
        upto = bisect_right(values, bound)
        if upto > counted:
            bucket.inc(upto - counted)
            counted = upto
    child._sum.inc(sum(values))


FIGURES = RequestFigures()
atexit.register(FIGURES.flush)
os.register_at_fork(after_in_child=FIGURES.forked)

_TALLIES: list[Tally] = []


class Tally:
    """One counter's increments on a hot path (the cache's hits and misses: one or more a
    request), added up in memory and written with the requests' figures."""

    def __init__(self, counter: Counter) -> None:
        self._counter = counter  # a counter with its labels chosen
        self._pending: deque[float] = deque()
        _TALLIES.append(self)

    def inc(self, amount: float = 1) -> None:
        self._pending.append(amount)
        FIGURES.keep_flushing()

    def flush(self) -> None:
        take = self._pending.popleft
        total = sum(take() for _ in range(len(self._pending)))
        if total:
            self._counter.inc(total)
