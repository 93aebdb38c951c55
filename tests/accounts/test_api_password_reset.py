"""POST /api/v1/auth/password-reset/ and /api/v1/auth/password-reset/confirm/."""

import re

import pytest
from django.core import mail
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import TokenFamily
from tests.accounts.helpers import refresh, sign_in
from tests.factories import PASSWORD, UserFactory

RESET_URL = "/api/v1/auth/password-reset/"
CONFIRM_URL = "/api/v1/auth/password-reset/confirm/"

NEW_PASSWORD = "a brand new and rather long passphrase"

pytestmark = pytest.mark.django_db


def ask_for_reset(client, email: str):
    return client.post(RESET_URL, {"email": email}, format="json")


def uid_and_token(message) -> tuple[str, str]:
    """What an API client reads from the reset email."""
    found = re.search(r"uid=(?P<uid>[\w-]+) and token=(?P<token>[\w-]+)", message.body)
    assert found, message.body
    return found["uid"], found["token"]


def confirm(client, uid: str, token: str, new_password: str = NEW_PASSWORD):
    body = {"uid": uid, "token": token, "new_password": new_password}
    return client.post(CONFIRM_URL, body, format="json")


@pytest.fixture
def reset_link(api_client, user) -> tuple[str, str]:
    assert ask_for_reset(api_client, user.email).status_code == 202
    (message,) = mail.outbox
    return uid_and_token(message)


# --- Asking for a reset ---------------------------------------------------------------------


def test_it_answers_202_and_emails_a_known_address(api_client, user):
    response = ask_for_reset(api_client, "owner@example.com")

    assert response.status_code == 202
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@example.com"]


def test_it_answers_202_and_emails_nobody_for_an_unknown_address(api_client, user):
    response = ask_for_reset(api_client, "nobody@example.com")

    assert response.status_code == 202
    assert mail.outbox == []


def test_it_answers_a_known_and_an_unknown_address_identically(api_client, user):
    known = ask_for_reset(api_client, "owner@example.com")
    unknown = ask_for_reset(api_client, "nobody@example.com")

    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert known.get("Content-Type") == unknown.get("Content-Type")
    assert len(mail.outbox) == 1


def test_it_finds_the_address_in_any_case(api_client, user):
    response = ask_for_reset(api_client, "OWNER@Example.COM")

    assert response.status_code == 202
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@example.com"]


def test_it_emails_nobody_for_a_deactivated_account(api_client, user):
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = ask_for_reset(api_client, user.email)

    assert response.status_code == 202
    assert mail.outbox == []


def test_it_sends_the_link_and_the_uid_and_token_for_api_clients(api_client, user):
    ask_for_reset(api_client, user.email)

    (message,) = mail.outbox
    uid, token = uid_and_token(message)
    assert f"/accounts/reset/{uid}/{token}/" in message.body
    assert "password" in message.subject.lower()


def test_it_only_emails_the_account_with_that_address(api_client, user, other_user):
    ask_for_reset(api_client, other_user.email)

    assert [message.to for message in mail.outbox] == [[other_user.email]]


def test_it_rejects_a_malformed_address_with_400(api_client, user):
    response = ask_for_reset(api_client, "not-an-email")

    assert response.status_code == 400
    assert "email" in response.json()
    assert mail.outbox == []


# --- Confirming -----------------------------------------------------------------------------


def test_it_sets_the_new_password_with_the_emailed_uid_and_token(api_client, user, reset_link):
    response = confirm(api_client, *reset_link)

    assert response.status_code == 204
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_the_new_password_signs_in_and_the_old_one_no_longer_does(api_client, user, reset_link):
    confirm(api_client, *reset_link)

    assert sign_in(api_client, password=NEW_PASSWORD).status_code == 200
    assert sign_in(api_client, password=PASSWORD).status_code == 401


