"""GET /api/v1/feed/: what the members you follow did, newest first."""

import pytest
from django.core.exceptions import ValidationError

from accounts import services as account_services
from social import services
from tests.factories import UserFactory, WorkbookFactory
from workbooks import services as workbook_services

pytestmark = pytest.mark.django_db

FEED = "/api/v1/feed/"
ACTIVITY_FIELDS = {"id", "verb", "actor", "target", "created_at"}


def feed(client) -> list[dict]:
    response = client.get(FEED)
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"next", "previous", "results"}
    return response.json()["results"]


def summary(items: list[dict]) -> list[tuple[str, str]]:
    return [(item["verb"], item["actor"]["username"]) for item in items]


@pytest.fixture
def ada(outsider):
    """Someone the outsider follows."""
    ada = UserFactory(username="ada", full_name="Ada Lovelace")
    services.follow(outsider, ada)
    return ada


def test_an_anonymous_visitor_gets_a_401(anonymous):
    response = anonymous.get(FEED)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_it_shows_what_followed_members_did_newest_first(outsider_client, ada, owner, workbook):
    services.favorite(ada, workbook)
    services.follow(ada, owner)
    services.add_comment(ada, workbook, "Nice.")
    services.follow(UserFactory(), owner)  # by someone the outsider does not follow

    items = feed(outsider_client)

    assert summary(items) == [("commented", "ada"), ("followed", "ada"), ("favorited", "ada")]
    assert all(set(item) == ACTIVITY_FIELDS for item in items)
    assert items[0]["id"] > items[1]["id"] > items[2]["id"]


def test_a_workbook_target_names_the_workbook(outsider_client, ada, workbook):
    services.favorite(ada, workbook)

    (item,) = feed(outsider_client)

    assert item["actor"] == {"username": "ada", "full_name": "Ada Lovelace", "avatar": None}
    assert item["target"] == {
        "type": "workbook",
        "id": workbook.pk,
        "slug": workbook.slug,
        "title": "Revenue by region",
        "url": f"/w/{workbook.slug}/",
    }
    assert item["created_at"].endswith("Z")


def test_a_follow_target_names_the_member_followed(outsider_client, ada, owner):
    services.follow(ada, owner)

    (item,) = feed(outsider_client)

    assert item["target"] == {
        "type": "user",
        "username": "owner",
        "full_name": owner.full_name,
        "avatar": None,
    }


def test_it_shows_publications_but_not_drafts(outsider_client, ada):
    published = WorkbookFactory(author=ada, title="Out now")
    draft = WorkbookFactory(author=ada, title="Not yet", status="draft")
    with pytest.raises(ValidationError):  # nor can anyone act on a draft
        services.add_comment(ada, draft, "A note on my draft.")

    items = feed(outsider_client)

    assert [(item["verb"], item["target"]["title"]) for item in items] == [
        ("published", published.title)
    ]


def test_it_forgets_a_workbook_unpublished_since(outsider_client, ada):
    workbook = WorkbookFactory(author=ada)
    workbook_services.update_workbook(workbook, status="draft")

    assert feed(outsider_client) == []


def test_it_hides_deactivated_members_and_their_workbooks(outsider_client, ada, owner, workbook):
    services.follow(ada, owner)
    services.favorite(ada, workbook)
    account_services.set_active(owner, False)
    services.follow(ada, UserFactory(username="still-here"))

    assert [(i["verb"], i["target"].get("username")) for i in feed(outsider_client)] == [
        ("followed", "still-here")
    ]

    account_services.set_active(ada, False)
    assert feed(outsider_client) == []


def test_unfollowing_empties_the_feed(outsider_client, outsider, ada, workbook):
    services.favorite(ada, workbook)
    services.unfollow(outsider, ada)

    assert feed(outsider_client) == []


def test_it_is_paginated(outsider_client, ada):
    for _ in range(3):
        services.follow(ada, UserFactory())

    first = outsider_client.get(FEED, {"page_size": 2}).json()
    second = outsider_client.get(first["next"]).json()

    assert [len(first["results"]), len(second["results"])] == [2, 1]
    assert second["next"] is None
