"""GET /api/v1/notifications/ and POST /api/v1/notifications/read/."""

import pytest

from social import payloads, services
from social.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/notifications/"
READ = "/api/v1/notifications/read/"
NOTIFICATION_FIELDS = {"id", "verb", "actor", "target", "created_at", "read"}


@pytest.fixture
def three(owner, outsider, workbook):
    """The owner's three notifications, oldest first: followed, favorited, commented."""
    services.follow(outsider, owner)
    services.favorite(outsider, workbook)
    services.add_comment(outsider, workbook, "Lovely charts.")
    return list(Notification.objects.filter(recipient=owner).order_by("pk"))


def page(response) -> dict:
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"next", "previous", "results", "unread_count"}
    return response.json()


def test_an_anonymous_visitor_gets_a_401(anonymous):
    assert anonymous.get(LIST).status_code == 401
    assert anonymous.post(READ, {"all": True}, format="json").status_code == 401


def test_it_lists_the_member_s_notifications_newest_first_with_the_unread_count(
    owner_client, three
):
    body = page(owner_client.get(LIST))

    assert [item["verb"] for item in body["results"]] == ["commented", "favorited", "followed"]
    assert all(set(item) == NOTIFICATION_FIELDS for item in body["results"])
    assert body["unread_count"] == 3


def test_each_notification_is_the_object_the_websocket_sends(owner_client, three, workbook):
    commented = page(owner_client.get(LIST))["results"][0]

    assert commented == payloads.notification(three[2])
    assert commented["actor"]["username"] == "outsider"
    assert commented["target"] == {
        "type": "workbook",
        "id": workbook.pk,
        "slug": workbook.slug,
        "title": workbook.title,
        "url": f"/w/{workbook.slug}/",
        "comment_id": three[2].comment_id,
    }
    assert commented["read"] is False


def test_a_follow_has_no_target(owner_client, three):
    followed = page(owner_client.get(LIST))["results"][-1]

    assert followed["verb"] == "followed"
    assert followed["target"] is None


def test_it_shows_no_one_else_s_notifications(outsider_client, three):
    body = page(outsider_client.get(LIST))

    assert body["results"] == []
    assert body["unread_count"] == 0


def test_unread_true_lists_only_the_unread_but_counts_them_all(owner_client, owner, three):
    services.mark_read(owner, [three[1].pk])

    body = page(owner_client.get(LIST, {"unread": "true"}))

    assert [item["id"] for item in body["results"]] == [three[2].pk, three[0].pk]
    assert body["unread_count"] == 2
    assert len(page(owner_client.get(LIST, {"unread": "false"}))["results"]) == 3


def test_a_bad_unread_value_is_a_400(owner_client):
    response = owner_client.get(LIST, {"unread": "perhaps"})

    assert response.status_code == 400
    assert "unread" in response.json()


def test_the_list_is_paginated(owner_client, three):
    first = page(owner_client.get(LIST, {"page_size": 2}))
    second = page(owner_client.get(first["next"]))

    assert [len(first["results"]), len(second["results"])] == [2, 1]
    assert second["unread_count"] == 3


# --- Marking read ---------------------------------------------------------------------------------


def test_marking_some_read(owner_client, three):
    response = owner_client.post(READ, {"ids": [three[0].pk, three[2].pk]}, format="json")

    assert response.status_code == 204
    assert [n.read for n in Notification.objects.order_by("pk")] == [True, False, True]
    assert page(owner_client.get(LIST))["unread_count"] == 1


def test_marking_all_read(owner_client, three):
    response = owner_client.post(READ, {"all": True}, format="json")

    assert response.status_code == 204
    assert not Notification.objects.filter(read=False).exists()


def test_marking_read_ignores_someone_else_s_ids(outsider_client, three):
    assert (
        outsider_client.post(READ, {"ids": [n.pk for n in three]}, format="json").status_code == 204
    )
    assert outsider_client.post(READ, {"all": True}, format="json").status_code == 204

    assert not Notification.objects.filter(read=True).exists()


def test_marking_read_twice_is_harmless(owner_client, three):
    for _ in range(2):
        assert owner_client.post(READ, {"ids": [three[0].pk]}, format="json").status_code == 204


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="neither"),
        pytest.param({"all": False}, id="all false"),
        pytest.param({"ids": []}, id="no ids"),
        pytest.param({"ids": ["one"]}, id="not numbers"),
        pytest.param({"ids": 3}, id="not a list"),
        pytest.param({"ids": [1], "all": True}, id="both"),
        pytest.param({"all": "maybe"}, id="not a boolean"),
    ],
)
def test_marking_read_without_a_clear_request_is_a_400(owner_client, three, body):
    response = owner_client.post(READ, body, format="json")

    assert response.status_code == 400
    assert not Notification.objects.filter(read=True).exists()


def test_malformed_json_is_a_400(owner_client):
    response = owner_client.post(READ, "{nope", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_a_muted_verb_never_reaches_the_list(owner_client, owner, workbook):
    services.set_muted_verbs(owner, ["favorited"])
    services.favorite(UserFactory(), workbook)

    assert page(owner_client.get(LIST))["results"] == []
