"""PUT and DELETE /api/v1/workbooks/{id}/favorite/, and `is_favorited` in the workbooks API."""

import pytest
from django.urls import resolve

from social import services
from social.api import views
from social.models import Favorite, Notification
from tests.factories import FeaturedFactory, WorkbookFactory
from workbooks.models import Workbook

pytestmark = pytest.mark.django_db


def favorite_url(workbook) -> str:
    return f"/api/v1/workbooks/{workbook.pk}/favorite/"


def test_the_route_is_social_s_not_the_workbooks_router_s(workbook):
    assert resolve(favorite_url(workbook)).func.view_class is views.FavoriteView


def test_favoriting_answers_the_workbook(outsider_client, workbook):
    response = outsider_client.put(favorite_url(workbook))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == workbook.pk
    assert body["is_favorited"] is True
    assert body["favorite_count"] == 1


def test_favoriting_twice_is_the_same_as_once(outsider_client, outsider, workbook):
    outsider_client.put(favorite_url(workbook))
    response = outsider_client.put(favorite_url(workbook))

    assert response.status_code == 200
    assert response.json()["favorite_count"] == 1
    assert Favorite.objects.filter(user=outsider).count() == 1
    outsider.refresh_from_db()
    assert outsider.favorite_count == 1


def test_favoriting_notifies_the_author(outsider_client, owner, workbook):
    outsider_client.put(favorite_url(workbook))

    notification = Notification.objects.get()
    assert (notification.recipient, notification.verb, notification.workbook) == (
        owner,
        "favorited",
        workbook,
    )


def test_unfavoriting_answers_204_every_time(outsider_client, outsider, workbook):
    outsider_client.put(favorite_url(workbook))

    first = outsider_client.delete(favorite_url(workbook))
    again = outsider_client.delete(favorite_url(workbook))

    assert (first.status_code, again.status_code) == (204, 204)
    workbook.refresh_from_db()
    outsider.refresh_from_db()
    assert (workbook.favorite_count, outsider.favorite_count) == (0, 0)


@pytest.mark.parametrize("method", ["put", "delete"])
def test_an_anonymous_visitor_gets_a_401(anonymous, workbook, method):
    response = getattr(anonymous, method)(favorite_url(workbook))

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("method", ["put", "delete"])
def test_someone_else_s_draft_is_a_404(outsider_client, draft, method):
    response = getattr(outsider_client, method)(favorite_url(draft))

    assert response.status_code == 404
    assert not Favorite.objects.exists()


@pytest.mark.parametrize("method", ["put", "delete"])
def test_an_unknown_workbook_is_a_404(outsider_client, method):
    assert getattr(outsider_client, method)("/api/v1/workbooks/999999/favorite/").status_code == 404


def test_its_author_cannot_favorite_a_draft(owner_client, draft):
    response = owner_client.put(favorite_url(draft))

    assert response.status_code == 400
    assert response.json()["code"] == "not_published"
    assert not Favorite.objects.exists()


def test_a_favorite_of_a_workbook_unpublished_since_can_still_be_removed(owner_client, owner):
    theirs = WorkbookFactory(author=owner)
    services.favorite(owner, theirs)
    Workbook.objects.filter(pk=theirs.pk).update(status="draft")

    assert owner_client.delete(favorite_url(theirs)).status_code == 204
    assert not Favorite.objects.exists()


def test_favoriting_too_many_at_once_is_a_429_with_retry_after(rate_limits, outsider_client):
    first, second, third = WorkbookFactory.create_batch(3)
    outsider_client.put(favorite_url(first))
    outsider_client.put(favorite_url(second))

    response = outsider_client.put(favorite_url(third))

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Favorite.objects.count() == 2


# --- `is_favorited` in the workbooks API ----------------------------------------------------------


@pytest.fixture
def favorited(outsider, workbook):
    """The owner's workbook, favorited by the outsider; and another nobody favorited."""
    services.favorite(outsider, workbook)
    return workbook


@pytest.mark.parametrize(
    ("client_name", "expected"),
    [("outsider_client", True), ("owner_client", False), ("anonymous", False)],
)
def test_the_workbook_list_says_whether_the_viewer_favorited_each(
    request, favorited, client_name, expected
):
    other = WorkbookFactory()
    client = request.getfixturevalue(client_name)

    listed = {
        item["id"]: item["is_favorited"]
        for item in client.get("/api/v1/workbooks/").json()["results"]
    }

    assert listed == {favorited.pk: expected, other.pk: False}


@pytest.mark.parametrize(
    ("client_name", "expected"),
    [("outsider_client", True), ("owner_client", False), ("anonymous", False)],
)
def test_a_workbook_says_whether_the_viewer_favorited_it(request, favorited, client_name, expected):
    client = request.getfixturevalue(client_name)

    response = client.get(f"/api/v1/workbooks/{favorited.pk}/")

    assert response.json()["is_favorited"] is expected


def test_a_search_says_whether_the_viewer_favorited_each(outsider_client, favorited):
    results = outsider_client.get("/api/v1/workbooks/", {"q": "revenue"}).json()["results"]

    assert [(item["id"], item["is_favorited"]) for item in results] == [(favorited.pk, True)]


def test_featured_workbooks_say_whether_the_viewer_favorited_each(outsider_client, favorited):
    FeaturedFactory(workbook=favorited)
    FeaturedFactory()

    results = outsider_client.get("/api/v1/featured/").json()["results"]

    assert [item["is_favorited"] for item in results] == [True, False]


def test_a_workbook_s_author_sees_is_favorited_after_editing(owner_client, owner, workbook):
    services.favorite(owner, workbook)

    response = owner_client.patch(
        f"/api/v1/workbooks/{workbook.pk}/", {"title": "Renamed"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["is_favorited"] is True
