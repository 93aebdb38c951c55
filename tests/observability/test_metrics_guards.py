"""What keeps the figures honest and their endpoints closed: every series an alert reads exists from
0, a run killed at its time limit counts as failed once, /metrics gives nothing away to a request
without the token (whatever its method), a short token is refused at startup, and a Celery worker's
exporter cannot be held up by connections that send nothing."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from celery import signals
from celery.exceptions import TimeLimitExceeded, WorkerLostError

from sigma_playground.observability import metrics, process, tasks
from social import consumers
from tests.observability.conftest import BEARER, TOKEN, value
from tests.private_services import free_port
from tests.sigma_playground.test_startup import manage
from tests.social.realtime import open_socket, use_in_memory_layer

# --- Series that exist from the start -------------------------------------------------------------

# Every reason media refuses an upload for (media.validation, media.storage, processing).
REFUSALS = [
    *("too_large", "empty", "bad_type", "damaged", "too_many_pixels", "unusual_jpeg"),
    *("storage_unavailable", "storage_full", "expired", "malware"),
]


@pytest.mark.parametrize(
    ("name", "labels"),
    [
        ("images_processed_total", {"outcome": "failed"}),
        ("images_processed_total", {"outcome": "succeeded"}),
        *[("lockouts_total", {"guard": guard}) for guard in ("signin", "signup", "code")],
        *[("uploads_total", {"outcome": "refused", "reason": r}) for r in REFUSALS],
        ("signins_total", {"method": "api"}),
    ],
)
def test_a_series_an_alert_reads_exists_before_its_first_event(name, labels):
    assert metrics.REGISTRY.get_sample_value(name, labels) is not None


def test_every_refusal_reason_the_code_uses_is_one_that_starts_at_zero():
    from media import storage, validation

    classes = [validation.ImageRejected, *validation.ImageRejected.__subclasses__()]
    classes += [storage.StorageUnavailable, storage.StorageFull]
    assert {cls.reason for cls in classes} <= set(metrics.UPLOAD_REFUSALS) == set(REFUSALS)


def test_a_worker_process_starts_every_task_at_zero_for_every_outcome():
    import accounts.tasks  # noqa: F401 - registered as a worker registers them
    import media.tasks  # noqa: F401

    signals.worker_process_init.send(sender=None)
    for outcome in metrics.TASK_OUTCOMES:
        labels = {"task": "media.tasks.process_image", "outcome": outcome}
        assert metrics.REGISTRY.get_sample_value("celery_tasks_total", labels) is not None
    assert {"accounts.tasks.send_email", "media.tasks.process_image"} <= {
        s.labels["task"]
        for family in metrics.REGISTRY.collect()
        for s in family.samples
        if s.name == "celery_tasks_total"
    }


# --- Runs the pool process never reports ----------------------------------------------------------


@pytest.mark.parametrize("error", [TimeLimitExceeded(90), WorkerLostError("gone")])
def test_a_run_killed_at_its_time_limit_or_lost_counts_as_failed_once(error):
    from media.tasks import process_image as task

    labels = {"task": task.name, "outcome": "failed"}
    before = value("celery_tasks_total", **labels)
    task_id = f"lost-{type(error).__name__}-{time.monotonic()}"

    # What the worker's main process sends (celery.worker.request.Request.on_timeout / on_failure).
    signals.task_failure.send(sender=task, task_id=task_id, exception=error)
    signals.task_failure.send(sender=task, task_id=task_id, exception=error)

    assert value("celery_tasks_total", **labels) == before + 1
    # Any other failure is counted by task_postrun, in the process that ran it: not again here.
    signals.task_failure.send(sender=task, task_id="raised", exception=ValueError("bad"))
    assert value("celery_tasks_total", **labels) == before + 1


# --- /metrics to those without the token ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_an_unsafe_method_without_the_token_gets_the_404_of_an_unknown_address(settings, method):
    from django.test import Client

    settings.METRICS_TOKEN = TOKEN
    client = Client(enforce_csrf_checks=True)
    assert getattr(client, method)("/metrics").status_code == 404
    assert getattr(client, method)("/no-such-address").status_code == 404
    assert client.get("/metrics", headers=BEARER).status_code == 200


def test_a_metrics_token_shorter_than_32_characters_is_refused_at_startup():
    result = manage("check", DEBUG="true", METRICS_TOKEN="x" * 31)
    assert result.returncode != 0
    assert "METRICS_TOKEN must be at least 32 characters" in result.stderr
    accepted = manage("check", DEBUG="true", METRICS_TOKEN="x" * 32)
    assert accepted.returncode == 0, accepted.stderr


# --- The worker's exporter ------------------------------------------------------------------------


def test_without_a_token_the_worker_starts_no_exporter(settings, caplog):
    settings.METRICS_TOKEN = ""
    settings.CELERY_METRICS_PORT = free_port()
    signals.worker_ready.send(sender=None)
    try:
        assert tasks._exporter is None
        assert "METRICS_TOKEN is not" in caplog.text
    finally:
        signals.worker_shutdown.send(sender=None)


def test_the_worker_exporter_listens_on_celery_metrics_host(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.CELERY_METRICS_PORT = free_port()
    settings.CELERY_METRICS_HOST = "127.0.0.1"
    signals.worker_ready.send(sender=None)
    try:
        assert tasks._exporter.server.server_address == ("127.0.0.1", settings.CELERY_METRICS_PORT)
    finally:
        signals.worker_shutdown.send(sender=None)


def test_idle_connections_cannot_hold_up_the_worker_exporter(settings, monkeypatch):
    settings.METRICS_TOKEN = TOKEN
    monkeypatch.setattr(tasks._QuietHandler, "timeout", 0.5)
    exporter = tasks.WorkerExporter(0, None, host="127.0.0.1").start()
    idle = []

    def serving() -> int:  # the exporter's threads that serve one connection each
        return sum("process_request_thread" in t.name for t in threading.enumerate())

    try:
        for _ in range(30):
            idle.append(socket.create_connection(("127.0.0.1", exporter.port), timeout=5))
        time.sleep(0.3)
        # Served a few at a time: the rest are closed at once, never a thread each.
        assert 0 < serving() <= tasks.EXPORTER_CONNECTIONS
        # Those it took are closed once they have sent nothing for the timeout.
        deadline = time.monotonic() + 5
        for connection in idle:
            connection.settimeout(max(0.1, deadline - time.monotonic()))
            assert connection.recv(1) == b""
        # And Prometheus is still served.
        with socket.create_connection(("127.0.0.1", exporter.port), timeout=5) as scrape:
            scrape.sendall(
                f"GET /metrics HTTP/1.0\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
            )
            assert scrape.recv(64).startswith(b"HTTP/1.0 200")
    finally:
        for connection in idle:
            connection.close()
        exporter.stop()


def test_the_worker_exporter_writes_no_figure_from_its_thread(settings, monkeypatch, tmp_path):
    """Its thread must take no lock a pool process forked meanwhile would inherit held: the main
    process's own figures are read when scraped, not written."""
    settings.METRICS_TOKEN = TOKEN
    monkeypatch.setattr(process, "update", lambda **kwargs: pytest.fail("wrote figures"))
    exporter = tasks.WorkerExporter(0, str(tmp_path), host="127.0.0.1").start()
    try:
        with socket.create_connection(("127.0.0.1", exporter.port), timeout=5) as scrape:
            scrape.sendall(
                f"GET /metrics HTTP/1.0\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
            )
            answer = b""
            while chunk := scrape.recv(65536):
                answer += chunk
    finally:
        exporter.stop()
    assert answer.startswith(b"HTTP/1.0 200")
    assert f'process_resident_memory_bytes{{pid="{os.getpid()}"}}'.encode() in answer


# --- Idle websockets ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_ws_worker_holding_idle_sockets_keeps_its_own_figures_current(
    user, settings, monkeypatch
):
    use_in_memory_layer(settings)
    monkeypatch.setattr(consumers, "HEARTBEAT_SECONDS", 0.2)

    async def run():
        communicator = await open_socket(user)
        updates.clear()  # what opening it recorded apart
        for _ in range(2):
            assert await communicator.receive_json_from(timeout=2) == {"type": "ping"}
            await communicator.send_json_to({"type": "pong"})
        await communicator.disconnect()

    updates: list = []
    monkeypatch.setattr(process, "update", lambda **kwargs: updates.append(kwargs))
    async_to_sync(run)()
    assert len(updates) >= 2  # on each heartbeat
