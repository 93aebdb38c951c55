"""Changing the email address is a way to take the account (whoever has the address can reset the
password), so a new address needs what deleting the account needs: the password (or, without one,
a provider sign-in just now) and the second factor when it is on, throttled like sign-in. Once the
new address is confirmed the member's other sessions and API refresh tokens end and the old
address is told. Asking about taken addresses spends the hourly email budget."""

from __future__ import annotations

import time

import pyotp
import pytest
from django.core import mail
from django.test import Client
from pytest_django.asserts import assertContains
from social_django.models import UserSocialAuth

from accounts import providers, tokens, verification
from accounts.models import User
from tests.accounts.helpers import ME_URL, api_client_for, enable_mfa
from tests.factories import PASSWORD, UserFactory

# Emails are queued once the transaction commits: these tests commit.
pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/settings/email/"


def sent_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]


def assert_nothing_asked(user: User) -> None:
    user.refresh_from_db()
    assert (user.email, user.pending_email) == ("old@example.com", "")
    assert mail.outbox == []


@pytest.fixture
def member() -> User:
    return UserFactory(email="old@example.com", full_name="Before")


# --- The API ----------------------------------------------------------------------------------------


def test_the_api_refuses_a_new_address_without_the_password(member):
    api = api_client_for(member)

    missing = api.patch(ME_URL, {"email": "thief@example.com", "full_name": "After"}, format="json")
    wrong = api.patch(
        ME_URL, {"email": "thief@example.com", "password": "not it", "full_name": "After"}, "json"
    )

    assert missing.status_code == 400
    assert set(missing.json()) == {"password"}
    assert wrong.status_code == 400
    assert wrong.json() == {"password": ["That password is not right."]}
    assert_nothing_asked(member)
    assert member.full_name == "Before"  # one transaction: nothing of a refused PATCH is kept


def test_the_api_needs_the_second_factor_when_it_is_on(member):
    secret = enable_mfa(member)
    api = api_client_for(member)
    body = {"email": "new@example.com", "password": PASSWORD}

    missing = api.patch(ME_URL, body, format="json")
    wrong = api.patch(ME_URL, {**body, "otp": "000000"}, format="json")

    assert missing.status_code == 400
    assert set(missing.json()) == {"otp"}
    assert wrong.status_code == 400
    assert set(wrong.json()) == {"otp"}
    assert_nothing_asked(member)

    right = api.patch(ME_URL, {**body, "otp": pyotp.TOTP(secret).now()}, format="json")

    assert right.status_code == 200
    assert right.json()["pending_email"] == "new@example.com"


def test_wrong_passwords_are_throttled_like_sign_in(member, settings):
    settings.SIGNIN_MAX_FAILURES_PER_USERNAME = 2
    api = api_client_for(member)
    for _ in range(2):
        asked = {"email": "thief@example.com", "password": "guess"}
        assert api.patch(ME_URL, asked, format="json").status_code == 400

    refused = api.patch(ME_URL, {"email": "thief@example.com", "password": PASSWORD}, "json")

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert_nothing_asked(member)


def test_the_address_already_held_or_cancelling_a_waiting_one_needs_nothing(member):
    api = api_client_for(member)
    api.patch(ME_URL, {"email": "new@example.com", "password": PASSWORD}, format="json")

    again = api.patch(ME_URL, {"email": "OLD@example.com", "full_name": "Kept"}, format="json")

    assert again.status_code == 200
    assert again.json()["pending_email"] is None
    assert again.json()["full_name"] == "Kept"


def test_a_bearer_token_of_a_member_without_a_password_cannot_change_the_address():
    member = UserFactory(email="old@example.com")
    member.set_unusable_password()
    member.save()

    refused = api_client_for(member).patch(ME_URL, {"email": "thief@example.com"}, format="json")

    assert refused.status_code == 400
    assert set(refused.json()) == {"reauthenticate"}
    assert_nothing_asked(member)


# --- The page -----------------------------------------------------------------------------------------


def test_the_page_asks_for_the_password_and_refuses_a_wrong_one(client, member):
    client.force_login(member)
    assertContains(client.get("/settings/"), 'name="password"')

    missing = client.post(PAGE, {"email": "thief@example.com"})
    wrong = client.post(PAGE, {"email": "thief@example.com", "password": "not it"})

    assertContains(missing, "Enter your current password", status_code=400)
    assertContains(wrong, "That password is not right.", status_code=400)
    assert_nothing_asked(member)


