"""A page ranked by relevance is ranked in the search table: only the rows up to its end become
workbook rows, and they are the rows ranking every kept match would give."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services as account_services
from search.models import Entry
from tests.factories import UserFactory, WorkbookFactory
from tests.workbooks.test_search_depth_and_typos import copies
from workbooks import selectors


@pytest.fixture
def ranked(db):
    """30 matches of "forecast" ranked in three bands (title, tag, description), ties inside each."""
    author = UserFactory(username="ada")
    for n in range(30):
        kind = n % 3
        WorkbookFactory(
            author=author,
            title=f"Forecast {n}" if kind == 0 else f"Budget {n}",
            tags=["forecasting"] if kind == 1 else [],
            description="A forecast." if kind == 2 else "Per quarter.",
        )


def every_kept(query: str) -> list[str]:
    return [w.title for w in selectors.search(selectors.Search(query=query))]


@pytest.mark.postgres
@pytest.mark.parametrize("size", [1, 4, 7, 24])
def test_each_ranked_page_holds_the_rows_ranking_every_match_gives(ranked, size):
    expected = every_kept("forecast")
    assert len(expected) == 30
    pages, number = [], 1
    while True:
        page = selectors.search_page(selectors.Search(query="forecast"), number, size)
        pages.extend(w.title for w in page.items)
        if not page.has_next:
            break
        number += 1
    assert pages == expected


@pytest.mark.postgres
def test_a_ranked_page_reads_only_its_workbook_rows(ranked):
    # 1,000 workbooks more, 200 of them matching; statistics as autovacuum keeps them.
    copies(WorkbookFactory(title="Forecast copied"), 200, every=5, offset=0)
    copies(WorkbookFactory(title="Budget copied"), 800, every=5, offset=1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE search_entry, workbooks_workbook, accounts_user")
    page = selectors.search(selectors.Search(query="forecast"), window=5)[:5]
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()[0]
    nodes, todo = [], [plan["Plan"]]
    while todo:
        node = todo.pop()
        nodes.append(node)
        todo.extend(node.get("Plans", ()))
    workbooks = [n for n in nodes if n.get("Relation Name") == "workbooks_workbook"]
    assert workbooks
    assert all(n["Actual Rows"] * n["Actual Loops"] <= 5 for n in workbooks), [
        (n["Node Type"], n["Actual Rows"], n["Actual Loops"]) for n in workbooks
    ]


@pytest.mark.postgres
def test_the_api_pages_a_ranked_search_like_ranking_every_match(ranked):
    expected = every_kept("forecast")
    api, found = APIClient(), []
    for number in range(1, 5):
        answer = api.get("/api/v1/workbooks/", {"q": "forecast", "page": number, "page_size": 8})
        assert answer.status_code == 200
        found.extend(row["title"] for row in answer.json()["results"])
    assert found == expected


@pytest.mark.postgres
def test_a_deactivated_authors_workbooks_leave_the_ranked_pages_without_a_gap(ranked):
    # The best match, by an author deactivated since: the page still shows two workbooks.
    other = UserFactory(username="grace")
    best = WorkbookFactory(author=other, title="Forecast forecast forecast")
    assert selectors.search_page(selectors.Search(query="forecast"), 1, 2).items[0] == best

    account_services.set_active(other, False)

    assert Entry.objects.get(workbook=best).published_at is None
    page = selectors.search_page(selectors.Search(query="forecast"), 1, 2)
    assert [w.title for w in page.items] == every_kept("forecast")[:2]
    assert best not in page.items
    assert len(page.items) == 2

    account_services.set_active(other, True)
    assert selectors.search_page(selectors.Search(query="forecast"), 1, 2).items[0] == best


@pytest.mark.postgres
def test_a_ranked_page_is_still_one_query(ranked):
    selectors.search_page(selectors.Search(query="forecast"), 1, 24)  # the query built, cached
    with CaptureQueriesContext(connection) as queries:
        selectors.search_page(selectors.Search(query="forecast"), 2, 4)
    assert len(queries.captured_queries) == 1
