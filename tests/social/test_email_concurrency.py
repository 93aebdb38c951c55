"""The members' emails when their jobs race (PostgreSQL, where transactions run side by side): two
runs of a burst's task, or two digest jobs, at the same moment still send each email once."""

from __future__ import annotations

import pytest
from django.core import mail as outbox
from django.utils import timezone

from social import email_selectors, emails, services
from social.models import DigestSent, EmailPreference
from tests.factories import UserFactory, WorkbookFactory
from tests.social.email_helpers import follower_of, published_last_week, queued_fixture  # noqa: F401
from tests.threads import in_parallel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_runs_of_a_bursts_task_at_once_send_one_email(queued):
    owner = UserFactory()
    workbook = WorkbookFactory(author=owner)
    for reader in UserFactory.create_batch(3):
        services.add_comment(reader, workbook, f"From {reader.username}")
    assert len(queued) == 1

    results = in_parallel([lambda: emails.send_instant(owner.pk)] * 4)

    assert sorted(results, key=str) == [False, False, False, True]
    (message,) = outbox.outbox
    assert message.subject == "3 new comments"
    preference = EmailPreference.objects.get(user=owner)
    assert preference.email_due_at is None


def test_two_digest_jobs_at_once_send_each_member_one_digest():
    author = UserFactory()
    readers = [follower_of(author) for _ in range(6)]
    published_last_week(author, "Revenue by region")
    week = email_selectors.week_of(timezone.now())

    results = in_parallel([lambda: emails.send_digests(week)] * 3)

    assert results == [None, None, None]
    assert sorted(message.to[0] for message in outbox.outbox) == sorted(r.email for r in readers)
    assert DigestSent.objects.filter(week=week).count() == len(readers)