def test_the_page_asks_for_the_code_when_two_factor_is_on(client, member):
    secret = enable_mfa(member)
    client.force_login(member)
    assertContains(client.get("/settings/"), 'name="otp"')

    refused = client.post(PAGE, {"email": "new@example.com", "password": PASSWORD})
    assertContains(refused, "Enter a code", status_code=400)
    assert_nothing_asked(member)

    done = client.post(
        PAGE, {"email": "new@example.com", "password": PASSWORD, "otp": pyotp.TOTP(secret).now()}
    )
    assert done.status_code == 302
    member.refresh_from_db()
    assert member.pending_email == "new@example.com"


def test_without_a_password_a_provider_sign_in_just_now_is_needed(client):
    member = UserFactory(email="old@example.com")
    member.set_unusable_password()
    member.save()
    client.force_login(member)

    refused = client.post(PAGE, {"email": "new@example.com"})

    assertContains(refused, "Sign in again with your provider", status_code=400)
    assert_nothing_asked(member)
    session = client.session
    session[providers.REAUTHENTICATED] = {"user_id": member.pk, "at": time.time()}
    session.save()
    assert client.post(PAGE, {"email": "new@example.com"}).status_code == 302
    member.refresh_from_db()
    assert member.pending_email == "new@example.com"


# --- Once the new address is confirmed ------------------------------------------------------------


class OtherSignIns:
    """The member's sign-ins elsewhere: another browser and an API login."""

    def __init__(self, user: User) -> None:
        self.browser = Client()
        self.browser.force_login(user)
        self.api = tokens.issue_tokens(user)

    def assert_ended(self) -> None:
        assert self.browser.get("/settings/").status_code == 302
        with pytest.raises(tokens.RefreshRejected):
            tokens.rotate(self.api.refresh)

    def assert_kept(self) -> None:
        assert self.browser.get("/settings/").status_code == 200
        assert tokens.rotate(self.api.refresh).refresh


def test_following_the_link_ends_the_other_sign_ins_and_tells_the_old_address(client, member):
    elsewhere = OtherSignIns(member)
    bystander = OtherSignIns(UserFactory())
    client.force_login(member)
    client.post(PAGE, {"email": "new@example.com", "password": PASSWORD})
    elsewhere.assert_kept()  # asking is not yet changing
    [link_mail] = sent_to("new@example.com")
    mail.outbox.clear()

    path = verification.link_path(User.objects.get(pk=member.pk))
    assert path in link_mail.body
    assertContains(client.get(path), "new@example.com")

    elsewhere.assert_ended()
    bystander.assert_kept()
    assert client.get("/settings/").status_code == 200  # the session that followed it stays
    [told] = sent_to("old@example.com")
    assert "was changed" in told.subject
    assert "n***@example.com" in told.body
    assert "signed out" in told.body


def test_a_link_followed_signed_out_ends_every_sign_in(member):
    elsewhere = OtherSignIns(member)
    verification.change_email(member, "new@example.com")

    Client().get(verification.link_path(User.objects.get(pk=member.pk)))

    elsewhere.assert_ended()
    member.refresh_from_db()
    assert member.email == "new@example.com"


def test_with_verification_none_the_change_ends_the_other_sign_ins_at_once(
    client, member, settings
):
    settings.EMAIL_VERIFICATION = "none"
    elsewhere = OtherSignIns(member)
    client.force_login(member)

    client.post(PAGE, {"email": "new@example.com", "password": PASSWORD})

    member.refresh_from_db()
    assert member.email == "new@example.com"
    elsewhere.assert_ended()
    assert client.get("/settings/").status_code == 200
    [told] = sent_to("old@example.com")  # once, that it changed
    assert "was changed" in told.subject


# --- Asking whether addresses have accounts ---------------------------------------------------------


def test_asking_about_taken_addresses_spends_the_hourly_email_budget(member, settings):
    settings.EMAIL_VERIFICATION_EMAILS_PER_HOUR = 2
    for n in range(3):
        UserFactory(email=f"someone{n}@example.com")
    api = api_client_for(member)

    answers = [
        api.patch(ME_URL, {"email": f"someone{n}@example.com", "password": PASSWORD}, "json")
        for n in range(3)
    ]

    assert [answer.status_code for answer in answers] == [400, 400, 429]
    assert answers[0].json() == {"email": ["An account with that email address already exists."]}
    assert int(answers[2]["Retry-After"]) > 0


def test_settings_offers_a_member_without_a_password_a_sign_in_with_their_provider(
    client, settings
):
    settings.SOCIAL_AUTH_GITHUB_KEY, settings.SOCIAL_AUTH_GITHUB_SECRET = "id", "secret"
    member = UserFactory()
    member.set_unusable_password()
    member.save()
    UserSocialAuth.objects.create(user=member, provider="github", uid="42", extra_data={})
    client.force_login(member)

    page = client.get("/settings/")

    assertContains(page, 'action="/accounts/provider/github/reauthenticate/"')
    assertContains(page, 'name="next" value="/settings/#email-title"')
