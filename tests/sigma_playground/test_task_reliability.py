"""Tasks survive lost workers and lost messages: the policy every task runs under, retries on
database errors, and the sweeps that find unfinished work in the database and queue it again.

The worker and broker faults themselves are in tests/faults/test_tasks.py."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from accounts.tasks import send_email
from media import services as media_services
from media import tasks as media_tasks
from media.models import Image
from sigma_playground.celery import app
from social import services as social_services
from social import tasks as social_tasks
from social.models import Follow, Notification, Verb
from tests.factories import UserFactory, WorkbookFactory
from tests.media import images
from workbooks.models import Workbook


def project_tasks():
    app.loader.import_default_modules()
    return [task for name, task in sorted(app.tasks.items()) if not name.startswith("celery.")]


def test_a_task_whose_pool_process_dies_goes_back_to_the_queue_except_an_email():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    # Not idempotent: sent at most once more by a lost whole worker, never in a loop.
    assert send_email.reject_on_worker_lost is False


def test_the_visibility_timeout_outlasts_every_task_and_its_longest_retry_wait():
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    longest = 0
    for task in project_tasks():
        limit = task.time_limit or app.conf.task_time_limit
        longest = max(longest, limit)
        if getattr(task, "autoretry_for", ()):
            assert task.retry_backoff_max <= settings.TASK_RETRY_MAX_DELAY, task.name
        # A retry waits, unacknowledged, in the worker that took it, then runs.
        assert limit + settings.TASK_RETRY_MAX_DELAY < visibility, task.name
    assert max(media_tasks._backoff(retries) for retries in range(20)) <= (
        settings.TASK_RETRY_MAX_DELAY
    )
    # ...and no longer than that needs: a worker lost whole is recovered from within minutes.
    assert visibility <= longest + settings.TASK_RETRY_MAX_DELAY + 60


def test_every_task_can_be_queued_with_its_time_limits():
    """Celery refuses, at `delay()`, a soft limit above the hard one; a task that only sets its hard
    limit below the global soft limit could never be queued."""
    for task in project_tasks():
        hard = task.time_limit or app.conf.task_time_limit
        soft = task.soft_time_limit or app.conf.task_soft_time_limit
        assert soft <= hard, task.name


def test_each_kind_of_work_has_its_own_queue_and_a_plain_worker_takes_them_all():
    def queue_of(name: str) -> str:
        return app.amqp.router.route({}, name)["queue"].name

    assert queue_of("media.tasks.process_image") == "images"
    assert queue_of("media.tasks.discard_variants") == "images"
    assert queue_of("social.tasks.fan_out_published") == "notifications"
    assert queue_of("social.tasks.push_notifications") == "notifications"
    assert queue_of("accounts.tasks.send_email") == "email"
    assert queue_of("workbooks.tasks.flush_views") == "default"
    assert queue_of("media.tasks.resume_stuck_images") == "default"
    assert {queue.name for queue in app.conf.task_queues} == {
        "default", "images", "notifications", "email",
    }  # fmt: skip


def test_the_sweeps_run_on_the_beat_schedule():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"media.tasks.resume_stuck_images", "social.tasks.resume_fan_outs"} <= scheduled
    assert set(scheduled) <= {task.name for task in project_tasks()}


# --- Retries on database errors --------------------------------------------------------------------


@pytest.fixture
def author_with_followers(db):
    author = UserFactory(username="author")
    followers = [UserFactory(username=f"follower{n}") for n in range(3)]
    for follower in followers:
        social_services.follow(follower, author)
    Follow.objects.update(created_at=timezone.now() - timedelta(hours=1))
    return author, followers


def published_notifications(workbook: Workbook) -> list[int]:
    return sorted(
        Notification.objects.filter(verb=Verb.PUBLISHED, workbook=workbook).values_list(
            "recipient_id", flat=True
        )
    )


def test_a_fan_out_that_meets_a_database_error_is_retried_and_tells_every_follower(
    author_with_followers, monkeypatch
):
    author, followers = author_with_followers
    workbook = WorkbookFactory(author=author)  # its fan-out waits for a commit that never comes
    real = social_services.fan_out_published
    calls = []

    def restarted_database_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")
        return real(*args, **kwargs)

    monkeypatch.setattr(social_services, "fan_out_published", restarted_database_once)

    # Run as a worker would (apply: a retry runs again at once, in the test).
    social_tasks.fan_out_published.apply(args=[workbook.pk], throw=False)

    assert len(calls) == 2
    assert published_notifications(workbook) == sorted(f.pk for f in followers)


# --- The fan-out sweep -----------------------------------------------------------------------------


def published_minutes_ago(workbook: Workbook, minutes: int) -> None:
    Workbook.objects.filter(pk=workbook.pk).update(
        published_at=timezone.now() - timedelta(minutes=minutes)
    )


def test_the_sweep_finishes_a_fan_out_that_stopped_after_its_first_batch(
    author_with_followers, monkeypatch
):
    author, followers = author_with_followers
    workbook = WorkbookFactory(author=author)
    published_minutes_ago(workbook, 20)
    monkeypatch.setattr(social_services, "FAN_OUT_BATCH", 1)
    social_services.fan_out_published(workbook.pk)  # the first batch; the next message was lost
    assert len(published_notifications(workbook)) == 1

    assert social_tasks.resume_fan_outs() == 1

    assert published_notifications(workbook) == sorted(f.pk for f in followers)
    assert social_tasks.resume_fan_outs() == 0  # nothing left, and nobody told twice
    assert published_notifications(workbook) == sorted(f.pk for f in followers)


def test_the_sweep_leaves_fan_outs_that_may_still_be_running_and_followers_who_do_not_count(
    author_with_followers,
):
    author, followers = author_with_followers
    recent = WorkbookFactory(author=author)
    published_minutes_ago(recent, 5)  # its fan-out may still be queued
    finished = WorkbookFactory(author=author)
    published_minutes_ago(finished, 20)
    social_services.fan_out_published(finished.pk)
    social_services.set_muted_verbs(followers[0], [Verb.PUBLISHED])
    social_services.follow(UserFactory(username="latecomer"), author)  # after publication

    assert social_tasks.resume_fan_outs() == 0


# --- The image sweep -------------------------------------------------------------------------------


def uploaded_minutes_ago(owner, minutes: int) -> Image:
    image = media_services.accept_upload(
        owner=owner, kind=Image.Kind.AVATAR, file=images.upload(images.jpeg())
    )  # queued on a commit that never comes: the job is lost
    Image.objects.filter(pk=image.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))
    return image


def test_the_sweep_processes_an_image_whose_job_was_lost_and_fails_one_waiting_for_an_hour(user):
    lost = uploaded_minutes_ago(user, 20)
    abandoned = uploaded_minutes_ago(user, 90)
    queued = uploaded_minutes_ago(user, 2)  # its job may still be on its way

    assert media_tasks.resume_stuck_images() == {"requeued": 1, "failed": 1}

    statuses = dict(Image.objects.values_list("pk", "status"))
    assert statuses[lost.pk] == Image.Status.READY
    assert statuses[abandoned.pk] == Image.Status.FAILED
    assert Image.objects.get(pk=abandoned.pk).error
    assert statuses[queued.pk] == Image.Status.PROCESSING
    assert media_tasks.resume_stuck_images() == {"requeued": 0, "failed": 0}


def test_a_picture_started_again_and_again_without_finishing_is_failed(user):
    image = uploaded_minutes_ago(user, 1)
    for _ in range(media_tasks.MAX_STARTS):  # each start killed its process before it finished
        media_tasks._count_start(str(image.pk))

    media_tasks.process_image.delay(str(image.pk))

    image.refresh_from_db()
    assert image.status == Image.Status.FAILED
    assert image.error
