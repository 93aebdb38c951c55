"""Celery's figures: task runs by outcome and their duration (eager, as in `make run`, and in a real
worker), the queues' length and oldest message read from the broker, and a worker's own /metrics
on CELERY_METRICS_PORT, for METRICS_TOKEN only."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest
from celery import shared_task
from celery.exceptions import Retry
from redis import exceptions as redis_errors

from accounts.tasks import send_email
from tests.observability.conftest import BEARER, TOKEN, parse, value
from tests.private_services import free_port, private_redis
from tests.processes import celery_worker, pool_processes, site_broker


@shared_task(name="tests.observability.succeeds")
def succeeds() -> int:
    return 1


@shared_task(name="tests.observability.fails")
def fails() -> None:
    raise LookupError("a bug")


@shared_task(bind=True, name="tests.observability.retries", max_retries=3)
def retries(self) -> None:
    raise self.retry(countdown=0, exc=ConnectionError("the server did not answer"))


def runs(task: str, outcome: str) -> float:
    return value("celery_tasks_total", task=task, outcome=outcome)


def timed(task: str) -> float:
    return value("celery_task_duration_seconds_count", task=task)


# --- Task runs, eager ---------------------------------------------------------------------------


def test_an_eager_task_that_succeeds_is_counted_and_timed():
    before, before_timed = runs(succeeds.name, "succeeded"), timed(succeeds.name)

    succeeds.delay()

    assert runs(succeeds.name, "succeeded") == before + 1
    assert timed(succeeds.name) == before_timed + 1


def test_an_eager_task_that_fails_is_counted_failed():
    before, before_timed = runs(fails.name, "failed"), timed(fails.name)

    with pytest.raises(LookupError):
        fails.delay()

    assert runs(fails.name, "failed") == before + 1
    assert timed(fails.name) == before_timed + 1
    assert runs(fails.name, "succeeded") == 0


def test_an_eager_task_that_retries_is_counted_retried():
    before = runs(retries.name, "retried")

    with pytest.raises(Retry):
        retries.delay()

    assert runs(retries.name, "retried") == before + 1
    assert runs(retries.name, "failed") == 0


# --- The queues, from the broker ----------------------------------------------------------------


def queue_figures() -> dict[tuple[str, str], float]:
    from sigma_playground.observability.tasks import BrokerQueues

    return {
        (sample.name, sample.labels["queue"]): sample.value
        for family in BrokerQueues().collect()
        for sample in family.samples
    }


@pytest.mark.django_db(transaction=True)
def test_the_queues_length_and_oldest_message_are_read_from_a_redis_broker(
    tmp_path, client, settings
):
    settings.METRICS_TOKEN = TOKEN
    assert queue_figures() == {}  # tasks run eagerly: no queue
    with private_redis(tmp_path / "redis") as redis, site_broker(redis.url):
        empty = queue_figures()
        # Waiting in a queue no worker consumes (no worker runs on this Redis).
        for _ in range(3):
            send_email.apply_async(args=["Hi", "Body", ["ada@example.com"]], queue="images")
        time.sleep(1.1)
        send_email.apply_async(args=["Hi", "Body", ["ada@example.com"]], queue="images")
        waiting = queue_figures()
        scraped = client.get("/metrics", headers=BEARER)

    assert set(empty) == {
        (name, queue)
        for name in ("celery_queue_length", "celery_queue_oldest_task_age_seconds")
        for queue in ("default", "images", "notifications", "email")
    }
    assert set(empty.values()) == {0}
    assert waiting[("celery_queue_length", "images")] == 4
    # The first published is the oldest, over a second ago (the last one, a moment ago).
    assert 1.0 < waiting[("celery_queue_oldest_task_age_seconds", "images")] < 30
    assert waiting[("celery_queue_length", "default")] == 0
    assert waiting[("celery_queue_oldest_task_age_seconds", "default")] == 0
    # The site's /metrics reads them when scraped.
    (length,) = [
        sample
        for sample in parse(scraped.content.decode())
        if sample.name == "celery_queue_length" and sample.labels["queue"] == "images"
    ]
    assert length.value == 4


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_does_not_answer_fails_the_queue_figures_quickly(tmp_path):
    from sigma_playground.observability.tasks import BROKER_TIMEOUT_SECONDS

    with private_redis(tmp_path / "redis") as redis, site_broker(redis.url):
        queue_figures()  # connected once already
        with redis.stalled():
            started = time.monotonic()
            with pytest.raises(redis_errors.TimeoutError):
                queue_figures()
            # Left out of that scrape (collectors.Guarded), which answers in time.
            assert time.monotonic() - started < 3 * BROKER_TIMEOUT_SECONDS


# --- A worker's own /metrics --------------------------------------------------------------------


def scrape(port: int, authorization: str | None) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if authorization is not None:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - our worker
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.django_db(transaction=True)
def test_a_worker_serves_its_pool_processes_metrics_to_the_token_only(tmp_path, settings):
    outbox, directory, port = tmp_path / "outbox", tmp_path / "metrics", free_port()
    with (
        private_redis(tmp_path / "redis") as redis,
        celery_worker(
            tmp_path,
            prefork=True,
            REDIS_URL=redis.url,
            CELERY_BROKER_URL=redis.url,
            EMAIL_URL=f"filemail://{outbox}",
            CELERY_METRICS_PORT=str(port),
            METRICS_TOKEN=TOKEN,
            PROMETHEUS_MULTIPROC_DIR=str(directory),
        ) as worker,
        site_broker(redis.url),
    ):
        worker.wait_for(lambda: b"ready." in worker.log.read_bytes(), "start", 30)
        send_email.apply_async(args=["Hi", "Body", ["ada@example.com"]], queue=worker.queue)
        worker.wait_for(lambda: outbox.exists() and any(outbox.glob("*.log")), "send it", 30)

        refused = [
            scrape(port, None),
            scrape(port, "Bearer not-the-token"),
            scrape(port, f"bearer {TOKEN}x"),
        ]
        status, text = scrape(port, f"Bearer {TOKEN}")
        (pool_process,) = pool_processes(worker)
        main_process = worker.process.pid

    assert [code for code, _ in refused] == [404, 404, 404]
    assert all("celery_tasks" not in body for _, body in refused)
    assert status == 200
    # Run in the pool process, served by the main one: read from the multiprocess directory. Every
    # outcome of every task is there from the start, at 0, so a first failure is an increase.
    runs = {
        s.labels["outcome"]: s.value
        for s in parse(text)
        if s.name == "celery_tasks_total" and s.labels["task"] == "accounts.tasks.send_email"
    }
    assert runs == {"succeeded": 1, "failed": 0, "retried": 0}
    assert {"succeeded", "failed", "retried"} == {
        s.labels["outcome"]
        for s in parse(text)
        if s.name == "celery_tasks_total" and s.labels["task"] == "media.tasks.process_image"
    }
    (duration,) = [
        s
        for s in parse(text)
        if s.name == "celery_task_duration_seconds_count"
        and s.labels["task"] == "accounts.tasks.send_email"
    ]
    assert duration.value == 1
    # Each process's memory, the pool process's and the main process's.
    pids = {s.labels["pid"] for s in parse(text) if s.name == "process_resident_memory_bytes"}
    assert {str(pool_process), str(main_process)} <= pids


def test_the_worker_exporter_answers_404_without_a_token_set(settings):
    from sigma_playground.observability.tasks import WorkerExporter

    settings.METRICS_TOKEN = ""
    exporter = WorkerExporter(0, None, host="127.0.0.1").start()
    try:
        assert scrape(exporter.port, "Bearer ")[0] == 404
        assert scrape(exporter.port, None)[0] == 404
        settings.METRICS_TOKEN = TOKEN
        assert scrape(exporter.port, f"Bearer {TOKEN}")[0] == 200
        request = urllib.request.Request(f"http://127.0.0.1:{exporter.port}/", headers=BEARER)
        with pytest.raises(urllib.error.HTTPError) as elsewhere:
            urllib.request.urlopen(request, timeout=5)  # noqa: S310 - our own server
        assert elsewhere.value.code == 404
    finally:
        exporter.stop()
