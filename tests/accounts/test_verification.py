"""Verified email: the link sent at sign-up (signed, expiring, single use), the resend button and
endpoint (throttled), a new address that waits for its own link while the old one is told,
`email_verified` in /api/v1/me/, and the EMAIL_VERIFICATION setting."""

import re
import time

import pytest
from django.core import mail
from pytest_django.asserts import assertContains, assertNotContains

from accounts import verification
from accounts.demo import ensure_demo_users
from accounts.models import User
from tests.accounts.helpers import ME_URL, api_client_for
from tests.factories import PASSWORD, UserFactory
from tests.sigma_playground.test_startup import manage

# Emails are queued once the transaction commits (sigma_playground.jobs): these tests commit.
pytestmark = pytest.mark.django_db(transaction=True)

RESEND_PAGE = "/accounts/verify/resend/"
RESEND_API = "/api/v1/me/email/verify/"
LINK = re.compile(r"https?://[^/\s]+(/accounts/verify/[^/\s]+/[^/\s]+/)")


def link_in(message) -> str:
    """The verification link's path, as a reader of the email would follow it."""
    found = LINK.search(message.body)
    assert found, message.body
    html = message.alternatives[0][0]
    assert found.group(1) in html
    return found.group(1)


def unverified(**fields) -> User:
    return UserFactory(email_verified=False, **fields)


@pytest.fixture
def resend_limit(settings):
    settings.EMAIL_VERIFICATION_EMAILS_PER_HOUR = 2
    return 2


# --- The link ---------------------------------------------------------------------------------------


def test_signing_up_on_the_page_sends_a_link_that_verifies_the_address_once(client):
    signed_up = client.post(
        "/accounts/signup/",
        {
            "username": "newcomer",
            "email": "newcomer@example.com",
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
        },
    )
    user = User.objects.get(username="newcomer")
    assert not user.email_verified
    welcome = client.get(signed_up["Location"])
    assertContains(welcome, "We sent a link to newcomer@example.com")
    [message] = mail.outbox
    assert message.to == ["newcomer@example.com"]
    assert "Verify your email address" in message.subject

    followed = client.get(link_in(message))

    assertContains(followed, "Email address verified")
    user.refresh_from_db()
    assert user.email_verified
    again = client.get(link_in(message))
    assertContains(again, "This link does not work", status_code=400)
    assertContains(again, "Send me a new link", status_code=400)


def test_registering_through_the_api_sends_the_link(api_client):
    response = api_client.post(
        "/api/v1/auth/register/",
        {"username": "apinew", "email": "apinew@example.com", "password": "a long passphrase!"},
        format="json",
    )

    assert response.status_code == 201
    [message] = mail.outbox
    assert message.to == ["apinew@example.com"]
    assert api_client.get(link_in(message)).status_code == 200
    assert User.objects.get(username="apinew").email_verified


def test_the_link_works_signed_out(client):
    user = unverified()

    response = client.get(verification.link_path(user))

    assertContains(response, "Sign in")
    user.refresh_from_db()
    assert user.email_verified


def test_the_link_expires_after_its_lifetime(client, settings):
    settings.EMAIL_VERIFICATION_LINK_HOURS = 72
    user = unverified()
    lifetime = 72 * 3600
    expired = verification.link_path(user, now=int(time.time()) - lifetime - 5)
    in_time = verification.link_path(user, now=int(time.time()) - lifetime + 60)

    refused = client.get(expired)

    assertContains(refused, "expired", status_code=400)
    user.refresh_from_db()
    assert not user.email_verified
    assert client.get(in_time).status_code == 200


def test_the_lifetime_is_the_setting(client, settings):
    user = unverified()
    link = verification.link_path(user, now=int(time.time()) - 2 * 3600)
    settings.EMAIL_VERIFICATION_LINK_HOURS = 1

    assert client.get(link).status_code == 400


def test_a_link_stops_working_once_the_address_changed(client):
    user = unverified(email="first@example.com")
    link = verification.link_path(user)
    User.objects.filter(pk=user.pk).update(email="second@example.com")

    assert client.get(link).status_code == 400
    user.refresh_from_db()
    assert not user.email_verified


