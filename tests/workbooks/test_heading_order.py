"""No page skips a heading level (axe's `heading-order`): after an h1 comes an h2, not an h3, so
a screen reader's outline of the page has no gap. Read from the HTML each page sends."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client

from social import services as social_services
from tests.factories import (
    BROWSER,
    CollectionFactory,
    FeaturedFactory,
    UserFactory,
    WorkbookFactory,
)

HEADINGS = {f"h{level}": level for level in range(1, 7)}


class _Headings(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.levels: list[tuple[int, int]] = []  # (level, line)

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in HEADINGS:
            self.levels.append((HEADINGS[tag], self.getpos()[0]))


def skipped_levels(html: str) -> list[str]:
    """Each heading that goes more than one level deeper than the one before it (the first must
    be an h1), as "h1 -> h3 (line n)"; empty when the outline has no gap."""
    parser = _Headings()
    parser.feed(html)
    found, previous = [], 0
    for level, line in parser.levels:
        if level > previous + 1:
            found.append(f"h{previous} -> h{level} (line {line})")
        previous = level
    return found


def test_the_reader_finds_a_skipped_level_and_accepts_going_back_up():
    assert skipped_levels("<h1>a</h1><h3>b</h3>") == ["h1 -> h3 (line 1)"]
    assert skipped_levels("<h2>a</h2>") == ["h0 -> h2 (line 1)"]
    assert skipped_levels("<h1>a</h1><h2>b</h2><h3>c</h3><h2>d</h2><h3>e</h3>") == []


@pytest.fixture
def gallery(db):
    ada = UserFactory(username="ada", full_name="Ada Lovelace")
    revenue = WorkbookFactory(author=ada, title="Revenue by region", tags=["finance"])
    WorkbookFactory(author=ada, title="Revenue forecast", tags=["finance"], trending_score=2.0)
    FeaturedFactory(workbook=revenue)
    CollectionFactory(owner=ada, slug="picks", workbooks=[revenue])
    return revenue


PAGES = [
    "/tags/finance/",
    "/",
    "/explore/",
    "/explore/?q=revenue",
    "/explore/?q=zzzzqqq",
    "/u/ada/",
    "/w/revenue-by-region/",
    "/u/ada/c/picks/",
]


@pytest.mark.parametrize("url", PAGES)
def test_a_visitors_page_skips_no_heading_level(gallery, url):
    response = Client().get(url, HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 200
    assert skipped_levels(response.content.decode()) == []


@pytest.mark.parametrize("url", ["/feed/", "/notifications/", "/u/ada/"])
def test_a_members_page_skips_no_heading_level(gallery, url):
    member = UserFactory(username="reader")
    social_services.follow(member, gallery.author)
    social_services.favorite(gallery.author, gallery)
    client = Client()
    client.force_login(member if url != "/u/ada/" else gallery.author)

    response = client.get(url, HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 200
    assert skipped_levels(response.content.decode()) == []
