"""API workbook lists answered from the copy kept for visitors (workbooks.api.kept): a visitor's hit
before DRF reads the request, a member's page from the same copy with their own `is_favorited`, and
the bearer token's member read by one statement, still on every request."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tokens import issue_tokens
from social import services as social_services
from tests.factories import UserFactory

LISTS = ["/api/v1/workbooks/", "/api/v1/workbooks/?tag=finance", "/api/v1/users/ada/workbooks/"]


pytestmark = pytest.mark.usefixtures("one_minute")  # these tests must not see two minutes


@pytest.fixture
def drf_requests(monkeypatch) -> list[str]:
    """The paths DRF read a request of (its `initial`: authentication, permissions, throttles)."""
    seen: list[str] = []
    real = APIView.initial

    def initial(self, request, *args, **kwargs):
        seen.append(request.path)
        return real(self, request, *args, **kwargs)

    monkeypatch.setattr(APIView, "initial", initial)
    return seen


def bearer(user) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_tokens(user).access}"}


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
def test_a_visitor_s_kept_list_is_answered_before_drf_reads_the_request(gallery, drf_requests, url):
    first = Client().get(url)
    assert first.status_code == 200
    assert len(drf_requests) == 1

    with CaptureQueriesContext(connection) as captured:
        again = Client().get(url, HTTP_ACCEPT="application/json")

    assert drf_requests == [url.split("?")[0]]  # not again
    assert len(captured) == 0
    assert again.content == first.content
    # The same headers, but for the request id each answer has of its own.
    assert again["X-Request-ID"] != first["X-Request-ID"]
    del again["X-Request-ID"], first["X-Request-ID"]
    assert dict(again.headers) == dict(first.headers)


@pytest.mark.django_db
def test_an_answer_asked_for_in_another_form_is_neither_kept_nor_served_the_kept_copy(gallery):
    indented = Client().get("/api/v1/workbooks/", HTTP_ACCEPT="application/json; indent=4")
    assert indented.status_code == 200
    assert b'\n    "results"' in indented.content

    plain = Client().get("/api/v1/workbooks/")
    assert b"\n" not in plain.content  # the indented answer was not kept for everyone

    again = Client().get("/api/v1/workbooks/", HTTP_ACCEPT="application/json; indent=4")
    assert again.content == indented.content  # and the kept plain one is not served to it
    refused = Client().get("/api/v1/workbooks/", HTTP_ACCEPT="text/html")
    assert refused.status_code == 406


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
def test_a_member_s_page_is_the_kept_copy_with_their_own_favorites_in_two_queries(
    gallery, url, django_assert_num_queries
):
    bob = UserFactory(username="bob")
    social_services.favorite(bob, gallery)
    visitors = Client().get(url).json()
    headers = bearer(bob)

    with django_assert_num_queries(2):  # the member (the token's), their favorites among the page
        page = Client().get(url, **headers)

    assert page.status_code == 200
    body = page.json()
    favorited = {row["id"]: row["is_favorited"] for row in body["results"]}
    assert favorited[gallery.pk] is True
    assert sum(favorited.values()) == 1
    for row in body["results"]:
        row["is_favorited"] = False
    assert body == visitors


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
def test_a_member_s_reload_of_a_kept_list_makes_no_query(gallery, url, django_assert_num_queries):
    bob = UserFactory(username="bob")
    social_services.favorite(bob, gallery)
    Client().get(url)
    headers = bearer(bob)
    first = Client().get(url, **headers)

    # The member's kept copy (accounts.api.authentication), their favorites among the page kept.
    with django_assert_num_queries(0):
        again = Client().get(url, **headers)

    assert again.json() == first.json()


@pytest.mark.django_db
def test_a_member_s_favorite_shows_at_once_though_the_list_is_kept(gallery):
    bob = UserFactory(username="bob")
    Client().get("/api/v1/workbooks/")
    headers = bearer(bob)

    social_services.favorite(bob, gallery)
    after = Client().get("/api/v1/workbooks/", **headers).json()["results"]
    social_services.unfavorite(bob, gallery)
    undone = Client().get("/api/v1/workbooks/", **headers).json()["results"]

    assert [row["id"] for row in after if row["is_favorited"]] == [gallery.pk]
    assert not any(row["is_favorited"] for row in undone)


@pytest.mark.django_db
def test_a_member_s_links_come_from_site_url_kept_or_not(gallery, settings):
    settings.ALLOWED_HOSTS = ["sigma.example", "10.0.0.5"]
    settings.SITE_URL = "https://sigma.example"
    headers = bearer(UserFactory(username="bob"))

    made = Client().get("/api/v1/workbooks/?page_size=1", HTTP_HOST="10.0.0.5", **headers)
    Client().get("/api/v1/workbooks/?page_size=1", HTTP_HOST="10.0.0.5")  # a visitor's, kept
    kept = Client().get("/api/v1/workbooks/?page_size=1", HTTP_HOST="10.0.0.5", **headers)

    for page in (made.json(), kept.json()):
        assert page["next"].startswith("https://sigma.example/api/v1/workbooks/?")
        assert "10.0.0.5" not in str(page)
    assert made.json()["results"] == kept.json()["results"]  # (a cursor differs per encryption)


@pytest.mark.django_db
def test_a_deactivated_member_s_token_is_refused_at_once_even_on_a_kept_list(gallery):
    bob = UserFactory(username="bob")
    headers = bearer(bob)
    Client().get("/api/v1/workbooks/")
    assert Client().get("/api/v1/workbooks/", **headers).status_code == 200

    bob.is_active = False
    bob.save()
    refused = Client().get("/api/v1/workbooks/", **headers)

    assert refused.status_code == 401
    assert refused.json()["code"] == "user_inactive"


@pytest.mark.django_db
def test_a_token_of_a_deleted_member_or_naming_no_id_is_a_401(gallery):
    bob = UserFactory(username="bob")
    headers = bearer(bob)
    odd = AccessToken()
    odd["user_id"] = "not-an-id"

    bob.delete()
    gone = Client().get("/api/v1/workbooks/", **headers)
    nonsense = Client().get("/api/v1/workbooks/", HTTP_AUTHORIZATION=f"Bearer {odd}")

    assert (gone.status_code, gone.json()["code"]) == (401, "user_not_found")
    assert (nonsense.status_code, nonsense.json()["code"]) == (401, "user_not_found")


@pytest.mark.django_db
def test_the_bearer_s_member_is_the_row_as_it_is_now(gallery):
    """The token's member is read on every request: a change to their row shows at once."""
    bob = UserFactory(username="bob", full_name="Bob")
    headers = bearer(bob)
    assert Client().get("/api/v1/me/", **headers).json()["full_name"] == "Bob"

    type(bob).objects.filter(pk=bob.pk).update(full_name="Robert")

    assert Client().get("/api/v1/me/", **headers).json()["full_name"] == "Robert"


