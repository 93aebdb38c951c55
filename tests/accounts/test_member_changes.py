"""What other apps show of a member follows what accounts changes, told through
accounts.signals (member_changed, member_deleting) by its services and its admin, never by the
User model's own signals: a member renamed, deactivated or deleted in the admin, or renaming
themselves, is seen at once on the cached pages, in the tag counts and in search."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from pytest_django.asserts import assertRedirects

from accounts import services
from accounts.models import User
from accounts.signals import member_changed
from tests.factories import UserFactory, WorkbookFactory
from workbooks import selectors

USERS_URL = "/admin/accounts/user/"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"


def home() -> str:
    """The home page as a visitor sees it (served from the cache when it holds a copy)."""
    response = Client().get("/", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200
    return response.content.decode()


def change_in_the_admin(admin_client, user: User, **changes) -> None:
    data = {
        "username": user.username,
        "email": user.email,
        "full_name": user.full_name,
        "bio": user.bio,
        "website": user.website,
        "is_active": "on",
    }
    data.update(changes)
    response = admin_client.post(f"{USERS_URL}{user.pk}/change/", data)
    assertRedirects(response, USERS_URL)


def search_titles(query: str) -> set[str]:
    return {w.title for w in selectors.search(selectors.Search(query=query))}


@pytest.mark.django_db
def test_the_profile_service_tells_what_it_changed():
    user = UserFactory()
    heard = []

    def listen(sender, user, fields, **kwargs):
        heard.append((user.pk, fields))

    member_changed.connect(listen, dispatch_uid="test.member_changed")
    try:
        services.update_profile(user, full_name="Grace Hopper", bio="Compilers.", website="")
    finally:
        member_changed.disconnect(dispatch_uid="test.member_changed")

    assert heard == [(user.pk, frozenset({"full_name", "bio", "website"}))]


@pytest.mark.django_db
def test_a_member_renamed_in_the_admin_is_renamed_on_the_cached_home_page(admin_client):
    author = UserFactory(full_name="Ada Lovelace")
    WorkbookFactory(author=author, title="Revenue by region")
    assert "Ada Lovelace" in home()

    change_in_the_admin(admin_client, author, full_name="Grace Hopper")

    page = home()
    assert "Grace Hopper" in page
    assert "Ada Lovelace" not in page


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_member_renamed_in_the_admin_or_by_themselves_is_found_by_the_new_name(admin_client):
    author = UserFactory(full_name="Ada Lovelace")
    WorkbookFactory(author=author, title="Revenue by region")
    assert search_titles("lovelace") == {"Revenue by region"}

    change_in_the_admin(admin_client, author, full_name="Grace Hopper")
    assert search_titles("lovelace") == set()
    assert search_titles("hopper") == {"Revenue by region"}

    services.update_profile(
        User.objects.get(pk=author.pk), full_name="Katherine Johnson", bio="", website=""
    )
    assert search_titles("hopper") == set()
    assert search_titles("johnson") == {"Revenue by region"}


@pytest.mark.django_db
def test_a_member_deactivated_in_the_admin_leaves_the_cached_pages_and_the_tag_counts(
    admin_client,
):
    author = UserFactory()
    WorkbookFactory(author=author, title="Revenue by region", tags=["finance"])
    assert "Revenue by region" in home()

    change_in_the_admin(admin_client, author, is_active="")

    assert "Revenue by region" not in home()
    assert not selectors.tags_with_counts().exists()


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["one", "in bulk"])
def test_a_member_deleted_in_the_admin_takes_their_workbooks_from_the_pages_and_tag_counts(
    admin_client, django_capture_on_commit_callbacks, how
):
    author, other = UserFactory(), UserFactory()
    WorkbookFactory(author=author, title="Revenue by region", tags=["finance", "saas"])
    WorkbookFactory(author=other, title="Churn by cohort", tags=["finance"])
    assert "Revenue by region" in home()

    with django_capture_on_commit_callbacks(execute=True):
        if how == "one":
            response = admin_client.post(f"{USERS_URL}{author.pk}/delete/", {"post": "yes"})
        else:
            response = admin_client.post(
                USERS_URL,
                {"action": "delete_selected", ACTION_CHECKBOX_NAME: [author.pk], "post": "yes"},
            )

    assert response.status_code == 302
    assert not User.objects.filter(pk=author.pk).exists()
    page = home()
    assert "Revenue by region" not in page
    assert "Churn by cohort" in page
    counts = {tag.name: tag.workbook_count for tag in selectors.tags_with_counts()}
    assert counts == {"finance": 1}
