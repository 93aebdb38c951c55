"""Unsubscribing: a signed link per member and kind that needs no sign-in; GET asks to confirm,
POST (the button, or a mail client's one-click per RFC 8058, with no CSRF token) unsubscribes; a
link we did not make is a 400. Every email carries List-Unsubscribe and List-Unsubscribe-Post."""

from __future__ import annotations

import pytest
from django.core import mail as outbox
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from social import email_selectors, emails, services
from social.models import EmailPreference
from tests.factories import UserFactory
from tests.social.email_helpers import (  # noqa: F401
    follower_of,
    published_last_week,
    queued_fixture,
)

pytestmark = pytest.mark.django_db

ONE_CLICK = "List-Unsubscribe=One-Click"


def link(user, kind: str) -> str:
    return reverse("social:unsubscribe", args=[emails.unsubscribe_token(user.pk, kind)])


def choices(user) -> dict[str, bool]:
    preference = EmailPreference.objects.filter(user=user).first() or EmailPreference()
    return {kind: getattr(preference, kind) for kind in EmailPreference.KINDS}


def test_get_asks_to_confirm_and_changes_nothing(client, owner):
    response = client.get(link(owner, "comments"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Unsubscribe?" in page
    assert "emails about comments on your workbooks" in page
    assert '<form method="post">' in page
    assert not EmailPreference.objects.filter(user=owner).exists()


def test_the_button_unsubscribes_without_signing_in(owner):
    client = Client(enforce_csrf_checks=True)
    response = client.post(link(owner, "comments"))
    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert choices(owner) == {
        "comments": False,
        "followers": True,
        "featured": True,
        "digest": True,
    }


def test_one_click_post_from_a_mail_client_answers_200_without_a_csrf_token(owner):
    client = Client(enforce_csrf_checks=True)
    url = link(owner, "digest")
    response = client.post(url, ONE_CLICK, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert choices(owner)["digest"] is False
    # Twice is the same.
    assert (
        client.post(url, ONE_CLICK, content_type="application/x-www-form-urlencoded").status_code
        == 200
    )


@pytest.mark.parametrize(
    ("kind", "left_on"),
    [("instant", {"digest"}), ("all", set()), ("followers", {"comments", "featured", "digest"})],
)
def test_each_kind_turns_off_what_it_names(client, owner, kind, left_on):
    client.post(link(owner, kind))
    assert {name for name, on in choices(owner).items() if on} == left_on


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("not-a-token", id="garbage"),
        pytest.param(signing.dumps([1, "all"], salt="another.salt"), id="other salt"),
        pytest.param(signing.dumps([1, "everything"], salt="social.emails.unsubscribe"), id="kind"),
    ],
)
def test_a_link_we_did_not_make_is_a_400(client, owner, token):
    url = reverse("social:unsubscribe", args=[token])
    for response in (client.get(url), client.post(url, ONE_CLICK, content_type="text/plain")):
        assert response.status_code == 400
        assert "This unsubscribe link is not valid" in response.content.decode()
    assert not EmailPreference.objects.filter(user=owner).exists()


def test_a_tampered_link_is_a_400(client, owner, other_user):
    # The outsider's payload under the owner's signature.
    payload = emails.unsubscribe_token(other_user.pk, "all").split(":", 1)[0]
    signature = emails.unsubscribe_token(owner.pk, "all").split(":", 1)[1]
    forged = f"{payload}:{signature}"
    assert client.post(reverse("social:unsubscribe", args=[forged])).status_code == 400
    assert not EmailPreference.objects.exists()


def test_a_deleted_members_link_is_a_400(client):
    gone = UserFactory()
    url = link(gone, "all")
    gone.delete()
    assert client.get(url).status_code == 400


def test_unsubscribing_is_rate_limited_per_member(owner, settings, fresh_minute):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "email": 2}
    client = Client()
    url = link(owner, "all")
    assert [client.post(url).status_code for _ in range(3)] == [200, 200, 429]


def test_an_instant_email_carries_one_click_unsubscribe_for_its_kind(
    client, owner, workbook, other_user, queued
):
    services.add_comment(other_user, workbook, "Nice")
    emails.send_instant(owner.pk)
    (message,) = outbox.outbox
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert message.extra_headers["List-Unsubscribe-Post"] == ONE_CLICK
    assert url.startswith("http://testserver/email/unsubscribe/")
    assert url in message.body
    assert url in message.alternatives[0][0]
    response = Client(enforce_csrf_checks=True).post(
        url, ONE_CLICK, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert choices(owner)["comments"] is False
    assert choices(owner)["followers"] is True


def test_an_email_of_several_kinds_unsubscribes_from_the_instant_ones(
    owner, workbook, other_user, queued
):
    services.add_comment(other_user, workbook, "Nice")
    services.follow(other_user, owner)
    emails.send_instant(owner.pk)
    (message,) = outbox.outbox
    Client().post(message.extra_headers["List-Unsubscribe"].strip("<>"))
    assert choices(owner) == {
        "comments": False,
        "followers": False,
        "featured": False,
        "digest": True,
    }


def test_the_digest_carries_one_click_unsubscribe_from_the_digest(owner):
    reader = follower_of(owner)
    published_last_week(owner, "Revenue by region")
    emails.send_digests(email_selectors.week_of(timezone.now()))
    (message,) = outbox.outbox
    assert message.extra_headers["List-Unsubscribe-Post"] == ONE_CLICK
    Client().post(message.extra_headers["List-Unsubscribe"].strip("<>"))
    assert choices(reader) == {
        "comments": True,
        "followers": True,
        "featured": True,
        "digest": False,
    }
