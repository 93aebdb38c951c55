"""A real `celery -A sigma_playground worker` on Redis runs our tasks."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from accounts.tasks import send_email
from sigma_playground.celery import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(tmp_path, monkeypatch):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    outbox = tmp_path / "outbox"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sigma_playground.settings",
        "DEBUG": "true",
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_URL": f"filemail://{outbox}",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "sigma_playground",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-heartbeat",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    try:
        yield queue, outbox, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.redis
def test_a_worker_on_redis_sends_an_email_queued_by_the_site(worker):
    queue, outbox, process = worker
    send_email.apply_async(
        args=["Hello from the queue", "It went through Redis.", ["ada@example.com"]], queue=queue
    )
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        files = list(outbox.glob("*.log")) if outbox.exists() else []
        if files:
            break
        assert process.poll() is None, process.stdout.read()
        time.sleep(0.2)
    else:
        process.terminate()
        pytest.fail("the worker did not send the email in 45 s:\n" + process.communicate()[0])
    message = files[0].read_text()
    assert "Subject: Hello from the queue" in message
    assert "To: ada@example.com" in message
