"""Resetting a forgotten password: Django's flow, our templates, the email sent by a Celery task."""

import re

import pytest
from django.core import mail
from django.test import Client
from pytest_django.asserts import assertContains, assertRedirects

from accounts import tokens
from accounts.models import TokenFamily
from tests.factories import UserFactory
from tests.pages import error_by_field

RESET_URL = "/accounts/password-reset/"
SENT_URL = "/accounts/password-reset/sent/"
DONE_URL = "/accounts/reset/done/"
NEW_PASSWORD = "a brand new passphrase"


def reset_link_in(message) -> str:
    match = re.search(r"http://testserver(/accounts/reset/[^/\s]+/[^/\s]+/)", message.body)
    assert match, message.body
    return match[1]


def request_reset_link(client) -> str:
    client.post(RESET_URL, {"email": "owner@example.com"})
    (message,) = mail.outbox
    return reset_link_in(message)


@pytest.fixture
def reset_link(client, user) -> str:
    return request_reset_link(client)


def set_new_password(client, link: str, password: str = NEW_PASSWORD):
    """Open the link (Django moves the token into the session) and choose a password there."""
    opened = client.get(link)
    form_url = opened["Location"] if opened.status_code == 302 else link
    return client.post(form_url, {"new_password1": password, "new_password2": password})


@pytest.mark.django_db
def test_it_shows_the_form_asking_for_the_email_address(client):
    response = client.get(RESET_URL)

    assert response.status_code == 200
    assertContains(response, "Reset your password")
    assertContains(response, 'name="email"')


@pytest.mark.django_db
def test_it_emails_a_reset_link_to_the_accounts_address_whatever_its_case(client, user):
    response = client.post(RESET_URL, {"email": "OWNER@Example.com"})

    assertRedirects(response, SENT_URL)
    (message,) = mail.outbox
    assert message.to == ["owner@example.com"]
    assert message.subject == "Reset your Sigma Playground password"
    assert "Hello owner," in message.body
    assert reset_link_in(message).startswith("/accounts/reset/")


@pytest.mark.django_db
def test_it_hands_the_email_to_a_background_task_instead_of_sending_it_in_the_request(
    client, user, monkeypatch
):
    queued = []
    monkeypatch.setattr(
        "accounts.forms.send_email.apply_async",
        lambda args, **options: queued.append((args, options)),
    )

    client.post(RESET_URL, {"email": "owner@example.com"})

    assert mail.outbox == []
    (((_subject, body, to, _html), options),) = queued
    assert to == ["owner@example.com"]
    assert "/accounts/reset/" in body
    # What a worker logs of the task's arguments: neither the link nor the address.
    assert (options["argsrepr"], options["kwargsrepr"]) == ("(redacted)", "{}")


@pytest.mark.django_db
def test_it_says_the_same_thing_for_an_address_without_an_account_and_sends_nothing(client, user):
    response = client.post(RESET_URL, {"email": "stranger@example.com"}, follow=True)

    assertRedirects(response, SENT_URL)
    assertContains(response, "If an account uses that address")
    assert mail.outbox == []


@pytest.mark.django_db
def test_it_sends_nothing_to_a_deactivated_account(client):
    UserFactory(username="gone", is_active=False)

    client.post(RESET_URL, {"email": "gone@example.com"})

    assert mail.outbox == []


@pytest.mark.django_db
def test_it_shows_a_malformed_address_by_its_field(client):
    response = client.post(RESET_URL, {"email": "not-an-address"})

    assert response.status_code == 400
    assert error_by_field(response, "email") == "Enter a valid email address."
    assert mail.outbox == []


@pytest.mark.django_db
def test_it_lets_the_link_set_a_new_password(client, user, password, reset_link):
    opened = client.get(reset_link)
    assert opened.status_code == 302
    form = client.get(opened["Location"])
    assertContains(form, "Choose a new password")

    response = client.post(
        opened["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assertRedirects(response, DONE_URL)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(password)


@pytest.mark.django_db
def test_it_lets_the_member_sign_in_with_the_new_password_only(client, user, password, reset_link):
    set_new_password(client, reset_link)

    old = Client().post("/accounts/login/", {"username": "owner", "password": password})
    new = Client().post("/accounts/login/", {"username": "owner", "password": NEW_PASSWORD})

    assert old.status_code == 400
    assertRedirects(new, "/")


@pytest.mark.django_db
def test_it_lets_the_link_work_only_once(client, user, reset_link):
    set_new_password(client, reset_link)

    again = Client()
    response = again.get(reset_link, follow=True)
    second = set_new_password(again, reset_link, password="yet another passphrase")

    assertContains(response, "This link no longer works")
    assert 'name="new_password1"' not in response.content.decode()
    assert second.status_code == 200
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


@pytest.mark.django_db
def test_it_refuses_a_link_with_a_forged_token(client, user, reset_link):
    uid = reset_link.split("/")[3]

    response = client.get(f"/accounts/reset/{uid}/forged-token/", follow=True)

    assertContains(response, "This link no longer works")


@pytest.mark.django_db
def test_it_shows_two_different_new_passwords_by_the_field(client, user, password, reset_link):
    form_url = client.get(reset_link)["Location"]

    response = client.post(
        form_url, {"new_password1": NEW_PASSWORD, "new_password2": "something else entirely"}
    )

    assert response.status_code == 400
    assert error_by_field(response, "new_password2") == "The two password fields didn\u2019t match."
    user.refresh_from_db()
    assert user.check_password(password)


@pytest.mark.django_db
def test_it_revokes_every_api_refresh_token_of_the_member(
    client, user, other_user, reset_link, django_capture_on_commit_callbacks
):
    mine = [tokens.issue_tokens(user) for _ in range(2)]
    theirs = tokens.issue_tokens(other_user)

    with django_capture_on_commit_callbacks(execute=True):
        set_new_password(client, reset_link)

    for pair in mine:
        with pytest.raises(tokens.RefreshRejected):
            tokens.rotate(pair.refresh)
    assert set(TokenFamily.objects.filter(user=user).values_list("revoked_reason", flat=True)) == {
        "password"
    }
    assert tokens.rotate(theirs.refresh).refresh


@pytest.mark.django_db
def test_it_signs_out_the_members_other_browsers(client, user):
    elsewhere = Client()
    elsewhere.force_login(user)  # before the link is made: signing in later voids the link

    set_new_password(client, request_reset_link(client))

    assertRedirects(elsewhere.get("/settings/"), "/accounts/login/?next=/settings/")
