"""Listings are rendered once and shared; any change that could alter them retires the copy."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import FeaturedFactory, UserFactory, WorkbookFactory
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
        author.full_name = "Grace Hopper"
        author.save(update_fields=["full_name"])

    _, html = queries_for(client, "/")
    if change == "unfeature":
        assert "Workbook of the day" not in html
    elif change == "author name":
        assert "Grace Hopper" in html
        assert "Ada Lovelace" not in html
    else:
        assert "Revenue by region" not in html
