"""A real `celery -A sigma_playground worker` on Redis runs our tasks."""

import pytest

from accounts.tasks import send_email
from sigma_playground.celery import app
from tests.processes import celery_worker


@pytest.mark.redis
def test_a_worker_on_redis_sends_an_email_queued_by_the_site(tmp_path, monkeypatch):
    outbox = tmp_path / "outbox"
    monkeypatch.setitem(app.conf, "task_always_eager", False)

    with celery_worker(tmp_path, EMAIL_URL=f"filemail://{outbox}") as worker:
        send_email.apply_async(
            args=["Hello from the queue", "It went through Redis.", ["ada@example.com"]],
            queue=worker.queue,
        )
        worker.wait_for(lambda: outbox.exists() and any(outbox.glob("*.log")), "send the email", 45)

    message = next(outbox.glob("*.log")).read_text()
    assert "Subject: Hello from the queue" in message
    assert "To: ada@example.com" in message
