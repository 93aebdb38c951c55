"""Every public page and list costs a fixed number of queries, however many workbooks there are.

Each case counts the queries of one request with 3 published workbooks, then again with 30 (tagged,
some featured, some trending, by several authors, plus drafts), and expects the same number, at most 8
for an anonymous visitor. The counts are the same on SQLite and PostgreSQL; the cache (view counting)
is not a query.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import BROWSER, FeaturedFactory, UserFactory, WorkbookFactory
from workbooks.models import Workbook

TAGS = ["finance", "saas", "forecasting", "operations"]
ANONYMOUS_LIMIT = 8

# (page, queries for an anonymous visitor): what the queries are.
ANONYMOUS = [
    # Featured picks in curated order (with author), trending, latest (each reading as many more
    # as the sections above show, so none repeats them), the workbook of the day's tags.
    pytest.param("/", 4, id="home"),
    # One page of cards with their authors (25 rows: one more says whether there is a next page);
    # the popular tags with counts for the filter.
    pytest.param("/explore/", 2, id="explore"),
    # The same, matched and ranked (with the snippet on PostgreSQL), plus the people who match.
    pytest.param("/explore/?q=revenue+region", 3, id="explore search"),
    pytest.param("/explore/?tag=finance&sort=views", 2, id="explore by tag"),
    # The workbook with its author, read again after the tokens its kept copy depends on; the
    # INSERT of the counted view; its tags (prefetch, read only when the page is rendered);
    # related workbooks by shared tags; the comments with their authors.
    pytest.param("detail", 6, id="workbook"),
    # The member (case-insensitive), read again after the token its kept copy depends on; a page
    # of their published workbooks.
    pytest.param("/u/ada/", 3, id="author"),
    # The tag; a page of its published workbooks.
    pytest.param("/tags/finance/", 2, id="tag"),
    # The latest 30 with their authors.
    pytest.param("/feeds/latest/", 1, id="feed latest"),
    # The tag or the member; their latest 30.
    pytest.param("/feeds/tags/finance/", 2, id="feed tag"),
    pytest.param("/feeds/u/ada/", 2, id="feed author"),
    # The sitemap index: per section (workbooks, authors, tags) its latest date and its COUNT.
    pytest.param("/sitemap.xml", 6, id="sitemap index"),
    # A section's page: the COUNT, then the page of rows (authors and tags with their last
    # publication).
    pytest.param("/sitemap-workbooks.xml", 2, id="sitemap workbooks"),
    pytest.param("/sitemap-authors.xml", 2, id="sitemap authors"),
    pytest.param("/sitemap-tags.xml", 2, id="sitemap tags"),
    # A page of workbooks with their authors; their tags (prefetch).
    pytest.param("/api/v1/workbooks/", 2, id="API list"),
    pytest.param("/api/v1/workbooks/?q=revenue", 2, id="API search"),
    pytest.param(
        "/api/v1/workbooks/?tag=finance&ordering=trending&featured=true", 2, id="API filters"
    ),
    pytest.param("detail-api", 2, id="API workbook"),
    # The open featurings' workbooks in curated order with authors; their tags (prefetch).
    pytest.param("/api/v1/featured/", 2, id="API featured"),
    # Tags with their published workbook counts, one query.
    pytest.param("/api/v1/tags/", 1, id="API tags"),
]
# A signed-in member adds the user (the session and the bell come from the cache once the session's
# first page has vouched for its copy: accounts.sessions, social.selectors.bell); on their own page,
# their drafts; on a workbook's, whether they favorited it and follow its author (one query). May
# they read others' drafts is answered without a query: a member holds no permissions (staff's are
# loaded once per request, two queries).
SIGNED_IN = [
    pytest.param("/", 5, id="home"),
    pytest.param("/explore/?q=revenue", 4, id="explore search"),
    pytest.param("detail", 7, id="workbook"),
    pytest.param("/u/ada/", 4, id="own author page"),
    pytest.param("/api/v1/workbooks/", 3, id="API list"),
]


def grow(author, total: int) -> None:
    """Add published workbooks up to `total`, tagged, every third featured, most trending, half by
    `author`; and one more draft of `author`'s each time."""
    have = Workbook.objects.filter(status="published").count()
    for n in range(have, total):
        workbook = WorkbookFactory(
            author=author if n % 2 else UserFactory(),
            title=f"Revenue analysis {n}",
            description=f"Revenue per region, version {n}.",
            tags=TAGS[: 1 + n % len(TAGS)],
            trending_score=n % 5,
            view_count=n,
        )
        if n % 3 == 0:
            FeaturedFactory(workbook=workbook, position=n)
    WorkbookFactory(author=author, title="A draft", tags=TAGS, status="draft")


def count_queries(client, url: str) -> tuple[int, list[str]]:
    # The newest workbook: one not seen before, so its page counts a view (one INSERT) each time.
    newest = Workbook.objects.filter(status="published").order_by("-pk").first()
    url = {
        "detail": newest.get_absolute_url(),
        "detail-api": f"/api/v1/workbooks/{newest.pk}/",
    }.get(url, url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200, url
    sql = [query["sql"] for query in captured.captured_queries]
    return len(sql), sql


def search_query(url: str) -> int:
    """On PostgreSQL, a search's query (its typo corrections) is built by one small query the first
    time its words are searched in a version of the gallery, then read from the cache."""
    return int(connection.vendor == "postgresql" and "q=" in url)


def few_and_many(client, url: str, *, signed_in: bool = False) -> tuple[int, int, str]:
    ada = UserFactory(username="ada", full_name="Ada Lovelace")
    if signed_in:
        client.force_login(ada)
        client.get("/settings/")  # the session's first page: its cached copy is vouched for
    grow(ada, 3)
    few, _ = count_queries(client, url)
    grow(ada, 30)
    many, sql = count_queries(client, url)
    return few, many, "\n".join(sql)


@pytest.mark.parametrize(("url", "expected"), ANONYMOUS)
@pytest.mark.django_db
def test_an_anonymous_page_costs_the_same_few_queries_for_3_and_for_30_workbooks(
    client, url, expected
):
    few, many, sql = few_and_many(client, url)

    assert few == many, sql
    assert many <= ANONYMOUS_LIMIT + search_query(url), sql
    assert many == expected + search_query(url), sql


@pytest.mark.parametrize(("url", "expected"), SIGNED_IN)
@pytest.mark.django_db
def test_a_signed_in_page_costs_the_same_queries_for_3_and_for_30_workbooks(client, url, expected):
    few, many, sql = few_and_many(client, url, signed_in=True)

    assert few == many, sql
    assert many == expected + search_query(url), sql
