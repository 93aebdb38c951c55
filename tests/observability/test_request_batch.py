"""Requests' figures are added up in memory and written once per flush: the same figures as
recording each request at once, with a write per label set instead of nine a request."""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, Counter, Histogram

from sigma_playground.observability import batch, metrics
from tests.observability.conftest import value

RECORDS = [
    # view, method, status, seconds, size, queries, query seconds
    ("home", "GET", "2xx", 0.004, 900, 0, 0.0),
    ("home", "GET", "2xx", 0.3, 70_000, 3, 0.02),
    ("home", "POST", "4xx", 12.0, None, 1, 0.001),  # a streamed answer: no size
    ("explore", "GET", "2xx", 0.01, 256, 100, 9.5),
]


def samples(registry) -> dict:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def test_a_flush_writes_what_recording_each_request_would(monkeypatch):
    """The batch's sums against prometheus_client recording every request itself, metric for
    metric, bucket for bucket (this also guards the histogram internals the flush writes to)."""
    expected, batched = CollectorRegistry(), CollectorRegistry()

    def copies(registry):
        def copy(metric):
            kind = Counter if isinstance(metric, Counter) else Histogram
            options = {} if kind is Counter else {"buckets": metric._upper_bounds[:-1]}
            return kind(
                metric._name,
                metric._documentation,
                metric._labelnames,
                registry=registry,
                **options,
            )

        return {
            name: copy(getattr(metrics, name))
            for name in (
                "http_requests",
                "http_request_duration",
                "http_response_size",
                "http_request_db_queries",
                "http_request_db_duration",
            )
        }

    direct = copies(expected)
    for view, method, status, seconds, size, queries, query_seconds in RECORDS:
        direct["http_requests"].labels(view, method, status).inc()
        direct["http_request_duration"].labels(view, method).observe(seconds)
        if size is not None:
            direct["http_response_size"].labels(view).observe(size)
        direct["http_request_db_queries"].labels(view).observe(queries)
        direct["http_request_db_duration"].labels(view).observe(query_seconds)

    into = copies(batched)
    for name, metric in into.items():
        monkeypatch.setattr(metrics, name, metric)
    figures = batch.RequestFigures(background=False)  # flushed below, not by a thread
    for record in RECORDS:
        figures.add(*record)
    written = {name for name, _ in samples(batched)}
    assert "http_requests_total" not in written  # nothing until the flush

    figures.flush()

    assert samples(batched) == samples(expected)


def test_a_processs_requests_are_written_within_a_second_or_so_without_a_scrape(client):
    before = value("http_requests_total", view="healthz", method="GET", status="2xx")

    client.get("/healthz")
    pending = metrics.http_requests.labels("healthz", "GET", "2xx")._value.get()
    deadline = time.monotonic() + 5 * batch.FLUSH_SECONDS
    while metrics.http_requests.labels("healthz", "GET", "2xx")._value.get() == pending:
        assert time.monotonic() < deadline, "the flushing thread wrote nothing"
        time.sleep(0.05)

    assert value("http_requests_total", view="healthz", method="GET", status="2xx") == before + 1


def test_a_tally_writes_its_increments_added_up_at_the_flush():
    counter = Counter("tallied", "A counter for this test.", registry=CollectorRegistry())
    tally = batch.Tally(counter)
    try:
        for amount in (1, 1, 3):
            tally.inc(amount)
        assert counter._value.get() == 0  # nothing written yet

        batch.FIGURES.flush()

        assert counter._value.get() == 5
    finally:
        batch._TALLIES.remove(tally)


def test_a_forked_process_writes_its_own_figures_and_not_its_parents():
    """A pool process forked from a busy one: the figures the parent had not written yet are the
    parent's to write (else both would count them), and the child starts its own flushing thread."""
    batch.FIGURES.add("forked", "GET", "2xx", 0.01, 10, 0, 0.0)  # waiting in this process
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the forked process
        try:
            inherited = len(batch.FIGURES._pending)
            batch.FIGURES.add("forked", "GET", "2xx", 0.01, 10, 0, 0.0)
            os.write(write, f"{inherited} {batch.FIGURES._running}".encode())
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(child, 0)

    assert answer == "0 True"
