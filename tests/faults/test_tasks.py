"""Tasks survive their workers and their broker.

Each test runs a real `celery worker` (the production prefork pool) on a redis-server of its own, and
the site queues through that Redis too. Killing a pool process mid-task gives the task back to the
queue and it completes; a broker with append-only persistence restarted under queued tasks loses
none of them. What a member sees meanwhile: a picture stays "processing" and followers hear of a new
workbook a few seconds late, never not at all.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import suppress
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from accounts.models import User
from accounts.tasks import send_email
from media import services as media_services
from media.models import Image
from social import push
from social.models import Follow, Notification, Verb
from tests.factories import UserFactory, WorkbookFactory
from tests.media import images
from tests.media.fake_clamd import FakeClamdHandler, TcpFakeClamd, running
from tests.private_services import private_redis
from tests.processes import celery_worker, pool_processes, site_broker, test_database_url


def worker_env(redis_url: str) -> dict[str, str]:
    return {
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,  # over any broker of the machine's own environment
        "DATABASE_URL": test_database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "MEDIA_UPLOAD_ROOT": str(settings.MEDIA_UPLOAD_ROOT),
    }


def kill_pool_process(worker) -> None:
    (child,) = pool_processes(worker)
    os.kill(child, signal.SIGKILL)


class FirstScanHangs(FakeClamdHandler):
    """clamd that never answers the first scan (until its client is gone), then answers OK: the
    picture's job is surely mid-task when the test kills its process."""

    def handle(self) -> None:
        server = self.server
        with server.lock:
            server.connections += 1
            first = server.connections == 1
        if not first:
            super().handle()
            return
        server.first_scan_started.set()
        self.request.settimeout(60)
        with suppress(OSError):
            while self.request.recv(65536):
                pass


@pytest.mark.django_db(transaction=True)
def test_a_pool_process_killed_while_making_a_picture_gives_it_back_and_it_becomes_ready(
    tmp_path, user
):
    scanner = TcpFakeClamd(("127.0.0.1", 0), FirstScanHangs)
    scanner.connections, scanner.lock = 0, threading.Lock()
    scanner.first_scan_started = threading.Event()
    host, port = scanner.server_address
    with (
        running(scanner),
        private_redis(tmp_path / "redis") as redis,
        celery_worker(
            tmp_path, queues="images", prefork=True, CLAMD_ADDRESS=f"{host}:{port}",
            **worker_env(redis.url),
        ) as worker,
        site_broker(redis.url),
    ):  # fmt: skip
        worker.wait_for(lambda: b"ready." in worker.log.read_bytes(), "start", 30)
        image = media_services.accept_upload(
            owner=user, kind=Image.Kind.AVATAR, file=images.upload(images.jpeg())
        )
        assert scanner.first_scan_started.wait(30), worker.log.read_text()

        kill_pool_process(worker)  # the OOM killer, say, mid-task

        worker.wait_for(
            lambda: Image.objects.get(pk=image.pk).status != Image.Status.PROCESSING,
            "finish the picture given back to the queue",
            30,
        )
    image.refresh_from_db()
    assert image.status == Image.Status.READY, image.error
    assert scanner.connections == 2  # scanned again by the next process, not skipped


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_pool_process_killed_mid_fan_out_gives_the_batch_back_and_every_follower_is_told(
    tmp_path,
):
    author = UserFactory(username="author")
    followers = User.objects.bulk_create(
        User(username=f"reader{n}", email=f"reader{n}@example.com") for n in range(1200)
    )  # more than one batch (services.FAN_OUT_BATCH)
    Follow.objects.bulk_create(Follow(follower=f, followee=author) for f in followers)
    first = min(follower.pk for follower in followers)

    with (
        private_redis(tmp_path / "redis") as redis,
        celery_worker(
            tmp_path, queues="notifications", prefork=True, **worker_env(redis.url)
        ) as worker,
        site_broker(redis.url),
        psycopg.connect(test_database_url(), autocommit=True) as blocker,
    ):
        worker.wait_for(lambda: b"ready." in worker.log.read_bytes(), "start", 30)
        # Hold the first follower's notification lock, so the first batch waits for it mid-task.
        lock = "SELECT pg_advisory_lock(%s, %s)"
        blocker.execute(lock, [push.LOCK_NAMESPACE, first % 2147483648])
        workbook = WorkbookFactory(author=author)  # published: its fan-out is queued
        worker.wait_for(waiting_for_an_advisory_lock, "start the fan-out", 30)

        kill_pool_process(worker)
        blocker.execute("SELECT pg_advisory_unlock_all()")

        worker.wait_for(
            lambda: told(workbook) == len(followers), "tell every follower after the kill", 60
        )
    recipients = Notification.objects.filter(verb=Verb.PUBLISHED, workbook=workbook)
    assert recipients.values("recipient").distinct().count() == len(followers)  # each once


def told(workbook) -> int:
    return Notification.objects.filter(verb=Verb.PUBLISHED, workbook=workbook).count()


def waiting_for_an_advisory_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cursor.fetchone()[0] > 0


def sent_subjects(outbox: Path) -> list[str]:
    if not outbox.exists():
        return []
    return [
        line.removeprefix("Subject: ")
        for message in outbox.glob("*.log")
        for line in message.read_text().splitlines()
        if line.startswith("Subject: ")
    ]


def test_queued_tasks_survive_a_broker_restart_with_append_only_persistence(tmp_path):
    outbox = tmp_path / "outbox"
    with private_redis(tmp_path / "redis", appendonly=True) as redis, site_broker(redis.url):
        env = {**worker_env(redis.url), "EMAIL_URL": f"filemail://{outbox}"}
        with celery_worker(tmp_path, queues="email", **env) as worker:  # declares the queue
            worker.wait_for(lambda: b"ready." in worker.log.read_bytes(), "start", 30)
        # Queued while no worker runs, then the broker restarts (a deploy, a crash).
        for n in range(20):
            send_email.delay(f"Queued {n}", "Waiting in Redis.", ["ada@example.com"])
        redis.restart()

        with celery_worker(tmp_path, queues="email", **env) as worker:
            worker.wait_for(lambda: len(sent_subjects(outbox)) >= 20, "send the queued mail", 30)
            # The worker outlives a restart under it, and so does the site's queueing.
            redis.restart()
            for n in range(20, 30):
                send_email.delay(f"Queued {n}", "Sent after the restart.", ["ada@example.com"])
            worker.wait_for(lambda: len(sent_subjects(outbox)) >= 30, "send the later mail", 45)

    assert sorted(sent_subjects(outbox)) == sorted(f"Queued {n}" for n in range(30))
