"""Done when: a member's emails are delivered through a real SMTP server (tests/smtp.py) and read
as a mail client reads them (the text and HTML parts, the headers), and their links work when
followed: the verification link verifies, the comment email's link opens the workbook, the digest's
link opens what was published, and the unsubscribe link unsubscribes, with no sign-in."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from social import email_selectors, emails, services, tasks
from social.models import EmailPreference
from tests.smtp import smtp_mailbox_fixture  # noqa: F401
from tests.social.email_helpers import published_last_week

pytestmark = pytest.mark.django_db

ONE_CLICK = "List-Unsubscribe=One-Click"


def path_of(url: str) -> str:
    """A link of the email, as the test client follows it (SITE_URL is the test server's)."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "http://testserver", url
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_a_member_reads_every_email_from_the_smtp_server_and_follows_its_links(
    client, smtp_mailbox, owner, workbook, django_capture_on_commit_callbacks
):
    # Signing up: the verification email, its link followed signed out.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("accounts:signup"),
            {
                "username": "grace",
                "email": "grace@example.com",
                "password1": "a long enough passphrase",
                "password2": "a long enough passphrase",
            },
        )
    (verify,) = smtp_mailbox.to("grace@example.com")
    assert "Verify your email address" in verify["Subject"]
    link = next(url for url in smtp_mailbox.links(verify) if "/accounts/verify/" in url)
    assert Client().get(path_of(link)).status_code == 200
    grace = User.objects.get(username="grace")
    assert grace.email_verified

    # Grace comments on the owner's workbook and follows them: one email for the burst. Tasks run
    # in the test's process, so the burst's one task runs once committed (a worker would run it
    # EMAIL_BATCH_SECONDS later).
    with django_capture_on_commit_callbacks(execute=True):
        services.add_comment(grace, workbook, "The regional split is great & clear.")
        services.follow(grace, owner)
    (comment_email,) = smtp_mailbox.to(owner.email)
    assert comment_email["Subject"] == "1 new comment and 1 new follower"
    assert comment_email["List-Unsubscribe-Post"] == ONE_CLICK
    text, html = smtp_mailbox.text(comment_email), smtp_mailbox.html(comment_email)
    assert "The regional split is great & clear." in text
    assert "The regional split is great &amp; clear." in html
    assert 'href="http://testserver/' in html
    workbook_link = next(url for url in smtp_mailbox.links(comment_email) if "#comment-" in url)
    opened = client.get(path_of(workbook_link))
    assert opened.status_code == 200
    assert "The regional split is great &amp; clear." in opened.content.decode()

    # Monday: Grace's digest of what the people she follows published the week before.
    published_last_week(owner, "Quarterly churn")
    tasks.send_weekly_digests()
    (digest,) = smtp_mailbox.to("grace@example.com")[1:]
    # (Django folds a long non-ASCII subject onto the next line: the parsed header starts with a
    # space that mail clients do not show.)
    assert (
        digest["Subject"].strip() == "New this week from the people you follow: “Quarterly churn”"
    )
    assert "Quarterly churn" in smtp_mailbox.html(digest)
    digest_link = next(url for url in smtp_mailbox.links(digest) if "/w/" in url)
    assert "Quarterly churn" in Client().get(path_of(digest_link)).content.decode()

    # The digest's unsubscribe link, signed out: GET asks, the mail client's one-click POST does it.
    unsubscribe = digest["List-Unsubscribe"].strip().strip("<>")
    assert unsubscribe in smtp_mailbox.links(digest)
    anyone = Client(enforce_csrf_checks=True)
    assert "Unsubscribe?" in anyone.get(path_of(unsubscribe)).content.decode()
    assert EmailPreference.objects.filter(user=grace, digest=False).count() == 0
    response = anyone.post(
        path_of(unsubscribe), ONE_CLICK, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert EmailPreference.objects.get(user=grace).digest is False

    # Unsubscribed: next week's digest does not come.
    next_week = email_selectors.week_of(timezone.now()) + timezone.timedelta(days=7)
    published_last_week(owner, "Next week's workbook", week=next_week)
    emails.send_digests(next_week)
    assert len(smtp_mailbox.to("grace@example.com")) == 2
