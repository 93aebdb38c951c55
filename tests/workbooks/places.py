"""Where a reader finds a workbook: every public list, feed and page listing it. Shared by the tests
of what takes a workbook out of them (moderation, unlisting)."""

from __future__ import annotations

from django.test import Client

from tests.factories import BROWSER, UserFactory
from tests.workbooks.markup import page
from tests.workbooks.test_feeds_and_sitemap import crawl
from workbooks.models import Tag

# The fixtures these places expect: a workbook titled TITLE (slug "revenue-by-region", tag
# "finance") by "ada", beside her "Revenue forecast" (finance), which suggests it, in the public
# collection "picks" of "curious".
TITLE = "Revenue by region"

PLACES = [
    "home", "explore", "search", "tag page", "profile", "latest feed", "tag feed",
    "author feed", "collection", "related", "sitemap", "api list", "api author list",
]  # fmt: skip


def public_places(client) -> dict[str, bool]:
    """Whether `client` finds the workbook in each public list, feed and page listing it."""

    def shows(url: str) -> bool:
        response = client.get(url, HTTP_USER_AGENT=BROWSER)
        assert response.status_code == 200, (url, response.status_code)
        return TITLE in response.content.decode()

    api = client.get("/api/v1/workbooks/").json()["results"]
    by_ada = client.get("/api/v1/users/ada/workbooks/").json()["results"]
    related = page(client.get("/w/revenue-forecast/", HTTP_USER_AGENT=BROWSER)).find_all(
        "section", aria_labelledby="related-title"
    )
    return {
        "home": shows("/"),
        "explore": shows("/explore/"),
        "search": shows("/explore/?q=region"),
        "tag page": shows("/tags/finance/"),
        "profile": shows("/u/ada/"),
        "latest feed": shows("/feeds/latest/"),
        "tag feed": shows("/feeds/tags/finance/"),
        "author feed": shows("/feeds/u/ada/"),
        "collection": shows("/u/curious/c/picks/"),
        "related": any(TITLE in section.text for section in related),
        "sitemap": "http://testserver/w/revenue-by-region/" in crawl(client),
        "api list": TITLE in [row["title"] for row in api],
        "api author list": TITLE in [row["title"] for row in by_ada],
    }


def everywhere(value: bool) -> dict[str, bool]:
    return dict.fromkeys(PLACES, value)


def finance_count() -> int:
    return Tag.objects.get(slug="finance").workbook_count


def warm_readers() -> tuple[Client, Client]:
    """A visitor and a member who have each read every place once, so the kept copies (visitors'
    and members') hold the workbook before a test takes it out."""
    visitor, member = Client(), Client()
    member.force_login(UserFactory(username="someone"))
    assert public_places(visitor) == everywhere(True)
    assert public_places(member) == everywhere(True)
    assert finance_count() == 2
    return visitor, member
