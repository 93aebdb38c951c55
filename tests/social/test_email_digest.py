"""The weekly digest: what the people a member follows published in the week before, once per
member and week however often the job runs, never empty, in batches of members, at a flat number
of queries per member."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail as outbox
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from social import email_selectors, emails, tasks
from social.models import DigestSent, EmailPreference, Follow
from tests.factories import UserFactory, WorkbookFactory
from tests.social.email_helpers import follower_of, published_last_week, sent_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def week():
    return email_selectors.week_of(timezone.now())


@pytest.fixture
def author(db):
    return UserFactory(username="ada", full_name="Ada Lovelace")


def test_a_member_gets_what_the_people_they_follow_published_last_week(author, week):
    reader = follower_of(author, username="reader")
    published_last_week(author, "Revenue by region")
    published_last_week(author, "Churn cohorts")
    WorkbookFactory(author=author, title="Published this week")  # the next digest's
    WorkbookFactory(author=UserFactory(), title="Someone not followed")  # not theirs
    draft = published_last_week(author, "Still a draft")
    type(draft).objects.filter(pk=draft.pk).update(status="draft")

    tasks.send_weekly_digests()

    (message,) = outbox.outbox
    assert message.to == [reader.email]
    assert message.subject == "2 new workbooks from the people you follow"
    for title in ("Revenue by region", "Churn cohorts"):
        assert title in message.body
    for title in ("Published this week", "Someone not followed", "Still a draft"):
        assert title not in message.body
    assert "Ada Lovelace" in message.alternatives[0][0]
    assert DigestSent.objects.filter(user=reader, week=week).count() == 1


def test_running_the_job_twice_in_a_week_sends_one_digest(author, week):
    follower_of(author)
    published_last_week(author, "Revenue by region")
    tasks.send_weekly_digests()
    tasks.send_weekly_digests(week.isoformat())
    assert emails.send_digests(week) is None
    assert len(outbox.outbox) == 1


def test_next_week_is_another_digest(author, week):
    reader = follower_of(author)
    published_last_week(author, "This week's")
    emails.send_digests(week)
    next_week = week + timedelta(days=7)
    published_last_week(author, "Next week's", week=next_week)
    emails.send_digests(next_week)
    _first, second = sent_to(reader.email)
    assert "Next week's" in second.body
    assert "This week's" not in second.body


def test_a_member_with_nothing_new_gets_no_digest(author, week):
    reader = follower_of(author)
    WorkbookFactory(author=author, title="Published this week")
    assert emails.send_digests(week) is None
    assert outbox.outbox == []
    assert not DigestSent.objects.filter(user=reader).exists()


@pytest.mark.parametrize(
    "member",
    [
        pytest.param({"email_verified": False}, id="unverified"),
        pytest.param({"is_active": False}, id="inactive"),
        pytest.param({"email": ""}, id="no address"),
    ],
)
def test_no_digest_to_an_unverified_inactive_or_addressless_member(author, week, member):
    follower_of(author, **member)
    published_last_week(author, "Revenue by region")
    emails.send_digests(week)
    assert outbox.outbox == []


def test_no_digest_to_a_suspended_member(author, week):
    follower_of(author, suspended_until=timezone.now() + timedelta(days=2))
    published_last_week(author, "Revenue by region")
    emails.send_digests(week)
    assert outbox.outbox == []


def test_no_digest_for_a_member_who_turned_it_off(author, week):
    reader = follower_of(author)
    other = follower_of(author)
    EmailPreference.objects.create(user=reader, digest=False)
    EmailPreference.objects.create(user=other, comments=False)  # the digest still on
    published_last_week(author, "Revenue by region")
    emails.send_digests(week)
    assert [message.to for message in outbox.outbox] == [[other.email]]


def test_members_are_read_in_batches_and_the_job_goes_on_from_where_it_stopped(
    author, week, monkeypatch
):
    monkeypatch.setattr(emails, "DIGEST_BATCH", 2)
    monkeypatch.setattr(tasks, "DIGEST_BATCHES_PER_TASK", 1)
    readers = [follower_of(author) for _ in range(5)]
    published_last_week(author, "Revenue by region")
    assert emails.send_digests(week, batches=1) == readers[1].pk
    assert len(outbox.outbox) == 2
    tasks.send_weekly_digests(week.isoformat(), readers[1].pk)  # chains the rest, eagerly
    assert sorted(message.to[0] for message in outbox.outbox) == sorted(r.email for r in readers)


def test_a_digest_the_mail_server_refuses_is_sent_at_the_next_run(author, week, monkeypatch):
    reader = follower_of(author)
    published_last_week(author, "Revenue by region")

    def smtp_down(self, *args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", smtp_down)
    with pytest.raises(ConnectionRefusedError):
        emails.send_digests(week)
    assert not DigestSent.objects.filter(user=reader).exists()
    monkeypatch.undo()
    emails.send_digests(week)
    assert len(outbox.outbox) == 1


def test_a_long_week_shows_the_newest_and_links_to_the_feed(author, week):
    follower_of(author)
    for n in range(emails.DIGEST_MAX_ITEMS + 1):
        published_last_week(author, f"Workbook {n:02}")
    emails.send_digests(week)
    (message,) = outbox.outbox
    assert "/feed/" in message.body
    assert message.subject == f"{emails.DIGEST_MAX_ITEMS}+ new workbooks from the people you follow"


def test_the_digest_job_costs_the_same_queries_per_member_as_members_grow(author, week):
    published_last_week(author, "Revenue by region")
    another = UserFactory()
    published_last_week(another, "Churn cohorts")

    readers: list = []

    def run(members: int) -> int:
        DigestSent.objects.all().delete()
        while len(readers) < members:
            readers.append(follower_of(author))
            Follow.objects.create(follower=readers[-1], followee=another)
        with CaptureQueriesContext(connection) as captured:
            emails.send_digests(week)
        return len(captured)

    two, four, eight = run(2), run(4), run(8)
    per_member = (four - two) // 2
    assert per_member <= 4  # their workbooks; the DigestSent row (in a savepoint here)
    assert eight == two + 6 * per_member
    assert len(outbox.outbox) == 2 + 4 + 8


def test_the_digest_is_a_weekly_beat_job_on_the_email_queue(settings):
    (entry,) = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "social.tasks.send_weekly_digests"
    ]
    assert entry["schedule"].day_of_week == {1}  # Monday
    assert settings.CELERY_TASK_ROUTES["social.tasks.send_weekly_digests"] == {"queue": "email"}


def test_a_week_is_its_monday_and_the_window_the_seven_days_before(week):
    assert week.weekday() == 0
    start, end = email_selectors.digest_window(week)
    assert (end - start, end.date()) == (timedelta(days=7), week)
