"""The site's error pages (sigma_playground/errors.py, templates/errors/page.html): with DEBUG off,
a 400, 403, 404, 429 or 500 is a page in the site's look, readable on a phone, with a way on (home,
explore, search); the 500 one renders with the database and the cache down. /api/ answers JSON.
In development Django's debug pages, and only they, may use inline styles (sigma_playground/security.py).
"""

import pytest
from django.core.cache import caches
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import path
from django.views import debug

from sigma_playground import errors
from sigma_playground import urls as project_urls
from sigma_playground.security import ContentSecurityPolicyMiddleware
from social.services import RateLimited
from tests.workbooks.markup import page as html

# --- Views for these tests only, beside the project's own addresses and error handlers ------------

FAILURES: dict[str, Exception] = {
    "malformed": SuspiciousOperation("A forged header."),
    "forbidden": PermissionDenied(),
    "rate-limited": RateLimited(90),
    "broken": RuntimeError("A bug."),
}


def failing(request: HttpRequest, what: str) -> HttpResponse:
    raise FAILURES[what]


urlpatterns = [
    path("failing/<str:what>/", failing),
    path("api/failing/<str:what>/", failing),
    *project_urls.urlpatterns,
]
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


@pytest.fixture
def client() -> Client:
    """A visitor whose request's failure is answered with the error page, as in production."""
    return Client(raise_request_exception=False)


def assert_branded(response, status: int, title: str) -> None:
    """The site's page: its stylesheet, a phone's viewport, a title, a message and the safe nav."""
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    page = html(response)
    assert (
        page.find("meta", name="viewport").attrs["content"] == "width=device-width, initial-scale=1"
    )
    assert page.find("link", rel="stylesheet").attrs["href"].endswith("css/site.css")
    assert page.find("title").text == f"{title} · Sigma Playground"
    assert page.find("h1").text == title
    nav = page.find("nav", aria_label="Main")
    assert [a.text for a in nav.find_all("a", class_=None) if not a.classes] == ["Home", "Explore"]
    search = nav.find("form", role="search")
    assert search.attrs["action"] == "/explore/"
    assert search.find("input", type="search").attrs["name"] == "q"


# --- Each status, with DEBUG off --------------------------------------------------------------------


def test_a_malformed_request_is_the_sites_400_page(client):
    response = client.get("/failing/malformed/")

    assert_branded(response, 400, "That request could not be read")


def test_a_permission_denied_is_the_sites_403_page(client):
    response = client.get("/failing/forbidden/")

    assert_branded(response, 403, "You cannot open this page")


def test_a_csrf_failure_is_the_sites_403_page_saying_what_to_do():
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "ada"})

    assert_branded(response, 403, "That form has expired")
    assert "reload the page and try again" in html(response).find("section").text


def test_an_unknown_address_is_the_sites_404_page(client):
    response = client.get("/no-such-page/")

    assert_branded(response, 404, "Page not found")
    assert html(response).find("a", class_="button").attrs["href"] == "/"


def test_a_rate_limited_page_is_a_429_saying_when_to_try_again(client):
    response = client.post("/failing/rate-limited/")

    assert response["Retry-After"] == "90"
    assert_branded(response, 429, "Slow down a little")
    when = html(response).find("time")
    assert when.attrs["datetime"] == "PT90S"
    assert when.text == "in about 2 minutes"


@pytest.mark.parametrize(
    ("seconds", "phrase"),
    [
        (1, "in a second"),
        (12, "in 12 seconds"),
        (60, "in about a minute"),
        (61, "in about 2 minutes"),
        (3600, "in about an hour"),
        (5400, "in about 2 hours"),
    ],
)
def test_the_wait_reads_as_a_person_would_say_it(seconds, phrase):
    assert errors.wait_phrase(seconds) == phrase


def test_a_view_that_raises_is_the_sites_500_page(client):
    response = client.get("/failing/broken/")

    assert_branded(response, 500, "Something went wrong on our side")


# --- The 500 page depends on nothing that may be what failed ---------------------------------------


@pytest.fixture
def database_and_cache_down(monkeypatch) -> None:
    def down(*args, **kwargs):
        raise OperationalError("the database is down")

    def cache_down(*args, **kwargs):
        raise ConnectionError("the cache is down")

    monkeypatch.setattr(BaseDatabaseWrapper, "cursor", down)
    for method in ("get", "set", "add", "get_many", "set_many", "incr", "delete", "has_key"):
        monkeypatch.setattr(type(caches["default"]), method, cache_down)


def test_the_500_page_renders_with_the_database_and_the_cache_down(
    database_and_cache_down, django_assert_num_queries
):
    request = RequestFactory().get("/w/sales/")
    try:
        raise RuntimeError("A bug.")
    except RuntimeError:
        with django_assert_num_queries(0):
            response = errors.server_error(request)

    assert_branded(response, 500, "Something went wrong on our side")


def test_a_visitors_request_failing_with_the_database_and_the_cache_down_gets_the_500_page(
    database_and_cache_down, client
):
    response = client.get("/failing/broken/")

    assert_branded(response, 500, "Something went wrong on our side")


def test_the_500_page_links_its_stylesheet_without_a_static_manifest(settings):
    # A release missing collectstatic's manifest: {% static %} raises for every file.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    settings.STATIC_ROOT = "/nonexistent-static-root"
    try:
        raise RuntimeError("A bug.")
    except RuntimeError:
        response = errors.server_error(RequestFactory().get("/"))

    assert html(response).find("link", rel="stylesheet").attrs["href"] == "/static/css/site.css"


# --- The API stays JSON -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/failing/malformed/", 400, "bad_request"),
        ("/api/failing/forbidden/", 403, "permission_denied"),
        ("/api/v1/no-such-thing/", 404, "not_found"),
        ("/api/failing/broken/", 500, "server_error"),
    ],
)
def test_an_api_error_stays_json(client, path, status, code):
    response = client.get(path)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == code


# --- Django's debug pages, styled in development only -----------------------------------------


def style_src(response) -> str:
    directives = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    return directives["style-src"]


@pytest.mark.parametrize("path", ["/no-such-page/", "/failing/broken/"], ids=["404", "500"])
def test_a_debug_page_in_development_may_use_inline_styles(settings, client, path):
    settings.DEBUG = True

    response = client.get(path)

    assert b"Django" in response.content  # Django's own page, not ours
    assert style_src(response) == "'self' 'unsafe-inline'"


@pytest.mark.parametrize(
    "path", ["/", "/explore/", "/failing/forbidden/", "/failing/rate-limited/"]
)
def test_no_other_page_in_development_may(settings, client, path):
    settings.DEBUG = True

    response = client.get(path)

    assert style_src(response) == "'self'"


@pytest.mark.parametrize("path", ["/no-such-page/", "/failing/broken/"], ids=["404", "500"])
def test_in_production_no_error_page_may(client, path):
    response = client.get(path)

    assert style_src(response) == "'self'"


def test_in_production_even_a_debug_page_made_there_may_not(settings):
    settings.DEBUG = True
    ContentSecurityPolicyMiddleware(lambda request: HttpResponse())  # as when the site starts
    settings.DEBUG = False

    response = debug.technical_404_response(RequestFactory().get("/x/"), Exception("x"))

    assert "Content-Security-Policy" not in response
