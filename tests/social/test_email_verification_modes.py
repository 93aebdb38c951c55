"""Email members want, under each EMAIL_VERIFICATION mode: with "none" no address is ever verified,
so the chosen emails go to any member's address; with "optional" and "mandatory" they go only to a
verified one, and the Settings page's Email section says so (with a way to get a new link)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from social import email_selectors, emails, services, tasks
from tests.factories import UserFactory
from tests.social.email_helpers import (  # noqa: F401
    follower_of,
    published_last_week,
    queued_fixture,
    sent_to,
)

pytestmark = pytest.mark.django_db

RESEND = reverse("accounts:verify-email-resend")


@pytest.fixture
def unverified_owner(owner, workbook):
    """The owner of `workbook`, published before their address was unverified."""
    type(owner).objects.filter(pk=owner.pk).update(email_verified=False)
    owner.refresh_from_db()
    return owner


@pytest.mark.parametrize(("mode", "sent"), [("none", 1), ("optional", 0), ("mandatory", 0)])
def test_an_unverified_members_instant_email_goes_only_with_verification_none(
    settings, unverified_owner, workbook, queued, mode, sent
):
    settings.EMAIL_VERIFICATION = mode
    services.add_comment(UserFactory(username="reader"), workbook, "Nice work")
    assert emails.send_instant(unverified_owner.pk) is bool(sent)
    assert len(sent_to(unverified_owner.email)) == sent
    assert [user for user, _ in queued] == [unverified_owner.pk] * sent


@pytest.mark.parametrize("mode", ["none", "optional", "mandatory"])
def test_a_verified_member_gets_instant_email_in_every_mode(
    settings, owner, workbook, queued, mode
):
    settings.EMAIL_VERIFICATION = mode
    services.add_comment(UserFactory(username="reader"), workbook, "Nice work")
    assert emails.send_instant(owner.pk) is True
    assert len(sent_to(owner.email)) == 1


@pytest.mark.parametrize(("mode", "sent"), [("none", 1), ("optional", 0), ("mandatory", 0)])
def test_an_unverified_members_digest_goes_only_with_verification_none(settings, mode, sent):
    settings.EMAIL_VERIFICATION = mode
    author = UserFactory(username="ada")
    reader = follower_of(author, username="reader", email_verified=False)
    verified = follower_of(author, username="verified")
    published_last_week(author, "Revenue by region")
    tasks.send_weekly_digests()
    assert len(sent_to(reader.email)) == sent
    assert len(sent_to(verified.email)) == 1


@pytest.mark.parametrize("mode", ["none", "optional", "mandatory"])
def test_the_digests_recipients_are_one_query_in_every_mode(
    settings, mode, django_assert_num_queries
):
    settings.EMAIL_VERIFICATION = mode
    author = UserFactory(username="ada")
    for n in range(3):
        follower_of(author, username=f"reader{n}", email_verified=bool(n % 2))
    week = email_selectors.week_of(published_last_week(author, "Churn").published_at)
    with django_assert_num_queries(1):
        members = email_selectors.digest_recipients(week, 0, 10)
    assert len(members) == (3 if mode == "none" else 1)


def test_no_mode_emails_a_suspended_or_addressless_member(settings, unverified_owner):
    settings.EMAIL_VERIFICATION = "none"
    assert email_selectors.can_email(unverified_owner)
    unverified_owner.email = ""
    assert not email_selectors.can_email(unverified_owner)
    assert not email_selectors.emailable_members().filter(email="").exists()


def settings_page(client, user) -> str:
    """The Settings page's Email section."""
    client.force_login(user)
    page = client.get(reverse("accounts:settings")).content.decode()
    start = page.index('<section class="card" id="email"')
    return page[start : page.index("</section>", start)]


def test_with_verification_none_the_section_asks_nobody_to_verify(
    client, settings, unverified_owner
):
    settings.EMAIL_VERIFICATION = "none"
    page = settings_page(client, unverified_owner)
    assert "Email me soon after" in page
    assert "verified address" not in page
    assert RESEND not in page  # no link is ever sent: nothing to ask for


def test_with_verification_optional_the_section_says_emails_still_wait(
    client, settings, unverified_owner
):
    settings.EMAIL_VERIFICATION = "optional"
    page = settings_page(client, unverified_owner)
    assert "Publishing and commenting do not wait for a verified address, but these emails do" in (
        page
    )
    assert f'action="{RESEND}"' in page


def test_with_verification_mandatory_the_section_asks_to_verify(client, settings, unverified_owner):
    settings.EMAIL_VERIFICATION = "mandatory"
    page = settings_page(client, unverified_owner)
    assert "We email only a verified address." in page
    assert "Publishing and commenting do not wait" not in page
    assert f'action="{RESEND}"' in page


@pytest.mark.parametrize("mode", ["none", "optional", "mandatory"])
def test_a_verified_member_is_asked_nothing(client, settings, owner, mode):
    settings.EMAIL_VERIFICATION = mode
    page = settings_page(client, owner)
    assert "verified address" not in page
