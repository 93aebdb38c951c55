"""The sign-up page: /accounts/signup/."""

import pytest
from django.test import Client
from pytest_django.asserts import assertContains, assertRedirects

from accounts.models import User
from tests.pages import error_by_field

SIGNUP_URL = "/accounts/signup/"
NEW_PASSWORD = "a fresh and long passphrase"


def signup_data(**overrides) -> dict:
    data = {
        "username": "newcomer",
        "email": "newcomer@example.com",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    return {**data, **overrides}


@pytest.mark.django_db
def test_it_shows_the_sign_up_form_to_anonymous_visitors(client):
    response = client.get(SIGNUP_URL)

    assert response.status_code == 200
    for name in ("username", "email", "password1", "password2", "csrfmiddlewaretoken"):
        assertContains(response, f'name="{name}"')


@pytest.mark.django_db
def test_it_creates_the_account_and_signs_the_new_member_in(client):
    response = client.post(SIGNUP_URL, signup_data())

    assertRedirects(response, "/")
    user = User.objects.get(username="newcomer")
    assert user.email == "newcomer@example.com"
    assert user.check_password(NEW_PASSWORD)
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.django_db
def test_it_welcomes_the_new_member_by_name_in_the_navigation(client):
    response = client.post(SIGNUP_URL, signup_data(), follow=True)

    assertContains(response, "Welcome to Sigma Playground, newcomer.")
    assertContains(response, '<span class="menu__name">newcomer</span>')


@pytest.mark.django_db
def test_it_sends_the_new_member_on_to_the_page_they_came_from(client):
    response = client.post(SIGNUP_URL, signup_data(next="/explore/?q=ada"))

    assertRedirects(response, "/explore/?q=ada")


@pytest.mark.django_db
def test_it_ignores_a_next_page_on_another_site(client):
    response = client.post(SIGNUP_URL, signup_data(next="https://evil.example/phish"))

    assertRedirects(response, "/")


@pytest.mark.django_db
def test_it_refuses_a_username_taken_in_another_case(client, user):
    response = client.post(SIGNUP_URL, signup_data(username="OWNER"))

    assert response.status_code == 400
    assert error_by_field(response, "username") == "That username is taken."
    assert not User.objects.filter(email="newcomer@example.com").exists()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_it_refuses_an_email_address_taken_in_another_case(client, user):
    response = client.post(SIGNUP_URL, signup_data(email="Owner@Example.COM"))

    assert response.status_code == 400
    assert error_by_field(response, "email") == "An account with that email address already exists."
    assert not User.objects.filter(username="newcomer").exists()


@pytest.mark.django_db
def test_it_refuses_two_different_passwords(client):
    response = client.post(SIGNUP_URL, signup_data(password2="a different passphrase"))

    assert response.status_code == 400
    assert error_by_field(response, "password2") == "The two passwords differ."
    assert not User.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_common_password(client):
    response = client.post(
        SIGNUP_URL, signup_data(password1="password123", password2="password123")
    )

    assert response.status_code == 400
    assert "This password is too common." in error_by_field(response, "password1")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_password_too_close_to_the_username(client):
    response = client.post(
        SIGNUP_URL,
        signup_data(username="tremendous", password1="tremendous1", password2="tremendous1"),
    )

    assert response.status_code == 400
    assert "too similar to the username" in error_by_field(response, "password1")


@pytest.mark.parametrize("username", ["ab", "has space", "-dash-first", "x" * 31, "émile"])
@pytest.mark.django_db
def test_it_refuses_a_malformed_username(client, username):
    response = client.post(SIGNUP_URL, signup_data(username=username))

    assert response.status_code == 400
    assert error_by_field(response, "username")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_it_requires_an_email_address(client):
    response = client.post(SIGNUP_URL, signup_data(email=""))

    assert response.status_code == 400
    assert error_by_field(response, "email") == "This field is required."


@pytest.mark.django_db
def test_it_keeps_what_was_typed_except_the_passwords_when_the_form_is_refused(client):
    response = client.post(SIGNUP_URL, signup_data(password2="a different passphrase"))

    page = response.content.decode()
    assert 'value="newcomer"' in page
    assert 'value="newcomer@example.com"' in page
    assert NEW_PASSWORD not in page


@pytest.mark.django_db
def test_it_sends_a_signed_in_member_home(client, user):
    client.force_login(user)

    response = client.get(SIGNUP_URL)

    assertRedirects(response, "/")


@pytest.mark.django_db
def test_it_refuses_a_sign_up_without_the_csrf_token():
    client = Client(enforce_csrf_checks=True)

    response = client.post(SIGNUP_URL, signup_data())

    assert response.status_code == 403
    assert not User.objects.exists()
