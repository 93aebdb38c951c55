"""What the email tests share: the delayed tasks the services queue, recorded instead of sent, and
the members and workbooks a burst or a digest needs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail as outbox
from django.utils import timezone

from sigma_playground import jobs
from social import email_selectors
from social.models import Follow
from tests.factories import UserFactory, WorkbookFactory

INSTANT_TASK = "social.tasks.send_instant_email"


@pytest.fixture(name="queued")
def queued_fixture(monkeypatch):
    """The instant-email tasks the services queue, as (user id, countdown), recorded instead of
    run: the test runs them when it wants (a worker would, EMAIL_BATCH_SECONDS later). Recorded
    when named, as the test's transaction never commits; other tasks are left as they are."""
    calls: list[tuple[int, float | None]] = []
    later = jobs.later

    def record(task, *args, countdown=None, **options):
        if task == INSTANT_TASK:
            calls.append((args[0], countdown))
        else:
            later(task, *args, countdown=countdown, **options)

    monkeypatch.setattr(jobs, "later", record)
    return calls


def sent_to(address: str) -> list:
    return [message for message in outbox.outbox if address in message.to]


def published_last_week(author, title: str, *, week=None):
    """A workbook of `author` published inside the window of `week`'s digest (this week's by
    default)."""
    week = week or email_selectors.week_of(timezone.now())
    start, _ = email_selectors.digest_window(week)
    workbook = WorkbookFactory(author=author, title=title)
    type(workbook).objects.filter(pk=workbook.pk).update(published_at=start + timedelta(days=2))
    workbook.refresh_from_db()
    return workbook


def follower_of(author, **kwargs):
    member = UserFactory(**kwargs)
    Follow.objects.create(follower=member, followee=author)
    return member
