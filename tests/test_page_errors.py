"""The site's pages answer the services' refusals in one place (sigma_playground.errors,
PageErrorsMiddleware): whatever page view lets a RetryLater, a ValidationError or a paging.BadPage
through gets the same page, status and header, while /api/ is left to DRF's handler."""

import pytest
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from accounts.services import SignInThrottled
from sigma_playground import paging
from sigma_playground import urls as project_urls
from social.services import RateLimited
from tests.workbooks.markup import page as html

# --- Views for these tests only, beside the project's own addresses (base.html links to them) -----

REFUSALS: dict[str, Exception] = {
    "rate-limited": RateLimited(12),
    "throttled": SignInThrottled(30),
    "refused": ValidationError("You cannot follow yourself.", code="self_follow"),
    "refused-field": ValidationError({"title": ["Too long."]}),
    "bad-page": paging.bad_cursor(),
}


def refusing(request: HttpRequest, what: str) -> HttpResponse:
    raise REFUSALS[what]


class RefusingApiView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    def post(self, request, what: str):
        raise REFUSALS[what]


urlpatterns = [
    path("refusing/<str:what>/", refusing),
    path("api/refusing/<str:what>/", refusing),
    path("api/drf-refusing/<str:what>/", RefusingApiView.as_view()),
    *project_urls.urlpatterns,
]

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


def back_link(response) -> str:
    links = [a for a in html(response).find_all("a") if a.text == "Go back"]
    assert len(links) == 1, links
    return links[0].attrs["href"]


# --- Too many: 429 with Retry-After ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("what", "seconds", "message"),
    [
        ("rate-limited", "12", "Too many requests. Try again in 12 seconds."),
        ("throttled", "30", "Too many failed sign-ins. Try again in 30 seconds."),
    ],
)
def test_a_rate_limit_let_through_a_page_is_a_429_saying_when_to_try_again(
    client, what, seconds, message
):
    response = client.post(f"/refusing/{what}/", {"next": "/u/ada/"})

    assert response.status_code == 429
    assert response["Retry-After"] == seconds
    assert response["Content-Type"].startswith("text/html")
    page = html(response)
    assert page.find("h1").text == "Slow down a little"
    assert page.find("p", role="alert").text == message
    assert back_link(response) == "/u/ada/"


# --- A refusal that is not about a form's fields: 400 with its message ---------------------------


def test_a_refusal_let_through_a_page_is_a_400_with_its_message(client):
    response = client.post("/refusing/refused/", {"next": "/u/ada/"})

    assert response.status_code == 400
    assert "Retry-After" not in response
    page = html(response)
    assert page.find("h1").text == "That did not work"
    assert page.find("p", role="alert").text == "You cannot follow yourself."
    assert back_link(response) == "/u/ada/"


def test_a_refusal_of_a_forms_fields_is_not_made_a_page(client):
    # A form shows its fields' errors itself: one that reaches the middleware is a view's mistake.
    with pytest.raises(ValidationError):
        client.post("/refusing/refused-field/")


def test_a_view_of_the_site_lets_its_refusal_through_to_the_same_page(client, user):
    client.force_login(user)

    response = client.post(reverse("social:notifications-read"), {"id": "x"})

    assert response.status_code == 400
    page = html(response)
    assert page.find("h1").text == "That did not work"
    assert page.find("p", role="alert").text == "Say which notification to mark read."


# --- The way back ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "headers", "back"),
    [
        ({"next": "/w/sales/"}, {"Referer": "http://testserver/u/ada/"}, "/w/sales/"),
        ({"next": "https://evil.example/"}, {}, "/"),
        (
            {"next": "//evil.example/"},
            {"Referer": "http://testserver/u/ada/"},
            "http://testserver/u/ada/",
        ),
        ({}, {"Referer": "http://testserver/u/ada/"}, "http://testserver/u/ada/"),
        ({}, {"Referer": "https://evil.example/u/ada/"}, "/"),
        ({}, {}, "/"),
    ],
    ids=["next", "foreign-next", "foreign-next-then-referer", "referer", "foreign-referer", "home"],
)
def test_the_way_back_stays_on_this_site(client, data, headers, back):
    response = client.post("/refusing/rate-limited/", data, headers=headers)

    assert back_link(response) == back


# --- A list's page that cannot be answered: 400 with a link to the first page ---------------------


def test_a_bad_page_let_through_a_page_is_a_400_with_a_link_to_the_first_page(client):
    response = client.get("/refusing/bad-page/", {"cursor": "forged"})

    assert response.status_code == 400
    page = html(response)
    assert page.find("h1").text == "No such page of this list"
    assert page.find("p", class_="lede").text == str(REFUSALS["bad-page"])
    links = [a for a in page.find_all("a") if a.text == "Go to the first page"]
    assert [a.attrs["href"] for a in links] == ["/refusing/bad-page/"]


# --- The API is DRF's ---------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["rate-limited", "refused", "bad-page"])
def test_an_api_address_is_not_answered_with_a_page(client, what):
    # Outside DRF (no API view answers this), the error stays the server's, as before.
    with pytest.raises(type(REFUSALS[what])):
        client.post(f"/api/refusing/{what}/")


def test_an_api_view_answers_a_rate_limit_itself_in_json(client):
    response = client.post("/api/drf-refusing/rate-limited/")

    assert response.status_code == 429
    assert response["Retry-After"] == "12"
    assert response.json()["code"] == "throttled"
