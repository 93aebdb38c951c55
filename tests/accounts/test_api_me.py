"""GET and PATCH /api/v1/me/."""

import pytest

from tests.accounts.helpers import ME_URL, get_me, sign_in
from tests.factories import PASSWORD

FIELDS = {
    "id", "username", "email", "email_verified", "pending_email", "full_name", "bio", "website",
    "organisation", "location", "links", "pinned_workbook_ids", "avatar", "mfa_enabled",
}  # fmt: skip

pytestmark = pytest.mark.django_db


def patch_me(client, **fields):
    return client.patch(ME_URL, fields, format="json")


def test_it_shows_exactly_the_documented_fields(auth_client, user):
    response = auth_client.get(ME_URL)

    assert response.status_code == 200
    assert set(response.json()) == FIELDS


def test_it_shows_the_signed_in_users_own_values(auth_client, user):
    user.bio = "Dashboards, mostly."
    user.website = "https://owner.example"
    user.save()

    body = auth_client.get(ME_URL).json()

    assert body == {
        "id": user.pk,
        "username": "owner",
        "email": "owner@example.com",
        "email_verified": True,
        "pending_email": None,
        "full_name": user.full_name,
        "bio": "Dashboards, mostly.",
        "website": "https://owner.example",
        "organisation": "",
        "location": "",
        "links": [],
        "pinned_workbook_ids": [],
        "avatar": None,
        "mfa_enabled": False,
    }


def test_it_never_shows_the_password_hash_or_mfa_secret(auth_client, user):
    user.mfa_secret = "JBSWY3DPEHPK3PXP"
    user.save()

    content = auth_client.get(ME_URL).content.decode()

    assert user.password not in content
    assert "JBSWY3DPEHPK3PXP" not in content


def test_it_works_with_an_access_token_from_the_token_endpoint(api_client, user, other_user):
    access = sign_in(api_client, username="outsider").json()["access"]

    response = get_me(api_client, access)

    assert response.status_code == 200
    assert response.json()["username"] == "outsider"


def test_it_updates_full_name_bio_and_website(auth_client, user):
    response = patch_me(
        auth_client,
        full_name="Ada Lovelace",
        bio="Notes on the analytical engine.",
        website="https://ada.example/notes",
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == FIELDS
    assert body["full_name"] == "Ada Lovelace"
    assert body["bio"] == "Notes on the analytical engine."
    assert body["website"] == "https://ada.example/notes"
    user.refresh_from_db()
    assert (user.full_name, user.bio, user.website) == (
        "Ada Lovelace",
        "Notes on the analytical engine.",
        "https://ada.example/notes",
    )


def test_it_leaves_fields_that_are_not_sent_as_they_were(auth_client, user):
    user.full_name = "Ada Lovelace"
    user.website = "https://ada.example"
    user.save()

    patch_me(auth_client, bio="Just the bio.")

    user.refresh_from_db()
    assert user.full_name == "Ada Lovelace"
    assert user.website == "https://ada.example"
    assert user.bio == "Just the bio."


def test_it_clears_the_website_with_an_empty_string(auth_client, user):
    user.website = "https://ada.example"
    user.save()

    response = patch_me(auth_client, website="")

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.website == ""


@pytest.mark.parametrize("website", ["http://ada.example", "https://ada.example/path?q=1"])
def test_it_accepts_an_http_or_https_website(auth_client, user, website):
    response = patch_me(auth_client, website=website)

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.website == website


@pytest.mark.parametrize(
    "website",
    [
        "ftp://ada.example/file",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "mailto:ada@example.com",
        "ada.example",
        "not a url",
    ],
)
def test_it_rejects_a_website_that_is_not_http_or_https(auth_client, user, website):
    response = patch_me(auth_client, website=website)

    assert response.status_code == 400
    assert "website" in response.json()
    user.refresh_from_db()
    assert user.website == ""


@pytest.mark.parametrize(
    "read_only",
    [
        {"username": "someone-else"},
        {"id": 999},
        {"email_verified": False},
        {"pending_email": "someone@example.com"},
        {"mfa_enabled": True},
        {"avatar": {"thumb": "https://evil.example/x.png"}},
    ],
)
def test_it_ignores_read_only_fields(auth_client, user, read_only):
    response = patch_me(auth_client, **read_only)

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.pk == response.json()["id"]
    assert user.username == "owner"
    assert user.email == "owner@example.com"
    assert user.mfa_enabled is False
    assert response.json()["avatar"] is None


def test_it_keeps_username_and_email_when_sent_along_with_a_real_change(auth_client, user):
    response = patch_me(
        auth_client,
        username="renamed",
        email="renamed@example.com",
        password=PASSWORD,
        full_name="Renamed",
    )

    assert response.status_code == 200
    assert response.json()["username"] == "owner"
    assert response.json()["email"] == "owner@example.com"
    user.refresh_from_db()
    assert (user.username, user.email, user.full_name) == ("owner", "owner@example.com", "Renamed")


def test_it_rejects_a_bio_over_500_characters(auth_client, user):
    response = patch_me(auth_client, bio="x" * 501)

    assert response.status_code == 400
    assert "bio" in response.json()


def test_it_accepts_a_bio_of_500_characters(auth_client, user):
    response = patch_me(auth_client, bio="x" * 500)

    assert response.status_code == 200


def test_it_rejects_a_full_name_over_150_characters(auth_client, user):
    response = patch_me(auth_client, full_name="x" * 151)

    assert response.status_code == 400
    assert "full_name" in response.json()


def test_it_changes_only_the_signed_in_user(auth_client, user, other_user):
    before = (other_user.full_name, other_user.bio, other_user.website)

    patch_me(auth_client, full_name="Changed", bio="Changed", website="https://changed.example")

    other_user.refresh_from_db()
    assert (other_user.full_name, other_user.bio, other_user.website) == before


def test_it_answers_401_to_an_anonymous_get(api_client, user):
    response = api_client.get(ME_URL)

    assert response.status_code == 401


def test_it_answers_401_to_an_anonymous_patch_and_changes_nothing(api_client, user):
    before = user.full_name

    response = patch_me(api_client, full_name="Anonymous")

    assert response.status_code == 401
    user.refresh_from_db()
    assert user.full_name == before


# DELETE deletes the account, with the password (tests/accounts/test_account_deletion.py).
@pytest.mark.parametrize("method", ["put", "post"])
def test_it_refuses_other_methods(auth_client, user, method):
    response = getattr(auth_client, method)(ME_URL, {"full_name": "x"}, format="json")

    assert response.status_code == 405
    assert user.__class__.objects.filter(pk=user.pk).exists()
