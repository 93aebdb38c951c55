"""Atom feeds (latest, per tag, per author), the sitemap and robots.txt: published content only."""

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import UserFactory, WorkbookFactory
from tests.workbooks.markup import page
from workbooks import sitemaps

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


def section_urls(client, url: str = "/sitemap.xml") -> list[str]:
    """The section pages the index names."""
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    index = ElementTree.fromstring(response.content)
    assert index.tag == f"{SITEMAP}sitemapindex"
    return [entry.findtext(f"{SITEMAP}loc") for entry in index.findall(f"{SITEMAP}sitemap")]


def urlset(client, url: str) -> dict[str, str | None]:
    """A section page's addresses, with their lastmod."""
    response = client.get(url.removeprefix("http://testserver"))
    assert response.status_code == 200, url
    found = ElementTree.fromstring(response.content)
    return {
        entry.findtext(f"{SITEMAP}loc"): entry.findtext(f"{SITEMAP}lastmod")
        for entry in found.findall(f"{SITEMAP}url")
    }


def crawl(client) -> dict[str, str | None]:
    """Every address of every page of every section, as a crawler reads them from the index."""
    found: dict[str, str | None] = {}
    for url in section_urls(client):
        page = urlset(client, url)
        assert not found.keys() & page.keys(), f"{url} repeats addresses"
        found.update(page)
    return found


def test_the_sitemap_lists_published_workbooks_their_authors_and_tags(client, gallery):
    assert crawl(client).keys() == {
        "http://testserver/",
        "http://testserver/explore/",
        "http://testserver/w/revenue/",
        "http://testserver/w/churn/",
        "http://testserver/w/costs/",
        "http://testserver/u/ada/",
        "http://testserver/u/grace/",
        "http://testserver/tags/finance/",
        "http://testserver/tags/saas/",
    }


def test_the_sitemap_leaves_out_members_and_tags_with_only_drafts(client, db):
    WorkbookFactory(
        author=UserFactory(username="drafter"), title="Draft", status="draft", tags=["secret"]
    )

    assert crawl(client).keys() == {"http://testserver/", "http://testserver/explore/"}


def test_the_sitemap_dates_workbooks_by_their_last_change_and_authors_and_tags_by_publication(
    client, gallery
):
    lastmod = crawl(client)

    assert lastmod["http://testserver/w/costs/"] == timezone.now().date().isoformat()
    last_published = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert lastmod["http://testserver/u/ada/"] == last_published
    assert lastmod["http://testserver/tags/saas/"] == last_published
    two_days_ago = (timezone.now() - timedelta(days=2)).date().isoformat()
    assert lastmod["http://testserver/u/grace/"] == two_days_ago


def test_the_sitemap_index_names_every_page_of_every_section_and_they_cover_everything(
    client, db, monkeypatch
):
    # Three addresses a page: 7 workbooks make 3 pages, 7 authors 3, 4 tags 2.
    for sitemap in sitemaps.SITEMAPS.values():
        monkeypatch.setattr(sitemap, "limit", 3)
    tags = ["alpha", "beta", "gamma", "delta"]
    workbooks = [WorkbookFactory(tags=[tags[n % 4]]) for n in range(7)]

    pages = section_urls(client)
    found = crawl(client)

    assert pages == [
        "http://testserver/sitemap-static.xml",
        "http://testserver/sitemap-workbooks.xml",
        "http://testserver/sitemap-workbooks.xml?p=2",
        "http://testserver/sitemap-workbooks.xml?p=3",
        "http://testserver/sitemap-authors.xml",
        "http://testserver/sitemap-authors.xml?p=2",
        "http://testserver/sitemap-authors.xml?p=3",
        "http://testserver/sitemap-tags.xml",
        "http://testserver/sitemap-tags.xml?p=2",
    ]
    expected = {"http://testserver/", "http://testserver/explore/"}
    expected |= {f"http://testserver{w.get_absolute_url()}" for w in workbooks}
    expected |= {f"http://testserver/u/{w.author.username}/" for w in workbooks}
    expected |= {f"http://testserver/tags/{tag}/" for tag in tags}
    assert found.keys() == expected


def test_pages_past_the_last_and_unknown_sections_are_404s(client, gallery):
    for url in (
        "/sitemap-workbooks.xml?p=2",
        "/sitemap-workbooks.xml?p=0",
        "/sitemap-workbooks.xml?p=01",
        "/sitemap-workbooks.xml?p=x",
        "/sitemap-nothing.xml",
    ):
        assert client.get(url).status_code == 404, url


def test_each_sitemap_page_is_cached_until_the_gallery_changes(client, gallery):
    urls = ["/sitemap.xml", "/sitemap-workbooks.xml", "/sitemap-authors.xml", "/sitemap-tags.xml"]
    first = {url: client.get(url).content for url in urls}

    with CaptureQueriesContext(connection) as captured:
        again = {url: client.get(url) for url in urls}

    assert len(captured) == 0, [query["sql"] for query in captured.captured_queries]
    for url, response in again.items():
        assert response.content == first[url]
        assert response["Content-Type"].startswith("application/xml")
        assert response["X-Robots-Tag"] == "noindex, noodp, noarchive"

    WorkbookFactory(author=gallery, title="Margins", tags=["finance"])

    assert "http://testserver/w/margins/" in urlset(client, "/sitemap-workbooks.xml")


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
