"""Atom feeds (latest, per tag, per author), the sitemap and robots.txt: published content only."""

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.utils import timezone

from tests.factories import UserFactory, WorkbookFactory
from tests.workbooks.markup import page

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def entries(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.content)
    return [
        {
            "title": entry.findtext(f"{ATOM}title"),
            "link": entry.find(f"{ATOM}link").attrib["href"],
            "author": entry.findtext(f"{ATOM}author/{ATOM}name"),
            "summary": entry.findtext(f"{ATOM}summary"),
        }
        for entry in feed.findall(f"{ATOM}entry")
    ]


def titles(response) -> list[str]:
    return [entry["title"] for entry in entries(response)]


@pytest.fixture
def gallery(db):
    now = timezone.now()
    ada = UserFactory(username="ada", full_name="Ada Lovelace")
    grace = UserFactory(username="grace", full_name="")
    WorkbookFactory(author=ada, title="Revenue", tags=["finance"], published_at=now - timedelta(3))
    WorkbookFactory(author=grace, title="Churn", tags=["saas"], published_at=now - timedelta(2))
    WorkbookFactory(
        author=ada, title="Costs", tags=["Finance", "saas"], published_at=now - timedelta(1)
    )
    WorkbookFactory(author=ada, title="Secret draft", tags=["finance"], status="draft")
    gone = UserFactory(username="gone")
    WorkbookFactory(author=gone, title="By a deactivated member", tags=["finance"])
    gone.is_active = False
    gone.save()
    return ada


def test_the_latest_feed_lists_published_workbooks_newest_first(client, gallery):
    response = client.get("/feeds/latest/")

    assert titles(response) == ["Costs", "Churn", "Revenue"]
    feed = ElementTree.fromstring(response.content)
    assert feed.findtext(f"{ATOM}title") == "Sigma Playground: latest workbooks"


def test_a_feed_entry_links_to_the_workbook_and_names_its_author(client, gallery):
    latest = entries(client.get("/feeds/latest/"))

    assert latest[0]["link"] == "http://testserver/w/costs/"
    assert latest[0]["author"] == "Ada Lovelace"
    assert latest[1]["author"] == "grace"
    assert latest[0]["summary"] == "A Sigma workbook shared on the playground."


def test_a_tag_feed_lists_only_that_tags_published_workbooks(client, gallery):
    response = client.get("/feeds/tags/finance/")

    assert titles(response) == ["Costs", "Revenue"]
    feed = ElementTree.fromstring(response.content)
    assert feed.findtext(f"{ATOM}title") == "Sigma Playground: workbooks tagged finance"


def test_an_author_feed_lists_only_their_published_workbooks(client, gallery):
    assert titles(client.get("/feeds/u/ada/")) == ["Costs", "Revenue"]
    assert titles(client.get("/feeds/u/ADA/")) == ["Costs", "Revenue"]
    assert titles(client.get("/feeds/u/grace/")) == ["Churn"]


def test_feeds_of_unknown_things_are_404s(client, gallery):
    assert client.get("/feeds/tags/nothing/").status_code == 404
    assert client.get("/feeds/u/nobody/").status_code == 404
    assert client.get("/feeds/u/gone/").status_code == 404


def test_the_pages_announce_their_feeds(client, gallery):
    feeds = {
        "/": "/feeds/latest/",
        "/tags/finance/": "/feeds/tags/finance/",
        "/u/ada/": "/feeds/u/ada/",
    }
    for url, feed in feeds.items():
        alternate = page(client.get(url)).find("link", rel="alternate")
        assert alternate.attrs["type"] == "application/atom+xml"
        assert alternate.attrs["href"] == feed
        assert client.get(feed).status_code == 200


# --- Sitemap and robots.txt ------------------------------------------------------------------------


def locations(response) -> set[str]:
    assert response.status_code == 200
    urlset = ElementTree.fromstring(response.content)
    return {url.findtext(f"{SITEMAP}loc") for url in urlset.findall(f"{SITEMAP}url")}


def test_the_sitemap_lists_published_workbooks_and_their_authors(client, gallery):
    found = locations(client.get("/sitemap.xml"))

    assert found == {
        "http://testserver/",
        "http://testserver/explore/",
        "http://testserver/w/revenue/",
        "http://testserver/w/churn/",
        "http://testserver/w/costs/",
        "http://testserver/u/ada/",
        "http://testserver/u/grace/",
    }


def test_the_sitemap_leaves_out_members_with_only_drafts(client, db):
    WorkbookFactory(author=UserFactory(username="drafter"), title="Draft", status="draft")

    found = locations(client.get("/sitemap.xml"))

    assert found == {"http://testserver/", "http://testserver/explore/"}


def test_the_sitemap_dates_workbooks_by_their_last_change_and_authors_by_their_last_publication(
    client, gallery
):
    urlset = ElementTree.fromstring(client.get("/sitemap.xml").content)

    lastmod = {
        url.findtext(f"{SITEMAP}loc"): url.findtext(f"{SITEMAP}lastmod")
        for url in urlset.findall(f"{SITEMAP}url")
    }
    assert lastmod["http://testserver/w/costs/"] == timezone.now().date().isoformat()
    last_published = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert lastmod["http://testserver/u/ada/"] == last_published


@pytest.mark.django_db
def test_robots_txt_points_to_the_sitemap_and_keeps_crawlers_out_of_private_areas(client):
    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    for private in ("/admin/", "/api/", "/settings/", "/w/new/"):
        assert f"Disallow: {private}" in lines
    assert "Disallow: /" not in lines
