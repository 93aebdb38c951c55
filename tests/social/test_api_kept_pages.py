"""The API feed and notifications: a member's first page is kept whole for them (social.kept, as the
HTML pages are) and answered from the cache while nothing it shows has changed."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tokens import issue_tokens
from social import services
from social.models import Notification
from tests.factories import UserFactory, WorkbookFactory
from workbooks import cache as gallery_cache

pytestmark = pytest.mark.django_db

FEED, NOTIFICATIONS = "/api/v1/feed/", "/api/v1/notifications/"


@pytest.fixture(autouse=True)
def one_minute(monkeypatch):
    """Kept pages are good for the minute they were made in; these tests must not see two."""
    monkeypatch.setattr(gallery_cache, "minute", lambda: 29_000_002)


@pytest.fixture
def reader(db):
    reader = UserFactory(username="reader")
    ada = UserFactory(username="ada", full_name="Ada Lovelace")
    services.follow(reader, ada)
    services.favorite(ada, WorkbookFactory(title="Revenue by region"))
    services.follow(ada, reader)  # a notification for the reader
    return reader


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))  # a fresh row, as a request has
    return client


def get(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response


@pytest.mark.parametrize("url", [FEED, NOTIFICATIONS])
def test_a_reload_is_answered_from_the_kept_page_without_a_query(reader, url):
    first = get(client_for(reader), url)
    assert first.json()["results"]
    client = client_for(reader)

    with CaptureQueriesContext(connection) as captured:
        again = get(client, url)

    assert len(captured) == 0
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]


@pytest.mark.parametrize("url", [FEED, NOTIFICATIONS])
def test_a_bearer_reload_makes_no_query(reader, url, django_assert_num_queries):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_tokens(reader).access}"}
    first = APIClient().get(url, **headers)
    assert first.status_code == 200

    # The token's member from their kept copy (accounts.api.authentication), the page kept.
    with django_assert_num_queries(0):
        again = APIClient().get(url, **headers)

    assert again.content == first.content


@pytest.mark.parametrize("url", [FEED, NOTIFICATIONS])
def test_a_deactivated_or_deleted_member_s_token_is_refused_at_once(reader, url):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_tokens(reader).access}"}
    assert APIClient().get(url, **headers).status_code == 200
    assert APIClient().get(url, **headers).status_code == 200  # kept: the member and the page

    reader.is_active = False
    reader.save()
    deactivated = APIClient().get(url, **headers)
    reader.is_active = True
    reader.save()
    assert APIClient().get(url, **headers).status_code == 200
    reader.delete()
    deleted = APIClient().get(url, **headers)

    assert (deactivated.status_code, deactivated.json()["code"]) == (401, "user_inactive")
    assert (deleted.status_code, deleted.json()["code"]) == (401, "user_not_found")


def test_a_new_notification_or_a_read_shows_at_once(reader):
    before = get(client_for(reader), NOTIFICATIONS).json()
    assert before["unread_count"] == 1

    services.follow(UserFactory(username="grace"), reader)
    grown = get(client_for(reader), NOTIFICATIONS).json()
    services.mark_read(reader)
    read = get(client_for(reader), NOTIFICATIONS).json()

    assert grown["unread_count"] == 2
    assert [item["actor"]["username"] for item in grown["results"]] == ["grace", "ada"]
    assert read["unread_count"] == 0
    assert not any(item["read"] is False for item in read["results"])


def test_what_a_followed_member_does_and_a_new_follow_show_at_once(reader):
    get(client_for(reader), FEED)

    ada = User.objects.get(username="ada")
    services.favorite(ada, WorkbookFactory(title="Churn by cohort"))
    after_favorite = get(client_for(reader), FEED).json()["results"]
    grace = UserFactory(username="grace")
    services.favorite(grace, WorkbookFactory(title="Pipeline"))
    services.follow(reader, grace)
    after_follow = get(client_for(reader), FEED).json()["results"]

    assert after_favorite[0]["target"]["title"] == "Churn by cohort"
    assert after_follow[0]["actor"]["username"] == "grace"


@pytest.mark.parametrize("url", [FEED, NOTIFICATIONS])
def test_a_member_is_never_answered_another_s_kept_page(reader, url):
    get(client_for(reader), url)
    other = UserFactory(username="other")

    theirs = get(client_for(other), url).json()

    assert theirs["results"] == []


def test_an_answer_asked_for_in_another_form_is_not_kept(reader):
    indented = client_for(reader).get(NOTIFICATIONS, HTTP_ACCEPT="application/json; indent=4")
    assert b'\n    "results"' in indented.content

    plain = get(client_for(reader), NOTIFICATIONS)

    assert b"\n" not in plain.content


def test_a_later_page_is_not_kept(reader):
    for _ in range(3):
        services.follow(UserFactory(), reader)
    client = client_for(reader)
    second = client.get(NOTIFICATIONS + "?page_size=2")
    assert second.status_code == 200
    Notification.objects.filter(recipient=reader).update(read=True)  # no service: nothing renewed

    again = client_for(reader).get(NOTIFICATIONS + "?page_size=2").json()

    assert again["unread_count"] == 0  # made again, not a kept copy
