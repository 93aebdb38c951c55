"""GET /api/v1/users/{username}/ and its lists: workbooks, favorites, followers, following."""

import pytest

from social import services
from tests.factories import UserFactory, WorkbookFactory
from workbooks.models import Workbook

PROFILE_FIELDS = {
    "username", "full_name", "bio", "website", "avatar", "workbook_count", "follower_count",
    "following_count", "favorite_count", "is_following",
}  # fmt: skip
MEMBER_FIELDS = {"username", "full_name", "avatar"}
WORKBOOK_FIELDS = {
    "id", "slug", "url", "title", "description", "description_html", "embed_url", "embed_kind",
    "author", "tags", "status", "published_at", "updated_at", "view_count", "favorite_count",
    "comment_count", "is_favorited", "thumbnail",
}  # fmt: skip
LISTS = ["workbooks", "favorites", "followers", "following"]

pytestmark = pytest.mark.django_db


def url(username: str, what: str = "") -> str:
    return f"/api/v1/users/{username}/{what + '/' if what else ''}"


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"next", "previous", "results"}
    return response.json()["results"]


def usernames(response) -> list[str]:
    return [item["username"] for item in results(response)]


def titles(response) -> list[str]:
    return [item["title"] for item in results(response)]


def deactivate(user) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])


# --- The profile ----------------------------------------------------------------------------------


def test_it_shows_a_member_s_profile_with_exact_counts(anonymous, owner, outsider, workbook, draft):
    owner.bio, owner.website = "I chart things.", "https://owner.example"
    owner.save()
    services.follow(outsider, owner)
    services.follow(owner, outsider)
    services.favorite(owner, WorkbookFactory(author=outsider))

    response = anonymous.get(url("owner"))

    assert response.status_code == 200
    assert response.json() == {
        "username": "owner",
        "full_name": owner.full_name,
        "bio": "I chart things.",
        "website": "https://owner.example",
        "avatar": None,
        "workbook_count": 1,  # the draft does not count
        "follower_count": 1,
        "following_count": 1,
        "favorite_count": 1,
        "is_following": False,
    }


def test_it_finds_a_member_whatever_the_case(anonymous, owner):
    response = anonymous.get(url("OWNER"))

    assert response.status_code == 200
    assert response.json()["username"] == "owner"
    assert set(response.json()) == PROFILE_FIELDS


def test_it_says_whether_the_viewer_follows_the_member(
    owner_client, outsider_client, owner, outsider
):
    services.follow(UserFactory(), owner)
    assert outsider_client.get(url("owner")).json()["is_following"] is False

    services.follow(outsider, owner)

    assert outsider_client.get(url("owner")).json()["is_following"] is True
    assert owner_client.get(url("owner")).json()["is_following"] is False


@pytest.mark.parametrize("what", ["", *LISTS])
def test_it_answers_404_for_an_unknown_member(anonymous, what):
    response = anonymous.get(url("nobody", what))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("what", ["", *LISTS])
def test_it_answers_404_for_a_deactivated_member(outsider_client, owner, what):
    deactivate(owner)

    assert outsider_client.get(url("owner", what)).status_code == 404


# --- Their workbooks ------------------------------------------------------------------------------


def test_it_lists_a_member_s_published_workbooks_newest_first(anonymous, owner, workbook, draft):
    newer = WorkbookFactory(author=owner, title="Newer")
    WorkbookFactory(title="Someone else's")

    response = anonymous.get(url("owner", "workbooks"))

    assert titles(response) == [newer.title, workbook.title]
    assert set(results(response)[0]) == WORKBOOK_FIELDS


def test_the_member_s_own_list_leaves_their_drafts_out_too(owner_client, workbook, draft):
    assert titles(owner_client.get(url("owner", "workbooks"))) == [workbook.title]


def test_it_says_which_workbooks_the_viewer_favorited(outsider_client, anonymous, owner, outsider):
    liked, other = WorkbookFactory(author=owner), WorkbookFactory(author=owner)
    services.favorite(outsider, liked)

    listed = {
        item["id"]: item["is_favorited"]
        for item in results(outsider_client.get(url("owner", "workbooks")))
    }
    anonymous_listed = results(anonymous.get(url("owner", "workbooks")))

    assert listed == {liked.pk: True, other.pk: False}
    assert [item["is_favorited"] for item in anonymous_listed] == [False, False]


