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
from bisect import bisect_left
from collections import deque

from . import metrics

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
# Flushed at once by the request that finds this many waiting: a flushing thread that fell behind
# (a process starved of CPU) never lets them grow without bound.
MOST_PENDING = 50_000

_HISTOGRAMS = (
    metrics.http_request_duration,  # labels (view, method)
    metrics.http_response_size,  # (view,)
    metrics.http_request_db_queries,  # (view,)
    metrics.http_request_db_duration,  # (view,)
)


class RequestFigures:
    def __init__(self) -> None:
        self._pending: deque[tuple] = deque()
        self._flushing = threading.Lock()
        self._pid = 0  # the process whose flushing thread runs

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
        if self._pid != os.getpid():
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
    def _write(records: list[tuple]) -> None:
        counts: dict[tuple, int] = {}
        # (histogram's index in _HISTOGRAMS, its label values) -> [bucket counts..., sum]
        observed: dict[tuple, list] = {}

        def observe(index: int, labels: tuple, value: float) -> None:
            bounds = _HISTOGRAMS[index]._upper_bounds
            state = observed.get((index, labels))
            if state is None:
                state = observed[(index, labels)] = [0] * len(bounds) + [0.0]
            # Histogram.observe counts a value in the first bucket whose bound is >= the value.
            state[bisect_left(bounds, value)] += 1
            state[-1] += value

        for view, method, status, seconds, size, queries, query_seconds in records:
            key = (view, method, status)
            counts[key] = counts.get(key, 0) + 1
            observe(0, (view, method), seconds)
            if size is not None:
                observe(1, (view,), size)
            observe(2, (view,), queries)
            observe(3, (view,), query_seconds)

        for labels, count in counts.items():
            metrics.http_requests.labels(*labels).inc(count)
        for (index, labels), state in observed.items():
            child = _HISTOGRAMS[index].labels(*labels)
            child._sum.inc(state[-1])
            for bucket, count in zip(child._buckets, state[:-1], strict=True):
                if count:
                    bucket.inc(count)

    def keep_flushing(self) -> None:
        """Start this process's flushing thread, unless it runs (a forked process has none)."""
        if self._pid != os.getpid():
            self._start()

    def _start(self) -> None:
        with self._flushing:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
        threading.Thread(target=self._run, name="metrics-flush", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            try:
                self.flush()
            except Exception:  # a bad flush loses a second of figures, never the thread
                logger.exception("could not write the requests' figures")


FIGURES = RequestFigures()
atexit.register(FIGURES.flush)

_TALLIES: list[Tally] = []


class Tally:
    """One counter's increments on a hot path (the cache's hits and misses: one or more a
    request), added up in memory and written with the requests' figures."""

    def __init__(self, counter) -> None:
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