def test_it_revokes_every_refresh_token_the_user_held(
    api_client, user, reset_link, django_capture_on_commit_callbacks
):
    first = sign_in(api_client, password=PASSWORD).json()["refresh"]
    second = sign_in(api_client, password=PASSWORD).json()["refresh"]

    with django_capture_on_commit_callbacks(execute=True):
        confirm(api_client, *reset_link)

    for token in (first, second):
        response = refresh(api_client, token)
        assert response.status_code == 401
    assert not TokenFamily.objects.filter(user=user, revoked_at__isnull=True).exists()


def test_it_leaves_other_users_refresh_tokens_alone(api_client, user, other_user, reset_link):
    theirs = sign_in(api_client, password=PASSWORD, username="outsider").json()["refresh"]

    confirm(api_client, *reset_link)

    response = refresh(api_client, theirs)
    assert response.status_code == 200


def test_the_reset_token_works_once(api_client, user, reset_link):
    assert confirm(api_client, *reset_link).status_code == 204

    again = confirm(api_client, *reset_link, new_password="yet another long passphrase")

    assert again.status_code == 400
    assert "token" in again.json()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    "weak_password",
    [
        pytest.param("Tr0ub4", id="too-short"),
        pytest.param("password123", id="common"),
        pytest.param("8402751938264", id="all-digits"),
        pytest.param("owner@example.com", id="like-the-email"),
    ],
)
def test_it_rejects_a_weak_new_password(api_client, user, reset_link, weak_password):
    response = confirm(api_client, *reset_link, new_password=weak_password)

    assert response.status_code == 400
    assert "new_password" in response.json()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_a_weak_password_does_not_use_up_the_reset_token(api_client, user, reset_link):
    confirm(api_client, *reset_link, new_password="password123")

    response = confirm(api_client, *reset_link)

    assert response.status_code == 204


def test_a_weak_password_does_not_revoke_the_users_logins(api_client, user, reset_link):
    held = sign_in(api_client, password=PASSWORD).json()["refresh"]

    confirm(api_client, *reset_link, new_password="password123")

    response = refresh(api_client, held)
    assert response.status_code == 200


def test_it_rejects_a_made_up_token(api_client, user, reset_link):
    uid, _ = reset_link

    response = confirm(api_client, uid, "c0ffee-0123456789abcdef0123456789abcdef")

    assert response.status_code == 400
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_it_rejects_the_token_with_another_users_uid(api_client, user, other_user, reset_link):
    _, token = reset_link
    their_uid = urlsafe_base64_encode(force_bytes(other_user.pk))

    response = confirm(api_client, their_uid, token)

    assert response.status_code == 400
    other_user.refresh_from_db()
    assert other_user.check_password(PASSWORD)


@pytest.mark.parametrize("uid", ["", "!!!", "bm90LWEtbnVtYmVy", "OTk5OTk5"])
def test_it_rejects_a_malformed_or_unknown_uid(api_client, user, reset_link, uid):
    _, token = reset_link

    response = confirm(api_client, uid, token)

    assert response.status_code == 400


def test_an_older_reset_email_stops_working_once_a_newer_one_was_used(api_client, user):
    ask_for_reset(api_client, user.email)
    ask_for_reset(api_client, user.email)
    older, newer = (uid_and_token(message) for message in mail.outbox)

    assert confirm(api_client, *newer).status_code == 204

    assert (
        confirm(api_client, *older, new_password="yet another long passphrase").status_code == 400
    )


def test_the_token_stops_working_when_the_password_changed_another_way(
    api_client, user, reset_link
):
    user.set_password("changed in the settings page meanwhile")
    user.save()

    response = confirm(api_client, *reset_link)

    assert response.status_code == 400


@pytest.mark.parametrize("missing", ["uid", "token", "new_password"])
def test_it_asks_for_every_field(api_client, user, reset_link, missing):
    uid, token = reset_link
    body = {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    del body[missing]

    response = api_client.post(CONFIRM_URL, body, format="json")

    assert response.status_code == 400
    assert missing in response.json()


def test_it_matches_the_whole_address_not_a_prefix(api_client, user):
    UserFactory(username="owner2", email="owner@example.co")

    ask_for_reset(api_client, "owner@example.com")

    assert [message.to for message in mail.outbox] == [["owner@example.com"]]
