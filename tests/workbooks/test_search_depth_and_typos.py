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
def test_a_drafts_words_never_change_what_a_search_finds(gallery):
    # "pipelinx" corrects to "pipeline". Were a draft's words in the vocabulary, a draft holding
    # "Pipelinx" would make it a known word, not corrected, and the search would find nothing:
    # anyone could test which words other members' drafts hold.
    assert titles("pipelinx") == {"Pipeline forecast"}

    WorkbookFactory(title="Pipelinx secret plan", status=Workbook.Status.DRAFT)

    assert titles("pipelinx") == {"Pipeline forecast"}


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
    assert titles("customer") == set()
    # "churn" left the vocabulary with it: now a typo, it finds the nearest published word's.
    assert titles("churn") == {"Supply chain delays"}
    # Out of the index range searches read, not only filtered out afterwards.
    assert Entry.objects.get(workbook=gallery["churn"]).published_at is None


@pytest.mark.postgres
@pytest.mark.parametrize("narrow", ["", "w"], ids=["words", "a short prefix narrowing them"])
def test_a_search_keeps_the_newest_matches(db, monkeypatch, narrow):
    monkeypatch.setattr(selectors, "SEARCH_RESULTS", 4)
    made = []
    for n in range(12):
        # Every third one matches; every description has a word starting with "w" (workbook).
        made.append(WorkbookFactory(title=f"Revenue {n}" if n % 3 == 0 else f"Budget {n}"))
    expected = [w.title for w in reversed(made) if w.title.startswith("Revenue")]
    found = selectors.search(selectors.Search(query=f"revenue {narrow}", sort="latest"))
    assert [w.title for w in found] == expected  # all 4, newest first, none twice
    others = selectors.search(selectors.Search(query=f"budget {narrow}", sort="latest"))
    assert [w.title for w in others] == [
        w.title for w in reversed(made) if w.title.startswith("Budget")
    ][:4]


def copies(source: Workbook, count: int, every: int, offset: int) -> None:
    """`count` copies of a workbook with its search entry, the n-th published n * `every` + `offset`
    seconds before it: many rows in a statement or two, not a factory call each."""
    with connection.cursor() as cursor:
        columns = [
            c.name
            for c in connection.introspection.get_table_description(cursor, "workbooks_workbook")
            if c.name not in ("id", "slug", "sigma_id", "embed_url", "published_at")
        ]
        listed = ", ".join(columns)
        cursor.execute(
            f"""
            INSERT INTO workbooks_workbook (slug, sigma_id, embed_url, published_at, {listed})
            SELECT 'copy-' || g || '-' || slug, sigma_id || 'c' || g, embed_url || 'c' || g,
                   published_at - make_interval(secs => g * %(every)s + %(offset)s), {listed}
            FROM workbooks_workbook, generate_series(1, %(count)s) AS g WHERE id = %(id)s
            """,  # noqa: S608 - column names from the database itself
            {"count": count, "every": every, "offset": offset, "id": source.pk},
        )
        cursor.execute(
            """
            INSERT INTO search_entry (workbook_id, author_id, published_at, vector)
            SELECT w.id, w.author_id, w.published_at, e.vector
            FROM workbooks_workbook w, search_entry e
            WHERE w.slug LIKE 'copy-%%-' || %(slug)s AND e.workbook_id = %(id)s
            """,
            {"slug": source.slug, "id": source.pk},
        )


def plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from plan_nodes(child)


