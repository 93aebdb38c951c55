"""Instant emails: one burst of activity is one email, sent EMAIL_BATCH_SECONDS after it began, of
the kinds the member wants, to a verified address only; the task is idempotent and a lost message
is found again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail as outbox
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sigma_playground.models import Moderation
from social import emails, services, tasks
from social.models import Comment, EmailPreference, Notification, Verb
from tests.factories import UserFactory
from tests.social.email_helpers import queued_fixture, sent_to  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def commenters(db):
    return [UserFactory(username=f"reader{n}", full_name=f"Reader {n}") for n in range(3)]


def test_a_burst_of_comments_and_follows_is_one_task_and_one_email(
    owner, workbook, commenters, queued, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BATCH_SECONDS = 120
    with django_capture_on_commit_callbacks(execute=True):
        for n, reader in enumerate(commenters):
            services.add_comment(reader, workbook, f"Comment number {n} & more")
            services.follow(reader, owner)
    assert queued == [(owner.pk, 120)]  # one delayed task for the burst
    preference = EmailPreference.objects.get(user=owner)
    assert preference.email_due_at is not None

    assert emails.send_instant(owner.pk) is True

    (message,) = outbox.outbox
    assert message.to == [owner.email]
    assert message.subject == "3 new comments and 3 new followers"
    assert "Comment number 0 & more" in message.body  # the text part is not HTML-escaped
    html = message.alternatives[0][0]
    assert "Comment number 2 &amp; more" in html
    assert f"{workbook.get_absolute_url()}#comment-" in message.body
    for reader in commenters:
        assert reverse("workbooks:author", args=[reader.username]) in message.body
    preference.refresh_from_db()
    assert preference.email_due_at is None  # the burst is over
    assert (
        preference.last_emailed_id == Notification.objects.filter(recipient=owner).latest("pk").pk
    )


def test_one_notification_says_what_happened_in_the_subject(owner, workbook, commenters, queued):
    services.add_comment(commenters[0], workbook, "Lovely")
    emails.send_instant(owner.pk)
    (message,) = outbox.outbox
    assert message.subject == f"@reader0 commented on “{workbook.title}”"


def test_a_second_run_of_the_task_sends_nothing(owner, workbook, commenters, queued):
    services.add_comment(commenters[0], workbook, "Once")
    assert emails.send_instant(owner.pk) is True
    assert emails.send_instant(owner.pk) is False
    tasks.send_instant_email(owner.pk)
    assert len(outbox.outbox) == 1


def test_the_next_burst_is_another_email_with_only_what_is_new(owner, workbook, commenters, queued):
    services.add_comment(commenters[0], workbook, "First burst")
    emails.send_instant(owner.pk)
    services.add_comment(commenters[1], workbook, "Second burst")
    assert [user for user, _ in queued] == [owner.pk, owner.pk]
    emails.send_instant(owner.pk)
    first, second = outbox.outbox
    assert "First burst" in first.body
    assert "Second burst" in second.body
    assert "First burst" not in second.body


def test_kinds_not_sent_by_email_schedule_nothing(owner, workbook, commenters, queued):
    services.favorite(commenters[0], workbook)  # favorites are never emailed
    assert queued == []
    assert not EmailPreference.objects.filter(user=owner, email_due_at__isnull=False).exists()


def test_a_kind_the_member_turned_off_is_not_emailed(owner, workbook, commenters, queued):
    EmailPreference.objects.create(user=owner, comments=False)
    services.add_comment(commenters[0], workbook, "Not wanted")
    assert queued == []
    services.follow(commenters[0], owner)  # still wanted
    emails.send_instant(owner.pk)
    (message,) = outbox.outbox
    assert "Not wanted" not in message.body
    assert message.subject == "@reader0 followed you"


def test_a_kind_turned_off_during_the_burst_is_left_out(owner, workbook, commenters, queued):
    services.add_comment(commenters[0], workbook, "Before the change")
    EmailPreference.objects.filter(user=owner).update(comments=False)
    assert emails.send_instant(owner.pk) is False
    assert outbox.outbox == []
    assert EmailPreference.objects.get(user=owner).email_due_at is None


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"email_verified": False}, id="unverified"),
        pytest.param({"is_active": False}, id="inactive"),
        pytest.param({"suspended_until": timedelta(days=3)}, id="suspended"),
    ],
)
def test_nothing_goes_to_an_unverified_inactive_or_suspended_member(
    owner, workbook, commenters, queued, change
):
    fields = {
        key: timezone.now() + value if isinstance(value, timedelta) else value
        for key, value in change.items()
    }
    type(owner).objects.filter(pk=owner.pk).update(**fields)
    services.add_comment(commenters[0], workbook, "Hello?")
    assert queued == []
    assert emails.send_instant(owner.pk) is False
    assert outbox.outbox == []


def test_a_member_unverified_during_the_burst_gets_nothing(owner, workbook, commenters, queued):
    services.add_comment(commenters[0], workbook, "Hello")
    type(owner).objects.filter(pk=owner.pk).update(email_verified=False)
    assert emails.send_instant(owner.pk) is False
    assert outbox.outbox == []


def test_notifications_read_before_the_email_are_left_out(owner, workbook, commenters, queued):
    services.add_comment(commenters[0], workbook, "Seen on the site")
    services.mark_read(owner)
    assert emails.send_instant(owner.pk) is False
    assert outbox.outbox == []


def test_a_hidden_comment_is_not_emailed(owner, workbook, commenters, queued):
    comment = services.add_comment(commenters[0], workbook, "Spam spam spam")
    Comment.objects.filter(pk=comment.pk).update(moderation=Moderation.HIDDEN)
    services.add_comment(commenters[1], workbook, "A real comment")
    emails.send_instant(owner.pk)
    (message,) = outbox.outbox
    assert "A real comment" in message.body
    assert "Spam" not in message.body


def test_a_burst_begins_with_its_first_notification_not_older_unread_ones(
    owner, workbook, commenters, queued
):
    # Unread from before the member could be emailed: not news for an email now.
    type(owner).objects.filter(pk=owner.pk).update(email_verified=False)
    services.add_comment(commenters[0], workbook, "From before")
    type(owner).objects.filter(pk=owner.pk).update(email_verified=True)
    services.add_comment(commenters[1], workbook, "From now")
    emails.send_instant(owner.pk)
    (message,) = outbox.outbox
    assert "From now" in message.body
    assert "From before" not in message.body


def test_a_notification_arriving_as_the_email_goes_starts_the_next_burst(
    owner, workbook, commenters, queued, monkeypatch
):
    services.add_comment(commenters[0], workbook, "In the first email")
    end = services.end_email_burst

    def a_comment_meanwhile(user_id, due):
        # After the email's transaction, before the burst ends: notify sees the burst under way.
        services.add_comment(commenters[1], workbook, "Arrived while sending")
        return end(user_id, due)

    monkeypatch.setattr(services, "end_email_burst", a_comment_meanwhile)
    emails.send_instant(owner.pk)
    monkeypatch.setattr(services, "end_email_burst", end)
    assert [user for user, _ in queued] == [owner.pk, owner.pk]  # the next burst's task
    emails.send_instant(owner.pk)
    first, second = outbox.outbox
    assert "Arrived while sending" not in first.body
    assert "Arrived while sending" in second.body


def test_an_email_that_could_not_be_sent_is_sent_by_the_retry(
    owner, workbook, commenters, queued, monkeypatch
):
    services.add_comment(commenters[0], workbook, "Keep trying")
    before = EmailPreference.objects.get(user=owner)

    def smtp_down(self, *args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", smtp_down)
    with pytest.raises(ConnectionRefusedError):
        emails.send_instant(owner.pk)
    after = EmailPreference.objects.get(user=owner)
    assert (after.last_emailed_id, after.email_due_at) == (
        before.last_emailed_id,
        before.email_due_at,
    )

    monkeypatch.undo()
    assert emails.send_instant(owner.pk) is True
    assert len(outbox.outbox) == 1


def test_the_sweep_queues_a_burst_whose_message_was_lost(owner, workbook, commenters, queued):
    services.add_comment(commenters[0], workbook, "Lost message")
    EmailPreference.objects.filter(user=owner).update(
        email_due_at=timezone.now() - tasks.INSTANT_EMAIL_STALE_AFTER - timedelta(minutes=1)
    )
    assert tasks.resume_instant_emails() == 1  # tasks run in the test's process
    (message,) = sent_to(owner.email)
    assert "Lost message" in message.body
    assert tasks.resume_instant_emails() == 0


def test_a_burst_not_yet_overdue_is_left_to_its_task(owner, workbook, commenters, queued):
    services.add_comment(commenters[0], workbook, "On its way")
    assert tasks.resume_instant_emails() == 0
    assert outbox.outbox == []


def test_the_instant_email_task_runs_on_the_email_queue(settings):
    assert settings.CELERY_TASK_ROUTES["social.tasks.send_instant_email"] == {"queue": "email"}
    assert "social.tasks.resume_instant_emails" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }


def test_an_email_costs_the_same_queries_for_2_and_for_12_notifications(owner, workbook, queued):
    def burst(size: int) -> int:
        readers = UserFactory.create_batch(size)
        for reader in readers:
            services.notify(owner, reader, Verb.FOLLOWED)
        with CaptureQueriesContext(connection) as captured:
            assert emails.send_instant(owner.pk)
        return len(captured)

    assert burst(2) == burst(12)
    assert len(outbox.outbox) == 2


def test_notify_adds_one_query_to_a_burst_under_way(owner, queued, django_assert_max_num_queries):
    readers = UserFactory.create_batch(3)
    services.notify(owner, readers[0], Verb.FOLLOWED)  # starts the burst
    with CaptureQueriesContext(connection) as without_email:
        services.notify(owner, readers[1], Verb.FAVORITED)  # never emailed
    with CaptureQueriesContext(connection) as during_burst:
        services.notify(owner, readers[2], Verb.FOLLOWED)
    assert len(during_burst) == len(without_email) + 1


def test_a_featured_workbook_is_emailed(owner, workbook, curator, queued):
    services.record_featured(workbook, curator)
    emails.send_instant(owner.pk)
    (message,) = outbox.outbox
    assert message.subject == f"Your workbook “{workbook.title}” is featured"
    assert workbook.get_absolute_url() in message.body


def test_many_notifications_show_the_newest_and_link_to_the_rest(owner, queued):
    readers = UserFactory.create_batch(emails.INSTANT_MAX_ITEMS + 2)
    for reader in readers:
        services.notify(owner, reader, Verb.FOLLOWED)
    emails.send_instant(owner.pk)
    (message,) = outbox.outbox
    assert "/notifications/" in message.body
    assert readers[-1].username in message.body
    assert readers[0].username not in message.body
    # All of them were told of: the next email starts after the newest.
    assert EmailPreference.objects.get(user=owner).last_emailed_id == (
        Notification.objects.filter(recipient=owner).latest("pk").pk
    )