@pytest.mark.django_db
def test_a_token_s_signature_is_checked_once_per_process_and_its_expiry_every_time(
    gallery, monkeypatch
):
    from rest_framework_simplejwt.backends import TokenBackend

    decoded = []
    real = TokenBackend.decode

    def decode(self, token, verify=True):
        decoded.append(token)
        return real(self, token, verify=verify)

    monkeypatch.setattr(TokenBackend, "decode", decode)
    token = AccessToken.for_user(UserFactory(username="bob"))
    token.set_exp(lifetime=timedelta(seconds=5))
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    assert Client().get("/api/v1/me/", **headers).status_code == 200
    assert Client().get("/api/v1/me/", **headers).status_code == 200
    assert len(decoded) == 1
    time.sleep(max(0.0, token["exp"] - time.time()) + 0.2)  # until it has expired
    expired = Client().get("/api/v1/me/", **headers)

    assert expired.status_code == 401
    assert expired.json()["code"] == "token_not_valid"


@pytest.mark.django_db
def test_the_bearer_s_member_is_read_as_the_orm_reads_them():
    """Every field as the ORM gives it (tests.member_rows), the token naming the member by text."""
    from accounts.api.authentication import user_by_id
    from tests.member_rows import assert_read_as_the_orm_reads

    found = assert_read_as_the_orm_reads(lambda pk: user_by_id(str(pk)))

    assert isinstance(found.avatar, dict)
