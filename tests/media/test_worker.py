"""A real `celery -A sigma_playground worker` on Redis makes the variants of an upload."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from media.models import Image
from sigma_playground.celery import app
from tests.media import images

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The test database, for the worker process to share."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return (
        f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


@pytest.fixture
def worker(monkeypatch):
    queue = f"test-media-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sigma_playground.settings",
        "DEBUG": "true",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "MEDIA_UPLOAD_ROOT": str(settings.MEDIA_UPLOAD_ROOT),
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    options = ["--pool", "solo", "--loglevel", "INFO", "--without-heartbeat", "--without-gossip"]
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "sigma_playground", "worker", "-Q", queue, *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # The site's own queueing (services -> process_image.delay) goes to this worker's queue.
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    monkeypatch.setitem(app.conf, "task_routes", {"media.tasks.*": {"queue": queue}})
    app.amqp.__dict__.pop("router", None)
    app.amqp.flush_routes()
    try:
        yield process
    finally:
        app.amqp.__dict__.pop("router", None)
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        app.amqp.flush_routes()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_on_redis_processes_an_avatar_uploaded_through_the_api(worker, user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    upload = images.upload(images.jpeg((2400, 1600), gps=True) + images.APPENDED_HTML)

    response = client.post("/api/v1/me/avatar/", {"image": upload}, format="multipart")

    assert response.status_code == 202
    assert response.json()["status"] == "processing"
    image_id = response.json()["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        image = Image.objects.get(pk=image_id)
        if image.status != Image.Status.PROCESSING:
            break
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.2)
    else:
        worker.terminate()
        pytest.fail("the worker did not process the upload in 60 s:\n" + worker.communicate()[0])

    assert image.status == Image.Status.READY, image.error
    user.refresh_from_db()
    assert user.avatar["id"] == image_id
    variants = sorted(p.name for p in (Path(settings.MEDIA_ROOT) / "avatars").iterdir())
    assert len(variants) == 6
    assert all(name.startswith(image.content_hash) for name in variants)
    assert not any(Path(settings.MEDIA_UPLOAD_ROOT).rglob("*.jpg"))  # the original is gone
