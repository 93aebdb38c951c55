"""What members write (display names, workbook titles, comment bodies) goes into emails as text,
never as mail headers: a subject names the actor by username (a display name is chosen freely and
could pose as the site), and a newline in any of it cannot add a recipient or a header, as the mail
server that receives the email shows."""

from __future__ import annotations

import pytest
from django.core import mail as outbox

from social import emails, services, tasks
from tests.factories import UserFactory
from tests.smtp import smtp_mailbox_fixture  # noqa: F401
from tests.social.email_helpers import follower_of, published_last_week, queued_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

INJECTION = "\r\nBcc: x@y\r\nX-Injected: yes"


def test_the_subject_names_the_actor_by_username_and_the_body_shows_both(owner, workbook, queued):
    poser = UserFactory(username="mallory", full_name="Sigma Playground <Security>")
    services.follow(poser, owner)
    emails.send_instant(owner.pk)
    (message,) = outbox.outbox
    assert message.subject == "@mallory followed you"
    assert "Sigma Playground <Security> (@mallory)" in message.body
    html = message.alternatives[0][0]
    assert "Sigma Playground &lt;Security&gt;" in html
    assert "<Security>" not in html


def test_a_comments_subject_names_the_commenter_by_username(owner, workbook, queued):
    poser = UserFactory(username="mallory", full_name="Your account is locked")
    services.add_comment(poser, workbook, "Click here")
    emails.send_instant(owner.pk)
    (message,) = outbox.outbox
    assert message.subject == f"@mallory commented on “{workbook.title}”"
    assert "Your account is locked (@mallory)" in message.body


def test_newlines_in_a_title_a_name_or_a_comment_add_no_header(
    owner, workbook, smtp_mailbox, queued
):
    type(workbook).objects.filter(pk=workbook.pk).update(title=f"Revenue{INJECTION}")
    workbook.refresh_from_db()
    writer = UserFactory(username="mallory")
    type(writer).objects.filter(pk=writer.pk).update(full_name=f"Mallory{INJECTION}")
    writer.refresh_from_db()
    services.add_comment(writer, workbook, f"Hello{INJECTION}")

    assert emails.send_instant(owner.pk) is True

    (message,) = smtp_mailbox.messages
    assert smtp_mailbox.recipients == [[owner.email]]
    assert message["Bcc"] is None
    assert message["X-Injected"] is None
    subject = message["Subject"]
    assert "\r" not in subject
    assert "\n" not in subject.strip()
    assert " ".join(subject.split()) == "@mallory commented on “Revenue Bcc: x@y X-Injected: yes”"


def test_a_newline_in_a_digest_title_adds_no_header(smtp_mailbox):
    author = UserFactory(username="ada")
    reader = follower_of(author, username="reader")
    published_last_week(author, f"Churn{INJECTION}")

    tasks.send_weekly_digests()

    (message,) = smtp_mailbox.messages
    assert smtp_mailbox.recipients == [[reader.email]]
    assert message["Bcc"] is None
    assert message["X-Injected"] is None
    assert "\r" not in message["Subject"]
    assert " ".join(message["Subject"].split()) == (
        "New this week from the people you follow: “Churn Bcc: x@y X-Injected: yes”"
    )