# --- Their favorites ------------------------------------------------------------------------------


def test_it_lists_a_member_s_favorites_last_favorited_first(anonymous, owner, outsider):
    first, second = WorkbookFactory(author=outsider), WorkbookFactory(author=outsider)
    services.favorite(owner, first)
    services.favorite(owner, second)
    services.favorite(outsider, first)

    response = anonymous.get(url("owner", "favorites"))

    assert titles(response) == [second.title, first.title]
    assert set(results(response)[0]) == WORKBOOK_FIELDS
    assert results(response)[0]["description_html"]  # every field, not just a card's


def test_favorites_leave_out_unpublished_and_deactivated_authors_workbooks(anonymous, owner):
    kept, unpublished, orphaned = WorkbookFactory.create_batch(3)
    for workbook in (kept, unpublished, orphaned):
        services.favorite(owner, workbook)
    Workbook.objects.filter(pk=unpublished.pk).update(status="draft")
    deactivate(orphaned.author)

    assert titles(anonymous.get(url("owner", "favorites"))) == [kept.title]


def test_favorites_say_which_ones_the_viewer_favorited_too(outsider_client, owner, outsider):
    shared, only_owner_s = WorkbookFactory.create_batch(2)
    services.favorite(owner, only_owner_s)
    services.favorite(owner, shared)
    services.favorite(outsider, shared)

    listed = results(outsider_client.get(url("owner", "favorites")))

    assert [(item["id"], item["is_favorited"]) for item in listed] == [
        (shared.pk, True),
        (only_owner_s.pk, False),
    ]


# --- Followers and following ----------------------------------------------------------------------


def test_it_lists_followers_newest_first_as_compact_members(anonymous, owner):
    first, second = UserFactory(username="first"), UserFactory(username="second")
    services.follow(first, owner)
    services.follow(second, owner)

    response = anonymous.get(url("owner", "followers"))

    assert usernames(response) == ["second", "first"]
    assert results(response)[0] == {
        "username": "second",
        "full_name": second.full_name,
        "avatar": None,
    }


def test_it_lists_whom_a_member_follows_newest_first(anonymous, owner):
    for name in ("first", "second"):
        services.follow(owner, UserFactory(username=name))
    services.follow(UserFactory(), owner)

    response = anonymous.get(url("owner", "following"))

    assert usernames(response) == ["second", "first"]
    assert set(results(response)[0]) == MEMBER_FIELDS


def test_deactivated_members_drop_out_of_both_lists(anonymous, owner):
    gone = UserFactory(username="gone")
    services.follow(gone, owner)
    services.follow(owner, gone)
    deactivate(gone)

    assert usernames(anonymous.get(url("owner", "followers"))) == []
    assert usernames(anonymous.get(url("owner", "following"))) == []


def test_the_lists_are_paginated(anonymous, owner):
    followers = UserFactory.create_batch(3)
    for follower in followers:
        services.follow(follower, owner)

    first = anonymous.get(url("owner", "followers"), {"page_size": 2}).json()
    second = anonymous.get(first["next"]).json()

    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert len(second["results"]) == 1
    assert second["next"] is None
    assert {m["username"] for m in first["results"] + second["results"]} == {
        f.username for f in followers
    }


@pytest.mark.parametrize("what", ["followers", "following"])
def test_follows_made_in_the_same_instant_page_in_one_fixed_order(anonymous, owner, what):
    from social.models import Follow

    for other in UserFactory.create_batch(7):
        follower, followee = (other, owner) if what == "followers" else (owner, other)
        services.follow(follower, followee)
    Follow.objects.update(created_at=Follow.objects.first().created_at)

    seen, page = [], anonymous.get(url("owner", what), {"page_size": 2}).json()
    while True:
        seen += [member["username"] for member in page["results"]]
        if not page["next"]:
            break
        page = anonymous.get(page["next"]).json()

    newest_link_first = Follow.objects.order_by("-id")
    side = "follower" if what == "followers" else "followee"
    assert seen == [getattr(link, side).username for link in newest_link_first]
