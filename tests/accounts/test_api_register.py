"""POST /api/v1/auth/register/."""

import pytest

from accounts.models import User
from tests.accounts.helpers import sign_in
from tests.factories import PASSWORD, UserFactory

REGISTER_URL = "/api/v1/auth/register/"

pytestmark = pytest.mark.django_db


def register(client, **overrides):
    body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD} | overrides
    return client.post(REGISTER_URL, body, format="json")


def test_it_creates_an_account_and_answers_201_with_its_id_username_and_email(api_client):
    response = register(api_client)

    assert response.status_code == 201
    created = User.objects.get(username="ada")
    assert response.json() == {"id": created.pk, "username": "ada", "email": "ada@example.com"}


def test_it_never_returns_the_password(api_client):
    response = register(api_client)

    assert response.status_code == 201
    assert "password" not in response.json()
    assert PASSWORD not in response.content.decode()


def test_it_stores_the_password_hashed(api_client):
    register(api_client)

    created = User.objects.get(username="ada")
    assert created.password != PASSWORD
    assert created.check_password(PASSWORD)


def test_the_new_account_can_sign_in_with_the_password_it_registered(api_client):
    register(api_client)

    response = sign_in(api_client, username="ada")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


def test_it_starts_new_accounts_active_without_mfa_or_staff_rights(api_client):
    register(api_client, is_staff=True, is_superuser=True, mfa_enabled=True)

    created = User.objects.get(username="ada")
    assert created.is_active
    assert not created.is_staff
    assert not created.is_superuser
    assert not created.mfa_enabled


@pytest.mark.parametrize(
    "weak_password",
    [
        pytest.param("Tr0ub4", id="too-short"),
        pytest.param("password123", id="common"),
        pytest.param("8402751938264", id="all-digits"),
        pytest.param("ada@example.com", id="like-the-email"),
        pytest.param("adaada", id="too-short-and-like-the-username"),
    ],
)
def test_it_rejects_a_weak_password(api_client, weak_password):
    response = register(api_client, password=weak_password)

    assert response.status_code == 400
    assert "password" in response.json()
    assert not User.objects.filter(username="ada").exists()


def test_it_rejects_a_password_similar_to_the_username(api_client):
    response = register(api_client, username="lovelace-analytical", password="lovelace-analytical1")

    assert response.status_code == 400
    assert "password" in response.json()


@pytest.mark.parametrize("taken", ["owner", "OWNER", "Owner", "oWnEr"])
def test_it_rejects_a_username_that_is_taken_in_any_case(api_client, user, taken):
    response = register(api_client, username=taken)

    assert response.status_code == 400
    assert "username" in response.json()
    assert User.objects.filter(username__iexact="owner").count() == 1


@pytest.mark.parametrize("taken", ["owner@example.com", "OWNER@EXAMPLE.COM", "Owner@Example.com"])
def test_it_rejects_an_email_that_is_taken_in_any_case(api_client, user, taken):
    response = register(api_client, email=taken)

    assert response.status_code == 400
    assert "email" in response.json()
    assert not User.objects.filter(username="ada").exists()


def test_it_names_both_fields_when_username_and_email_are_taken(api_client):
    UserFactory(username="ada", email="ada@example.com")

    response = register(api_client, username="ADA", email="ADA@example.com")

    assert response.status_code == 400
    assert {"username", "email"} <= set(response.json())


@pytest.mark.parametrize(
    "bad_username",
    [
        pytest.param("ab", id="too-short"),
        pytest.param("a" * 31, id="too-long"),
        pytest.param("ada lovelace", id="space"),
        pytest.param("ada.lovelace", id="dot"),
        pytest.param("ada@home", id="at-sign"),
        pytest.param("-ada", id="leading-hyphen"),
        pytest.param("ada_", id="trailing-underscore"),
        pytest.param("adä", id="non-ascii-letter"),
        pytest.param("ada/../x", id="slashes"),
        pytest.param("ada\nlovelace", id="newline"),
        pytest.param("", id="blank"),
    ],
)
def test_it_rejects_a_username_with_bad_characters_or_length(api_client, bad_username):
    response = register(api_client, username=bad_username)

    assert response.status_code == 400
    assert "username" in response.json()
    assert User.objects.count() == 0


@pytest.mark.parametrize("good_username", ["abc", "a" * 30, "a-b_c", "Ada-Lovelace_1815", "007"])
def test_it_accepts_usernames_of_3_to_30_letters_digits_hyphens_and_underscores(
    api_client, good_username
):
    response = register(api_client, username=good_username)

    assert response.status_code == 201
    assert response.json()["username"] == good_username


@pytest.mark.parametrize("bad_email", ["", "not-an-email", "ada@", "@example.com"])
def test_it_rejects_a_missing_or_malformed_email(api_client, bad_email):
    response = register(api_client, email=bad_email)

    assert response.status_code == 400
    assert "email" in response.json()


@pytest.mark.parametrize("missing", ["username", "email", "password"])
def test_it_rejects_a_body_without_a_required_field(api_client, missing):
    body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
    del body[missing]

    response = api_client.post(REGISTER_URL, body, format="json")

    assert response.status_code == 400
    assert missing in response.json()


def test_it_does_not_need_or_use_an_existing_login(auth_client):
    response = register(auth_client)

    assert response.status_code == 201
    assert response.json()["username"] == "ada"


def test_it_throttles_registrations_from_one_address(api_client):
    statuses = [
        register(api_client, username=f"ada{n}", email=f"ada{n}@example.com").status_code
        for n in range(21)
    ]

    assert statuses[:20] == [201] * 20
    assert statuses[20] == 429
