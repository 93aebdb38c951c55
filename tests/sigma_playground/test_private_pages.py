"""A response made for a signed-in member says `Cache-Control: private`: no shared cache may keep it."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils.cache import get_max_age

from accounts.tokens import issue_tokens
from sigma_playground.caching import PrivateCacheMiddleware
from tests.factories import WorkbookFactory


def directives(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["/", "/settings/", "/notifications/", "/feed/", "/explore/", "/u/owner/", "/w/new/"],
)
def test_a_page_rendered_for_a_member_is_private(client, user, url):
    WorkbookFactory(author=user, title="Revenue by region")
    client.force_login(user)

    response = client.get(url)

    assert response.status_code == 200
    assert "private" in directives(response)
    assert "public" not in directives(response)


@pytest.mark.django_db
def test_a_page_showing_a_secret_keeps_no_store(client, user):
    client.force_login(user)

    response = client.get("/settings/two-factor/")

    assert response.status_code == 200
    assert {"private", "no-store"} <= directives(response)


@pytest.mark.django_db
def test_an_api_answer_for_a_bearer_token_is_private(api_client, user):
    token = issue_tokens(user).access

    response = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    assert "private" in directives(response)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/explore/", "/api/v1/workbooks/"])
def test_a_page_for_visitors_is_not_marked_private(client, url):
    WorkbookFactory(title="Revenue by region")

    response = client.get(url)

    assert response.status_code == 200
    assert "private" not in directives(response)


@pytest.mark.django_db
def test_a_response_that_never_asked_who_is_signed_in_looks_nobody_up(client, user):
    client.force_login(user)

    with CaptureQueriesContext(connection) as captured:
        response = client.get("/healthz")

    assert response.status_code == 200
    assert len(captured) == 0  # not even the session: /healthz does no I/O


def respond_with(cache_control: str):
    def view(request):
        response = HttpResponse("personal")
        if cache_control:
            response["Cache-Control"] = cache_control
        return response

    return view


@pytest.mark.parametrize(
    ("set_by_view", "expected"),
    [
        ("no-store", {"no-store"}),
        ("no-cache, no-store, must-revalidate", {"no-cache", "no-store", "must-revalidate"}),
        ("private, max-age=0", {"private", "max-age=0"}),
        ("public, max-age=60", {"private", "max-age=60"}),
        ("max-age=60", {"private", "max-age=60"}),
    ],
)
def test_a_views_own_policy_is_only_ever_made_stricter(rf, set_by_view, expected):
    request = rf.get("/")
    request.user = type("Member", (), {"is_authenticated": True})()
    middleware = PrivateCacheMiddleware(respond_with(set_by_view))

    response = middleware(request)

    assert directives(response) == expected


def test_nothing_is_added_for_a_visitor(rf):
    request = rf.get("/")
    request.user = AnonymousUser()

    response = PrivateCacheMiddleware(respond_with("max-age=60"))(request)

    assert get_max_age(response) == 60
    assert "private" not in directives(response)
