"""Search at scale: typos are corrected, a half-typed stop word narrows, and no page of a search
goes past the results a search keeps (a clear "refine your search" instead of a deep OFFSET)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from search.models import Entry
from tests.factories import UserFactory, WorkbookFactory
from workbooks import selectors, services
from workbooks.models import Workbook


def titles(query: str, **params) -> set[str]:
    return {w.title for w in selectors.search(selectors.Search(query=query, **params))}


@pytest.fixture
def gallery(db):
    # Usernames, names and descriptions hold no word starting with "s", "a" or "in" but those
    # the cases below look for.
    author = UserFactory(username="ada", full_name="Ada Lovelace")
    return {
        "segment": WorkbookFactory(
            author=author, title="Quarterly revenue by segment", description="Per quarter."
        ),
        "region": WorkbookFactory(
            author=author, title="Quarterly revenue by region", description="Per quarter."
        ),
        "insights": WorkbookFactory(
            author=author, title="Revenue insights", description="Per quarter."
        ),
        "churn": WorkbookFactory(
            author=author, title="Customer churn", description="Who leaves, and when."
        ),
        "chain": WorkbookFactory(
            author=author, title="Supply chain delays", description="Carrier punctuality."
        ),
        "forecast": WorkbookFactory(
            author=author, title="Pipeline forecast", description="Next quarter."
        ),
    }


TYPOS = [
    pytest.param("revnue", {"Quarterly revenue by segment", "Quarterly revenue by region",
                            "Revenue insights"}, id="a letter left out"),
    pytest.param("chrun", {"Customer churn"}, id="two letters swapped"),
    pytest.param("forcast", {"Pipeline forecast"}, id="a letter left out, not the last word"),
    pytest.param("pipelnie forecast", {"Pipeline forecast"}, id="swapped, then a right word"),
    pytest.param("quartrely reg", {"Quarterly revenue by region"}, id="a typo, then a prefix"),
]  # fmt: skip


@pytest.mark.postgres
@pytest.mark.parametrize(("query", "expected"), TYPOS)
def test_a_typo_finds_the_workbooks_of_the_word_meant(gallery, query, expected):
    assert titles(query) == expected


@pytest.mark.postgres
def test_a_word_spelled_right_is_not_corrected_to_a_near_one(gallery):
    # "churn" and "chain" are two edits apart: each finds only itself.
    assert titles("churn") == {"Customer churn"}
    assert titles("chain") == {"Supply chain delays"}


@pytest.mark.postgres
def test_a_word_published_a_moment_ago_is_a_correction_at_once(gallery):
    WorkbookFactory(title="Warehouse throughput", description="Per quarter.")
    assert titles("throughptu") == {"Warehouse throughput"}


@pytest.mark.postgres
def test_a_typo_ranks_like_the_word_it_meant(gallery):
    WorkbookFactory(title="Per quarter", description="Revenue, once.")
    found = [w.title for w in selectors.search(selectors.Search(query="revnue insights"))]
    assert found == ["Revenue insights"]
    found = [w.title for w in selectors.search(selectors.Search(query="revnue"))]
    assert found[-1] == "Per quarter"  # the description's match ranks under every title's


STOP_WORD_PREFIXES = [
    pytest.param("revenue s", {"Quarterly revenue by segment"}, id="s"),
    pytest.param("revenue in", {"Revenue insights"}, id="in"),
    pytest.param(
        "quarterly revenue by s", {"Quarterly revenue by segment"}, id="after a stop word"
    ),
]


@pytest.mark.postgres
@pytest.mark.parametrize(("query", "expected"), STOP_WORD_PREFIXES)
def test_a_half_typed_stop_word_still_narrows_the_results(gallery, query, expected):
    assert titles(query) == expected


@pytest.mark.postgres
def test_a_whole_last_word_matches_the_stem_the_index_holds(gallery):
    # "insights" is indexed as "insight": typed whole as the last word, it still matches.
    assert titles("revenue insights") == {"Revenue insights"}


@pytest.mark.postgres
def test_an_unpublished_workbook_leaves_the_search(gallery):
    services.unpublish(Workbook.objects.filter(pk=gallery["churn"].pk))
    assert titles("churn") == set()
    # Out of the index range searches read, not only filtered out afterwards.
    assert Entry.objects.get(workbook=gallery["churn"]).published_at is None


@pytest.mark.postgres
@pytest.mark.parametrize("windows", [(2, 4), (3, 100), (100, 1000)])
def test_a_search_keeps_the_newest_matches_whatever_windows_it_looks_through(
    db, monkeypatch, windows
):
    monkeypatch.setattr(selectors, "SEARCH_WINDOWS", windows)
    monkeypatch.setattr(selectors, "SEARCH_RESULTS", 4)
    made = []
    for n in range(12):
        # Every third one matches; the others fill the windows.
        made.append(WorkbookFactory(title=f"Revenue {n}" if n % 3 == 0 else f"Budget {n}"))
    expected = [w.title for w in reversed(made) if w.title.startswith("Revenue")]
    found = selectors.search(selectors.Search(query="revenue", sort="latest"))
    assert [w.title for w in found] == expected  # all 4, newest first, none twice
    others = selectors.search(selectors.Search(query="budget", sort="latest"))
    assert [w.title for w in others] == [
        w.title for w in reversed(made) if w.title.startswith("Budget")
    ][:4]


# --- Deep pages: both databases ------------------------------------------------------------------


@pytest.fixture
def many(db, monkeypatch):
    """30 matching workbooks, of which a search keeps 10."""
    monkeypatch.setattr(selectors, "SEARCH_RESULTS", 10, raising=False)
    author = UserFactory(username="ada")
    for n in range(30):
        WorkbookFactory(author=author, title=f"Revenue report {n}", description="Per quarter.")


@pytest.mark.parametrize("query", ["revenue", ""], ids=["a search", "browsing"])
def test_an_explore_page_past_the_kept_results_asks_to_refine_the_search(client, many, query):
    # 24 a page: page 1 shows the 10 kept, page 2 is past them.
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/explore/", {"q": query, "page": 2})
    assert response.status_code == 200
    assert "Refine your search" in response.content.decode()
    # Nothing read past what is kept: no OFFSET, and no workbook rows at all.
    assert not [q["sql"] for q in queries if "OFFSET" in q["sql"]]


def test_the_last_kept_page_has_no_next_link(client, many):
    response = client.get("/explore/", {"q": "revenue"})
    body = response.content.decode()
    assert "Refine your search" not in body
    assert "page=2" not in body
    assert len(set(re.findall(r"Revenue report \d+", body))) == 10


def test_the_search_api_refuses_a_page_past_the_kept_results_with_a_code(many):
    api = APIClient()
    answer = api.get("/api/v1/workbooks/", {"q": "revenue", "page": 2, "page_size": 10})
    assert answer.status_code == 400
    assert answer.json()["code"] == "refine_search"
    assert "refine" in answer.json()["detail"]
    kept = api.get("/api/v1/workbooks/", {"q": "revenue", "page_size": 10})
    assert kept.status_code == 200
    assert len(kept.json()["results"]) == 10


def test_the_search_api_answers_pages_within_the_kept_results(many):
    answer = APIClient().get("/api/v1/workbooks/", {"q": "revenue", "page": 2, "page_size": 5})
    assert answer.status_code == 200
    assert len(answer.json()["results"]) == 5