@pytest.mark.parametrize(
    "path",
    ["/accounts/verify/xx/yy/", "/accounts/verify/MQ/zzzz-0123/", "/accounts/verify/MQ/nodash/"],
)
def test_a_made_up_link_is_a_clear_400(client, path):
    assertContains(client.get(path), "This link does not work", status_code=400)


def test_a_link_of_another_member_does_not_verify_the_one_signed_in(client):
    mine, theirs = unverified(), unverified()
    forged = verification.link_path(theirs).replace(
        verification.link_path(theirs).split("/")[3], verification.link_path(mine).split("/")[3]
    )
    client.force_login(mine)

    assert client.get(forged).status_code == 400
    mine.refresh_from_db()
    assert not mine.email_verified


# --- Resend --------------------------------------------------------------------------------------------


def test_the_resend_button_sends_a_new_link_and_is_throttled(client, resend_limit):
    user = unverified()
    client.force_login(user)

    for _ in range(resend_limit):
        assert client.post(RESEND_PAGE, {"next": "/explore/"}).status_code == 302
    refused = client.post(RESEND_PAGE)

    assert len(mail.outbox) == resend_limit
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    client.get(link_in(mail.outbox[-1]))
    user.refresh_from_db()
    assert user.email_verified


def test_the_resend_endpoint_answers_202_then_429_per_member(resend_limit):
    user, other = unverified(), unverified()
    client = api_client_for(user)

    statuses = [client.post(RESEND_API).status_code for _ in range(resend_limit)]
    refused = client.post(RESEND_API)

    assert statuses == [202] * resend_limit
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    assert api_client_for(other).post(RESEND_API).status_code == 202


def test_resending_for_a_verified_address_is_a_400(auth_client):
    response = auth_client.post(RESEND_API)

    assert response.status_code == 400
    assert response.json()["code"] == "nothing_to_verify"
    assert mail.outbox == []


def test_resending_needs_a_sign_in(api_client, client):
    assert api_client.post(RESEND_API).status_code == 401
    assert client.post(RESEND_PAGE).status_code == 302


def test_with_verification_none_no_link_is_sent(client, settings):
    settings.EMAIL_VERIFICATION = "none"
    client.post(
        "/accounts/signup/",
        {
            "username": "quiet",
            "email": "quiet@example.com",
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
        },
    )

    assert User.objects.filter(username="quiet").exists()
    assert mail.outbox == []
    assert api_client_for(User.objects.get(username="quiet")).post(RESEND_API).status_code == 400


# --- The banner -------------------------------------------------------------------------------------


def test_an_unverified_member_sees_the_banner_with_the_resend_button(client):
    client.force_login(unverified(email="ada@example.com"))

    page = client.get("/explore/")

    assertContains(page, "Verify your email address, <strong>ada@example.com</strong>")
    assertContains(page, f'action="{RESEND_PAGE}"')


@pytest.mark.parametrize("mode", ["mandatory", "none"])
def test_a_verified_member_or_verification_none_shows_no_banner(client, settings, mode):
    settings.EMAIL_VERIFICATION = mode
    client.force_login(UserFactory() if mode == "mandatory" else unverified())

    assertNotContains(client.get("/explore/"), f'action="{RESEND_PAGE}"')


@pytest.mark.parametrize("mode", ["mandatory", "optional", "none"])
def test_settings_speaks_of_verifying_only_where_links_are_sent(client, settings, mode):
    settings.EMAIL_VERIFICATION = mode
    client.force_login(unverified())

    page = client.get("/settings/")

    if mode == "none":  # no address is ever verified, so the page asks for nothing
        assertNotContains(page, "Not verified")
        assertNotContains(page, f'action="{RESEND_PAGE}"')
    else:
        assertContains(page, "Not verified")
        assertContains(page, f'action="{RESEND_PAGE}"')


# --- Changing the address ----------------------------------------------------------------------------


