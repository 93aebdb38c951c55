"""The user admin: superusers manage members; curators and members cannot."""

import pytest
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from accounts.models import User

USERS_URL = "/admin/accounts/user/"


def listed_usernames(response) -> set[str]:
    return {user.username for user in response.context["cl"].result_list}


# --- Who gets in --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_sends_anonymous_visitors_to_the_admin_sign_in(client):
    response = client.get(USERS_URL)

    # The admin's sign-in sends on to the site's (tests/accounts/test_admin_sign_in.py).
    assertRedirects(response, f"/admin/login/?next={USERS_URL}", target_status_code=302)


@pytest.mark.django_db
def test_it_sends_a_member_who_is_not_staff_to_the_admin_sign_in(client, user):
    client.force_login(user)

    response = client.get(USERS_URL)

    # The admin's sign-in sends on to the site's (tests/accounts/test_admin_sign_in.py).
    assertRedirects(response, f"/admin/login/?next={USERS_URL}", target_status_code=302)


@pytest.mark.django_db
def test_it_lets_a_curator_into_the_admin_but_not_to_the_users(client, curator, user):
    client.force_login(curator)

    index = client.get("/admin/")
    users = client.get(USERS_URL)
    one_user = client.get(f"{USERS_URL}{user.pk}/change/")

    assert index.status_code == 200
    assertNotContains(index, f'href="{USERS_URL}"')
    assert users.status_code == 403
    assert one_user.status_code == 403


@pytest.mark.django_db
def test_it_refuses_a_curator_who_tries_to_make_themselves_superuser(client, curator):
    client.force_login(curator)

    response = client.post(
        f"{USERS_URL}{curator.pk}/change/",
        {"username": "curator", "email": "curator@example.com", "is_superuser": "on"},
    )

    assert response.status_code == 403
    curator.refresh_from_db()
    assert not curator.is_superuser


# --- What a superuser sees ----------------------------------------------------------------------


@pytest.mark.django_db
def test_it_lists_every_member_for_a_superuser(admin_client, user, other_user):
    response = admin_client.get(USERS_URL)

    assert response.status_code == 200
    assert listed_usernames(response) == {"root", "owner", "outsider"}


@pytest.mark.parametrize(
    ("query", "found"),
    [("outsider", {"outsider"}), ("OWNER@EXAMPLE", {"owner"}), ("Lovelace", {"owner"})],
)
@pytest.mark.django_db
def test_it_lets_a_superuser_search_by_username_email_or_name(
    admin_client, user, other_user, query, found
):
    user.full_name = "Ada Lovelace"
    user.save()

    response = admin_client.get(USERS_URL, {"q": query})

    assert response.status_code == 200
    assert listed_usernames(response) == found


@pytest.mark.django_db
def test_it_offers_filters_for_staff_two_factor_and_groups(admin_client):
    response = admin_client.get(USERS_URL)

    titles = {spec.title for spec in response.context["cl"].filter_specs}
    assert {"staff status", "superuser status", "active", "two-factor authentication"} <= titles
    assert {"groups", "date joined"} <= titles


@pytest.mark.django_db
def test_it_filters_members_by_staff_status(admin_client, curator, user):
    response = admin_client.get(USERS_URL, {"is_staff__exact": "1"})

    assert listed_usernames(response) == {"root", "curator"}


@pytest.mark.django_db
def test_it_filters_members_by_two_factor(admin_client, user, other_user):
    user.mfa_enabled = True
    user.save()

    response = admin_client.get(USERS_URL, {"mfa_enabled__exact": "1"})

    assert listed_usernames(response) == {"owner"}


@pytest.mark.django_db
def test_it_shows_a_superuser_a_members_page_with_two_factor_read_only(admin_client, user):
    response = admin_client.get(f"{USERS_URL}{user.pk}/change/")

    assert response.status_code == 200
    assertContains(response, 'name="full_name"')
    assertContains(response, 'name="bio"')
    assertNotContains(response, 'name="mfa_enabled"')
    assertNotContains(response, 'name="mfa_secret"')


@pytest.mark.django_db
def test_it_lets_a_superuser_add_a_member_with_a_password(admin_client):
    response = admin_client.post(
        f"{USERS_URL}add/",
        {
            "username": "added",
            "email": "added@example.com",
            "usable_password": "true",
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
        },
    )

    added = User.objects.get(username="added")
    assertRedirects(response, f"{USERS_URL}{added.pk}/change/")
    assert added.email == "added@example.com"
    assert added.check_password("a long enough passphrase")


@pytest.mark.django_db
def test_it_adds_https_to_a_website_a_superuser_types_without_a_scheme(admin_client, user):
    response = admin_client.post(
        f"{USERS_URL}{user.pk}/change/",
        {
            "username": "owner",
            "email": "owner@example.com",
            "full_name": "Ada Lovelace",
            "bio": "",
            "website": "owner.example",
            "is_active": "on",
        },
    )

    assertRedirects(response, USERS_URL)
    user.refresh_from_db()
    assert user.website == "https://owner.example"
    assert user.full_name == "Ada Lovelace"