@pytest.mark.postgres
def test_a_common_words_first_page_reads_its_newest_matches_not_all(db, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_RESULTS", 20)
    # 2,000 workbooks, a fifth of them with the word: 400 matches, of which a search keeps 20.
    copies(WorkbookFactory(title="Quarterly revenue"), 400, every=5, offset=0)
    copies(WorkbookFactory(title="Quarterly budget"), 1600, every=5, offset=1)
    with connection.cursor() as cursor:
        # A vocabulary of a real table's size: under 100 common words, PostgreSQL takes any
        # prefix ('revenu':*) for 2 % of the rows, whatever the statistics say.
        cursor.execute(
            "UPDATE search_entry SET vector = vector || to_tsvector('simple', 'topic' || "
            "(workbook_id % 120)::text) WHERE NOT vector @@ 'revenu'::tsquery"
        )
        # Statistics of every table the query reads, as autovacuum keeps them: with none on the
        # workbooks, PostgreSQL takes them for one row and runs the candidates' query once per row.
        cursor.execute("ANALYZE search_entry, workbooks_workbook, accounts_user")
    assert Entry.objects.filter(published_at__isnull=False).count() == 2002

    page = selectors.search(selectors.Search(query="revenue"))[:24]
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()[0]
    nodes = list(plan_nodes(plan["Plan"]))
    entries = [n for n in nodes if n.get("Relation Name") == "search_entry" and "Actual Rows" in n]
    # Newest first, straight from the date index, stopping at the 20th match...
    walks = [
        n
        for n in nodes
        if n["Node Type"] == "Limit"
        and any(
            child.get("Index Name") == "search_entry_newest_idx"
            and child["Node Type"] == "Index Scan"
            for child in n.get("Plans", ())
        )
    ]
    assert walks, "no Limit over the date index"
    # ... so no read of search entries returns more rows than the search keeps.
    assert entries
    assert all(n["Actual Rows"] * n["Actual Loops"] <= 20 for n in entries), [
        (n["Node Type"], n.get("Index Name"), n["Actual Rows"]) for n in entries
    ]
    assert len(list(selectors.search(selectors.Search(query="revenue")))) == 20


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
        # Browsing, the empty `q` is redirected away first (a clean address).
        response = client.get("/explore/", {"q": query, "page": 2}, follow=True)
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


def test_the_last_kept_api_page_of_a_search_has_no_next_link(many):
    # 10 kept, 4 a page: the third page holds the last 2, and leads nowhere (not to a 400).
    answer = APIClient().get("/api/v1/workbooks/", {"q": "revenue", "page": 3, "page_size": 4})
    assert answer.status_code == 200
    assert len(answer.json()["results"]) == 2
    assert answer.json()["next"] is None


@pytest.mark.parametrize("ordering", ["-view_count", "trending", "-published_at"])
def test_an_ordered_search_sorts_the_same_kept_matches_on_every_database(many, ordering):
    # A search keeps its newest 10 matches whatever the order asked for, on SQLite as on PostgreSQL.
    api = APIClient()
    pages, params = [], {"q": "revenue", "ordering": ordering, "page_size": 4}
    url = "/api/v1/workbooks/"
    while url:
        answer = api.get(url, params).json()
        pages.append(answer["results"])
        url, params = answer["next"], None
    found = {row["title"] for page in pages for row in page}
    assert found == {f"Revenue report {n}" for n in range(20, 30)}


@pytest.mark.postgres
def test_a_search_builds_its_query_once_then_reads_it_from_the_cache(gallery):
    def sent(query: str) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert titles(query) == {"Customer churn"}
        return [q["sql"] for q in queries.captured_queries]

    first, again = sent("chrun"), sent("chrun")
    assert len(first) == 2
    assert "search_query_parts" in first[0]
    # The same words again: only the search, its query (corrected: "churn") a constant in it.
    assert len(again) == 1
    assert "search_query_parts" not in again[0]
    assert "'churn'" in again[0]


@pytest.mark.postgres
def test_a_tag_filter_reads_the_search_entrys_own_tags(gallery):
    churn = gallery["churn"]
    services.update_workbook(churn, tags=["retention", "saas"])
    assert titles("customer", tag="retention") == {"Customer churn"}
    # Kept with the vector, in the same transaction as the change.
    with connection.cursor() as cursor:
        cursor.execute("SELECT tags FROM search_entry WHERE workbook_id = %s", [churn.pk])
        (tags,) = cursor.fetchone()
    assert sorted(tags) == sorted(churn.tags.values_list("pk", flat=True))
    services.update_workbook(churn, tags=["saas"])
    assert titles("customer", tag="retention") == set()
    assert titles("customer", tag="saas") == {"Customer churn"}
    assert titles("customer", tag="no-such-tag") == set()

    page = selectors.search(selectors.Search(query="customer", tag="saas"))[:24]
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()[0]
    # The tag is tested on the entry's row: the workbook-tag table is not read per match.
    relations = {n.get("Relation Name") for n in plan_nodes(plan["Plan"])}
    assert "workbooks_workbook_tags" not in relations


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # the entries are made again once the change commits
def test_a_tag_renamed_or_deleted_in_the_admin_is_renamed_or_gone_in_search(admin_client):
    from workbooks.models import Tag

    WorkbookFactory(title="Quarterly numbers", description="Per quarter.", tags=["Zeppelin"])
    assert titles("zeppelin") == {"Quarterly numbers"}

    tag = Tag.objects.get(slug="zeppelin")
    renamed = admin_client.post(
        f"/admin/workbooks/tag/{tag.pk}/change/", {"name": "Dirigible", "slug": "zeppelin"}
    )
    assert renamed.status_code == 302
    assert titles("zeppelin") == set()
    assert titles("dirigible") == {"Quarterly numbers"}

    deleted = admin_client.post(f"/admin/workbooks/tag/{tag.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert titles("dirigible") == set()
