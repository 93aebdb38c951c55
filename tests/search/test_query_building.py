"""What a search's query costs to build and to test: the vocabulary is probed by index (also in
the plan a connection settles on), the GIN indexes keep no pending list, the tested query leaves
out prefixes a shorter one covers (ranked as built), and a tag reuses the words' query."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import UserFactory, WorkbookFactory
from workbooks import selectors


@pytest.fixture
def gallery(db):
    author = UserFactory(username="ada", full_name="Ada Lovelace")
    return {
        "revenue": WorkbookFactory(
            author=author, title="Quarterly revenue", description="Per quarter.", tags=["finance"]
        ),
        "churn": WorkbookFactory(author=author, title="Customer churn", description="Who leaves."),
    }


def titles(query: str, **params) -> list[str]:
    return [w.title for w in selectors.search(selectors.Search(query=query, **params))]


@pytest.mark.parametrize(
    ("part", "tested"),
    [
        ("'revenue':* | 'revenu':*", "'revenu':*"),
        ("'revnue':* | 'revnu':* | 'revenu':*", "'revnu':* | 'revenu':*"),
        ("'chrun':* | 'churn':*", "'chrun':* | 'churn':*"),
        ("'a':* | 'a':*", "'a':*"),
        ("'o''b':* | 'o''brien':*", "'o''b':*"),
        # Not only prefixes ORed: as built.
        ("'pipelni' | 'pipelin'", "'pipelni' | 'pipelin'"),
        ("'revenu' | 'revenue':*", "'revenu' | 'revenue':*"),
        ("'revenu':* & 'revenue':*", "'revenu':* & 'revenue':*"),
    ],
)
def test_a_prefix_a_shorter_one_covers_is_not_tested(part, tested):
    assert selectors._without_covered_prefixes(part) == tested


@pytest.mark.postgres
def test_the_tested_query_leaves_out_covered_prefixes_and_ranks_as_built(gallery):
    query = selectors._query(["revenue"])
    assert query.match == "( 'revenu':* )"
    assert query.whole == "( 'revenue':* | 'revenu':* )"
    assert titles("revenue") == ["Quarterly revenue"]
    assert titles("revnue") == ["Quarterly revenue"]


@pytest.mark.postgres
def test_the_same_words_with_a_tag_do_not_build_the_query_again(gallery):
    assert titles("revenue") == ["Quarterly revenue"]
    with CaptureQueriesContext(connection) as queries:
        assert titles("revenue", tag="finance") == ["Quarterly revenue"]
    sent = [q["sql"] for q in queries.captured_queries]
    # The tag's id, then the search.
    assert len(sent) == 2
    assert "search_query_parts" not in sent[0]
    assert "workbooks_tag" in sent[0]
    with CaptureQueriesContext(connection) as queries:
        assert titles("revenue", tag="finance") == ["Quarterly revenue"]
        assert titles("revenue", tag="no-such-tag") == []
        assert titles("revenue", tag="no-such-tag") == []
    # Known now, the tag that does not exist too: only the searches (none for no such tag).
    assert len(queries.captured_queries) == 2


@pytest.mark.postgres
def test_a_tag_first_then_the_words_alone_build_the_query_once(gallery):
    assert titles("churn", tag="finance") == []
    with CaptureQueriesContext(connection) as queries:
        assert titles("churn") == ["Customer churn"]
    assert len(queries.captured_queries) == 1


@pytest.mark.postgres
def test_the_vocabulary_is_probed_by_index_in_a_connections_generic_plan(gallery):
    with connection.cursor() as cursor:
        # A vocabulary of some size, with statistics (which also drops the function's plans).
        cursor.execute(
            "INSERT INTO search_lexeme (lexeme) SELECT 'word' || n FROM generate_series(1, 5000) n"
        )
        cursor.execute("ANALYZE search_lexeme")
        # The plan a connection keeps after the function's first five calls.
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("SELECT pg_stat_get_xact_numscans('search_lexeme'::regclass)")
        (before,) = cursor.fetchone()
        for words in (["quarterly"], ["quarterly", "revenue"], ["cust"], ["customer", "chu"]):
            cursor.execute(
                "SELECT search_query_parts(%s::regconfig, %s::text[])",
                [settings.SEARCH_CONFIG, words],
            )
        cursor.execute("SELECT pg_stat_get_xact_numscans('search_lexeme'::regclass)")
        (after,) = cursor.fetchone()
    # No sequential scan: a half-typed word's check read the whole vocabulary, 16 ms at 50,000.
    assert after == before


@pytest.mark.postgres
def test_the_search_gin_indexes_keep_no_pending_list(gallery):
    WorkbookFactory(title="Zymurgy ledger", description="Brewing costs.")
    with connection.cursor() as cursor:
        for index in ("search_entry_vector_idx", "search_entry_tags_idx", "search_lexeme_trgm_idx"):
            # Pages merged from the pending list: none, the words went into the index at once.
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
            assert cursor.fetchone() == (0,), index
    assert titles("zymurgy") == ["Zymurgy ledger"]
    assert titles("zymrugy") == ["Zymurgy ledger"]
