"""The API as the site's own pages call it (static/js/social.js): the session cookie, the CSRF token
in X-CSRFToken; follow, favorite, mark read and the cards' favorited state. The pages themselves
answer HTML only, whatever the request accepts."""

import pytest
from django.test import Client
from pytest_django.asserts import assertRedirects

from social import services
from social.models import Favorite, Follow, Notification
from tests.factories import UserFactory, WorkbookFactory

pytestmark = pytest.mark.django_db

JSON = "application/json"


@pytest.fixture
def site(owner, outsider):
    """The outsider's browser: signed in with a session, CSRF checked as in production, and the
    token its pages gave it."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(outsider)
    browser.get("/u/owner/")  # the follow form's token sets the cookie
    browser.defaults["HTTP_X_CSRFTOKEN"] = browser.cookies["csrftoken"].value
    return browser


def test_a_write_without_the_csrf_token_is_refused(outsider, owner):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(outsider)

    response = browser.put("/api/v1/users/owner/follow/")

    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")
    assert not Follow.objects.exists()


def test_following_answers_the_new_state_and_count(site, owner):
    response = site.put("/api/v1/users/owner/follow/")

    assert response.status_code == 200
    assert (response.json()["is_following"], response.json()["follower_count"]) == (True, 1)


def test_after_unfollowing_the_profile_says_so(site, owner, outsider):
    services.follow(outsider, owner)

    assert site.delete("/api/v1/users/owner/follow/").status_code == 204
    profile = site.get("/api/v1/users/owner/").json()

    assert (profile["is_following"], profile["follower_count"]) == (False, 0)


def test_a_rate_limited_follow_is_a_429_with_its_reason(site, rate_limits):
    others = UserFactory.create_batch(3)

    for other in others:
        response = site.put(f"/api/v1/users/{other.username}/follow/")

    assert response.status_code == 429
    assert response["Retry-After"]
    assert response.json()["code"] == "throttled"
    assert response.json()["detail"]


def test_favoriting_answers_the_new_state_and_count(site, workbook):
    response = site.put(f"/api/v1/workbooks/{workbook.pk}/favorite/")

    assert response.status_code == 200
    assert (response.json()["is_favorited"], response.json()["favorite_count"]) == (True, 1)


def test_after_unfavoriting_the_workbook_says_so(site, outsider, workbook):
    services.favorite(outsider, workbook)

    assert site.delete(f"/api/v1/workbooks/{workbook.pk}/favorite/").status_code == 204
    body = site.get(f"/api/v1/workbooks/{workbook.pk}/").json()

    assert (body["is_favorited"], body["favorite_count"]) == (False, 0)


def test_an_authors_own_draft_is_refused_with_the_apis_reason(owner, draft):
    browser = Client()
    browser.force_login(owner)

    response = browser.put(f"/api/v1/workbooks/{draft.pk}/favorite/")

    assert response.status_code == 400
    assert response.json()["code"] == "not_published"
    assert not Favorite.objects.exists()


def test_marking_read_then_reading_the_unread_count(site, outsider):
    first, second = (
        Notification.objects.create(recipient=outsider, actor=UserFactory(), verb="followed")
        for _ in range(2)
    )

    marked = site.post("/api/v1/notifications/read/", {"ids": [first.pk]}, content_type=JSON)
    unread = site.get("/api/v1/notifications/?unread=true&page_size=1")

    assert marked.status_code == 204
    assert unread.json()["unread_count"] == 1
    assert [row["id"] for row in unread.json()["results"]] == [second.pk]


# --- The cards' state ------------------------------------------------------------------------------


def test_it_tells_the_cards_which_of_them_the_viewer_favorited(site, outsider, workbook):
    other = WorkbookFactory(title="Other")
    liked = WorkbookFactory(title="Liked")
    services.favorite(outsider, workbook)
    services.favorite(outsider, liked)
    services.favorite(UserFactory(), other)

    response = site.get(
        f"/api/v1/me/favorited/?ids={workbook.pk},{other.pk},x,,{liked.pk},99999999999"
    )

    assert response.status_code == 200
    assert response.json() == {"favorited": sorted([workbook.pk, liked.pk])}
    assert "no-store" in response["Cache-Control"]


def test_it_reads_the_first_hundred_ids(site, outsider):
    workbooks = WorkbookFactory.create_batch(2)
    for workbook in workbooks:
        services.favorite(outsider, workbook)
    ids = [str(workbooks[0].pk)] + ["999999"] * 99 + [str(workbooks[1].pk)]

    response = site.get(f"/api/v1/me/favorited/?ids={','.join(ids)}")

    assert response.json() == {"favorited": [workbooks[0].pk]}


def test_only_members_may_ask_which_cards_they_favorited(workbook):
    response = Client().get(f"/api/v1/me/favorited/?ids={workbook.pk}")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_cards_state_answers_only_get(site):
    assert site.post("/api/v1/me/favorited/?ids=1").status_code == 405


# --- The pages answer HTML only -------------------------------------------------------------------


def test_a_follow_form_asking_for_json_is_still_answered_with_a_redirect(client, owner, outsider):
    client.force_login(outsider)

    response = client.post("/u/owner/follow/", {"follow": "1"}, HTTP_ACCEPT=JSON)

    assertRedirects(response, "/u/owner/", fetch_redirect_response=False)
    assert Follow.objects.filter(follower=outsider, followee=owner).exists()


def test_a_favorite_form_asking_for_json_is_still_answered_with_a_redirect(
    client, outsider, workbook
):
    client.force_login(outsider)

    response = client.post(f"/w/{workbook.slug}/favorite/", {"favorite": "1"}, HTTP_ACCEPT=JSON)

    assertRedirects(response, workbook.get_absolute_url(), fetch_redirect_response=False)


def test_a_refused_form_asking_for_json_is_still_answered_with_a_page(client, owner):
    client.force_login(owner)

    response = client.post("/u/owner/follow/", {"follow": "1"}, HTTP_ACCEPT=JSON)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_mark_all_read_asking_for_json_is_still_answered_with_a_redirect(client, outsider):
    client.force_login(outsider)

    response = client.post("/notifications/read/", {"all": "1"}, HTTP_ACCEPT=JSON)

    assertRedirects(response, "/notifications/", fetch_redirect_response=False)


def test_the_pages_no_longer_answer_the_cards_state(client, outsider):
    client.force_login(outsider)

    assert client.get("/favorited/?ids=1").status_code == 404
