"""Listings are rendered once and shared; any change that could alter them retires the copy."""

import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from tests.factories import FeaturedFactory, UserFactory, WorkbookFactory
from workbooks import cache as gallery_cache
from workbooks import services

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"


def queries_for(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200
    return len(captured), response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/explore/", "/explore/?q=revenue&sort=views"])
def test_a_repeated_listing_is_served_without_touching_the_database(client, url):
    WorkbookFactory(title="Revenue by region")
    first, _ = queries_for(client, url)
    again, html = queries_for(client, url)
    assert first > 0
    assert again == 0
    assert "Revenue by region" in html


@pytest.mark.django_db
def test_a_new_workbook_shows_at_once_on_a_cached_listing(client):
    author = UserFactory()
    WorkbookFactory(author=author, title="Revenue by region")
    queries_for(client, "/explore/?q=revenue")
    services.create_workbook(
        author,
        title="Revenue forecast",
        embed_url="https://app.sigmacomputing.com/embed/1-NewOne1234",
        status="published",
    )
    _, html = queries_for(client, "/explore/?q=revenue")
    assert "Revenue forecast" in html


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["title", "unpublish", "unfeature", "delete", "author name"])
def test_a_change_retires_the_cached_home_page(client, change):
    author = UserFactory(full_name="Ada Lovelace")
    workbook = WorkbookFactory(author=author, title="Revenue by region")
    FeaturedFactory(workbook=workbook)
    _, html = queries_for(client, "/")
    assert "Revenue by region" in html
    assert "Ada Lovelace" in html

    queryset = type(workbook).objects.filter(pk=workbook.pk)
    if change == "title":
        services.update_workbook(workbook, title="Churn by cohort")
    elif change == "unpublish":
        services.unpublish(queryset)
    elif change == "unfeature":
        services.unfeature(queryset)
    elif change == "delete":
        services.delete_workbook(workbook)
    else:
        account_services.update_profile(
            author, full_name="Grace Hopper", bio=author.bio, website=author.website
        )

    _, html = queries_for(client, "/")
    if change == "unfeature":
        assert "Workbook of the day" not in html
    elif change == "author name":
        assert "Grace Hopper" in html
        assert "Ada Lovelace" not in html
    else:
        assert "Revenue by region" not in html


# --- What a cached page is keyed on, and what it answers with -------------------------------------


def stored_pages(name: str) -> int:
    """Whole pages of `name` in the cache (the keys the gallery cache writes)."""
    pattern = re.compile(rf"gallery:page:{name}:")
    if settings.REDIS_URL:
        keys = cache._cache.get_client(write=False).scan_iter(match="*gallery:*")
        return sum(1 for key in keys if pattern.search(key.decode()))
    return sum(1 for key in cache._cache if pattern.search(key))


@pytest.fixture
def one_minute(monkeypatch):
    """Keys change every minute; the tests below must not see two minutes."""
    monkeypatch.setattr(gallery_cache, "minute", lambda: 29_000_000)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "url"),
    [("home", "/?junk={}"), ("explore", "/explore/?sort=views&junk={}&utm_source={}")],
    ids=["home", "explore"],
)
def test_parameters_a_page_does_not_read_make_no_new_entries(client, one_minute, name, url):
    WorkbookFactory(title="Revenue by region")

    for n in range(25):
        assert client.get(url.format(n, n), HTTP_USER_AGENT=BROWSER).status_code == 200

    assert stored_pages(name) == 1


@pytest.mark.django_db
def test_a_page_with_unknown_parameters_is_served_from_the_plain_pages_entry(client, one_minute):
    WorkbookFactory(title="Revenue by region")
    queries_for(client, "/explore/?sort=views")

    again, html = queries_for(client, "/explore/?sort=views&junk=1&fbclid=abc")

    assert again == 0
    assert "Revenue by region" in html


@pytest.mark.django_db
def test_searches_store_no_more_than_the_budget_allows(client, one_minute, monkeypatch):
    monkeypatch.setattr(gallery_cache, "STORE_BUDGET_PER_MINUTE", 3)
    WorkbookFactory(title="Revenue by region")

    for n in range(10):
        queries_for(client, f"/explore/?q=revenue{n}")  # each one rendered and answered

    assert stored_pages("explore") == 3


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/explore/?sort=views"])
def test_a_cached_page_answers_with_the_headers_of_the_rendered_one(client, one_minute, url):
    WorkbookFactory(title="Revenue by region")
    miss = client.get(url, HTTP_USER_AGENT=BROWSER)

    with CaptureQueriesContext(connection) as captured:
        hit = client.get(url, HTTP_USER_AGENT=BROWSER)

    assert len(captured) == 0  # served from the cache
    assert "Cookie" in {value.strip() for value in miss["Vary"].split(",")}
    assert hit["Vary"] == miss["Vary"]
    assert hit["Content-Type"] == miss["Content-Type"]
    assert set(hit.headers) == set(miss.headers)
    assert hit.content == miss.content
