"""The multiprocess directory over time: what processes that are gone leave behind is tidied (their
gauges dropped, their counters and histograms folded into one archive file per type) without a
total changing, scrapes never read halfway through a fold, and a forked process inherits no lock."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from celery import signals
from prometheus_client import generate_latest

from sigma_playground.observability import metrics, process
from tests.observability.conftest import parse
from tests.processes import ROOT

# A process of the site's that records a few figures in `directory` and ends (or, with "wait", stays
# until its stdin closes).
RECORDER = """
import sys
from sigma_playground.observability import metrics
times = int(sys.argv[1])
for _ in range(times):
    metrics.http_requests.labels("home", "GET", "2xx").inc()
    # Durations exact in binary: their sum is the same in whatever order it is added up.
    metrics.http_request_duration.labels("home", "GET").observe(0.125)
    metrics.http_request_duration.labels("home", "GET").observe(3.0)
    metrics.images_processed.labels(outcome="failed").inc()
metrics.process_resident_memory.set(1234)
print("recorded", flush=True)
if sys.argv[2:] == ["wait"]:
    sys.stdin.read()
"""


def record(directory: Path, times: int, *, wait: bool = False) -> subprocess.Popen:
    recorder = subprocess.Popen(
        [sys.executable, "-c", RECORDER, str(times), *(["wait"] if wait else [])],
        cwd=ROOT,
        env={**os.environ, metrics.MULTIPROC_DIR_VARIABLE: str(directory)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert recorder.stdout.readline().strip() == "recorded"
    if not wait:
        recorder.communicate(timeout=30)
    return recorder


def totals(directory: Path) -> dict[tuple, float]:
    """What a scrape of the directory answers, gauges apart (a dead process's are dropped)."""

    class Read:
        def collect(self):
            return metrics.read_directory(directory)

    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for sample in parse(generate_latest(Read()).decode())
        if "pid" not in sample.labels
    }


def pids_of_files(directory: Path) -> set[str]:
    return {path.stem.rsplit("_", 1)[1] for path in directory.glob("*.db")}


def test_files_of_gone_processes_are_folded_into_one_archive_and_totals_do_not_change(tmp_path):
    directory = tmp_path / "web"
    directory.mkdir()
    # In this order: a process starting tidies the directory itself (prepare_directory).
    alive = record(directory, 2, wait=True)
    gone = record(directory, 3)
    try:
        before = totals(directory)
        requests = (("method", "GET"), ("status", "2xx"), ("view", "home"))
        assert before[("http_requests_total", requests)] == 5
        assert pids_of_files(directory) == {str(gone.pid), str(alive.pid)}

        metrics.tidy(directory)

        assert pids_of_files(directory) == {str(alive.pid), "archive"}
        assert sorted(path.name for path in directory.glob("*_archive.db")) == [
            "counter_archive.db",
            "histogram_archive.db",
        ]
        assert totals(directory) == before  # counters, buckets, sums and counts alike

        # Another process comes and goes: folded into the same archive, added to what it holds.
        later = record(directory, 4)
        before = totals(directory)
        metrics.tidy(directory)
        assert str(later.pid) not in pids_of_files(directory)
        assert totals(directory) == before
        bucket = (("le", "0.25"), ("method", "GET"), ("view", "home"))
        assert before[("http_request_duration_seconds_bucket", bucket)] == 3 + 2 + 4
        assert before[("images_processed_total", (("outcome", "failed"),))] == 9
    finally:
        alive.communicate(timeout=30)


def test_a_new_process_tidies_what_an_old_one_of_its_pid_left(tmp_path, monkeypatch):
    directory = tmp_path / "worker"
    directory.mkdir()
    record(directory, 1)
    (counter,) = directory.glob("counter_*.db")
    (gauge,) = directory.glob("gauge_all_*.db")
    own = str(os.getpid())
    counter.rename(directory / f"counter_{own}.db")  # as though this pid had been the old one's
    gauge.rename(directory / f"gauge_all_{own}.db")
    before = totals(directory)

    # A pool process starting up (worker_process_init) tidies before it records anything.
    monkeypatch.setenv(metrics.MULTIPROC_DIR_VARIABLE, str(directory))
    signals.worker_process_init.send(sender=None)

    assert pids_of_files(directory) == {"archive"}
    assert totals(directory) == before


def test_a_pool_process_records_its_own_figures_when_it_starts(monkeypatch):
    updates = []
    monkeypatch.setattr(process, "update", lambda **kwargs: updates.append(kwargs))
    signals.worker_process_init.send(sender=None)
    assert updates == [{"force": True}]


def test_a_scrape_waits_for_a_fold_under_way(tmp_path):
    directory = tmp_path / "ws"
    directory.mkdir()
    record(directory, 1)
    read = threading.Event()

    def scrape():
        metrics.read_directory(directory)
        read.set()

    with metrics._locked(directory, exclusive=True):
        threading.Thread(target=scrape, daemon=True).start()
        assert not read.wait(0.5)  # held up while the directory is being tidied
    assert read.wait(5)


def test_a_forked_process_inherits_no_lock_held_by_another_thread(tmp_path):
    """The worker's exporter thread may hold the directory's lock, or process.py's, when a pool
    process is forked: the new process must neither keep them held nor find them held."""
    directory = tmp_path / "worker"
    directory.mkdir()
    holding, release = threading.Event(), threading.Event()

    def hold():
        with metrics._locked(directory, exclusive=True), process._wrappers_lock:
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert holding.wait(5)
    child = os.fork()
    if child == 0:  # the forked process: lives on, as a pool process does
        try:
            free = process._wrappers_lock.acquire(timeout=2)
            time.sleep(3)
        finally:
            os._exit(0 if free else 1)
    try:
        release.set()
        holder.join(5)
        # The lock is free as soon as the thread lets go, though the child still lives.
        lock = os.open(directory / metrics.LOCK_FILE, os.O_RDWR)
        try:
            started = time.monotonic()
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() - started > 1:
                        pytest.fail("the forked process keeps the directory's lock held")
                    time.sleep(0.05)
        finally:
            os.close(lock)
    finally:
        _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the forked process found process.py's lock held"