def test_a_new_address_waits_for_its_link_and_the_old_one_is_told(client):
    user = UserFactory(email="old@example.com")
    api = api_client_for(user)

    response = api.patch(
        ME_URL, {"email": "New.Person@Example.com", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "old@example.com"
    assert body["pending_email"] == "New.Person@example.com"
    assert body["email_verified"] is True
    to_new, to_old = sorted(
        mail.outbox, key=lambda message: message.to != ["New.Person@example.com"]
    )
    assert to_new.to == ["New.Person@example.com"]
    assert to_old.to == ["old@example.com"]
    assert "N***@example.com" in to_old.body
    assert "New.Person" not in to_old.body
    user.refresh_from_db()
    assert user.email == "old@example.com"

    assertContains(client.get(link_in(to_new)), "New.Person@example.com")

    user.refresh_from_db()
    assert (user.email, user.pending_email, user.email_verified) == (
        "New.Person@example.com",
        "",
        True,
    )
    assert client.get(link_in(to_new)).status_code == 400


def test_an_address_another_member_has_is_refused_whatever_its_case(auth_client, user):
    UserFactory(email="taken@example.com")

    response = auth_client.patch(
        ME_URL, {"email": "TAKEN@example.com", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"email"}
    user.refresh_from_db()
    assert user.pending_email == ""
    assert mail.outbox == []


def test_an_address_taken_before_the_link_is_followed_is_refused_then(client):
    user = UserFactory(email="old@example.com")
    verification.change_email(user, "wanted@example.com")
    link = link_in(next(m for m in mail.outbox if m.to == ["wanted@example.com"]))
    UserFactory(email="WANTED@example.com")

    response = client.get(link)

    assertContains(response, "already exists", status_code=400)
    user.refresh_from_db()
    assert user.email == "old@example.com"


def test_the_settings_page_changes_the_address_through_its_link(client):
    user = UserFactory(email="old@example.com")
    client.force_login(user)

    assertContains(client.get("/settings/"), 'action="/settings/email/"')
    response = client.post(
        "/settings/email/", {"email": "fresh@example.com", "password": PASSWORD}, follow=True
    )

    assertContains(response, "We sent a link to fresh@example.com")
    assertContains(response, "Changing to <strong>fresh@example.com</strong>")
    user.refresh_from_db()
    assert (user.email, user.pending_email) == ("old@example.com", "fresh@example.com")


def test_the_settings_page_refuses_a_bad_address_with_a_400(client, user):
    client.force_login(user)

    response = client.post("/settings/email/", {"email": "not an address"})

    assert response.status_code == 400
    assertContains(response, "Enter a valid email address.", status_code=400)


def test_address_changes_share_the_hourly_limit(resend_limit):
    user = UserFactory(email="old@example.com")
    api = api_client_for(user)

    for n in range(resend_limit):
        asked = {"email": f"new{n}@example.com", "password": PASSWORD}
        assert api.patch(ME_URL, asked, format="json").status_code == 200
    asked = {"email": "one.more@example.com", "password": PASSWORD}
    refused = api.patch(ME_URL, asked, format="json")

    assert refused.status_code == 429
    user.refresh_from_db()
    assert user.pending_email == f"new{resend_limit - 1}@example.com"


def test_a_password_reset_goes_to_the_current_address_not_the_pending_one(api_client):
    user = UserFactory(email="old@example.com")
    verification.change_email(user, "pending@example.com")
    mail.outbox.clear()

    api_client.post("/api/v1/auth/password-reset/", {"email": "pending@example.com"})
    assert mail.outbox == []
    api_client.post("/api/v1/auth/password-reset/", {"email": "old@example.com"})
    assert [message.to for message in mail.outbox] == [["old@example.com"]]


# --- /me, demo members, the setting ----------------------------------------------------------------


def test_me_says_whether_the_address_is_verified():
    user = unverified()
    api = api_client_for(user)

    assert api.get(ME_URL).json()["email_verified"] is False
    verification.mark_verified(user)
    assert api.get(ME_URL).json()["email_verified"] is True
    # Read-only: a client cannot declare itself verified.
    api.patch(ME_URL, {"email_verified": False}, format="json")
    user.refresh_from_db()
    assert user.email_verified


def test_demo_members_are_verified():
    users, _ = ensure_demo_users()

    assert all(user.email_verified for user in users.values())


def test_an_unknown_email_verification_mode_refuses_to_start():
    result = manage("check", DEBUG="true", EMAIL_VERIFICATION="sometimes")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "EMAIL_VERIFICATION must be mandatory, optional or none" in result.stderr


def test_the_banner_goes_once_the_signed_in_member_follows_the_link(client):
    user = unverified()
    client.force_login(user)
    assertContains(client.get("/explore/"), f'action="{RESEND_PAGE}"')

    client.get(verification.link_path(user))

    assertNotContains(client.get("/explore/"), f'action="{RESEND_PAGE}"')
