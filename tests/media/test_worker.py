"""A real `celery -A sigma_playground worker` on Redis makes the variants of an upload."""

from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from media.models import Image
from sigma_playground.celery import app
from tests.media import images
from tests.processes import celery_worker, test_database_url


@pytest.fixture
def worker(tmp_path, monkeypatch):
    with celery_worker(
        tmp_path,
        DATABASE_URL=test_database_url(),
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        MEDIA_UPLOAD_ROOT=str(settings.MEDIA_UPLOAD_ROOT),
    ) as worker:
        # The site's own queueing (services -> process_image.delay) goes to this worker's queue.
        monkeypatch.setitem(app.conf, "task_always_eager", False)
        routes = app.conf.task_routes
        app.conf.task_routes = {"media.tasks.*": {"queue": worker.queue}}
        app.amqp.__dict__.pop("router", None)  # the router reads task_routes once, when made
        app.amqp.flush_routes()
        try:
            yield worker
        finally:
            # The project's routes back before the router is made again, for the tests after this.
            app.conf.task_routes = routes
            app.amqp.queues.pop(worker.queue, None)  # declared when a task was routed to it
            app.amqp.__dict__.pop("router", None)
            app.amqp.flush_routes()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_on_redis_processes_an_avatar_uploaded_through_the_api(worker, user):
    client = APIClient()
    client.force_authenticate(user)
    upload = images.upload(images.jpeg((2400, 1600), gps=True) + images.APPENDED_HTML)

    response = client.post("/api/v1/me/avatar/", {"image": upload}, format="multipart")

    assert response.status_code == 202
    assert response.json()["status"] == "processing"
    image_id = response.json()["id"]
    worker.wait_for(
        lambda: Image.objects.get(pk=image_id).status != Image.Status.PROCESSING,
        "process the upload",
    )
    image = Image.objects.get(pk=image_id)
    assert image.status == Image.Status.READY, image.error
    user.refresh_from_db()
    assert user.avatar["id"] == image_id
    variants = sorted(p.name for p in (Path(settings.MEDIA_ROOT) / "avatars").iterdir())
    assert len(variants) == 6
    assert all(name.startswith(image.content_hash) for name in variants)
    assert not any(Path(settings.MEDIA_UPLOAD_ROOT).rglob("*.jpg"))  # the original is gone
