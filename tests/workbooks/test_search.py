"""Search: PostgreSQL full-text search with a stored, weighted vector; a simple match elsewhere."""

from types import SimpleNamespace

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from accounts import services as account_services
from tests.factories import UserFactory, WorkbookFactory
from tests.workbooks.markup import page
from workbooks import selectors, services


@pytest.fixture
def gallery(db):
    ada = UserFactory(username="ada", full_name="Ada Lovelace")
    grace = UserFactory(username="grace", full_name="Grace Hopper")
    return SimpleNamespace(
        ada=ada,
        grace=grace,
        revenue=WorkbookFactory(
            author=ada,
            title="Quarterly revenue by region",
            description="Sales per **region** and quarter, with a drill-down to each account.",
            tags=["finance"],
        ),
        churn=WorkbookFactory(
            author=grace,
            title="Customer churn",
            description="Which customers leave, and when. Built from subscription events.",
            tags=["SaaS", "retention"],
        ),
        flights=WorkbookFactory(
            author=grace,
            title="Flight delays",
            description="Ten years of airline punctuality by carrier.",
            tags=["transport"],
        ),
        draft=WorkbookFactory(
            author=ada,
            title="Revenue forecast",
            description="Subscription revenue next year.",
            tags=["finance", "retention"],
            status="draft",
        ),
    )


def titles(query: str = "", **params) -> set[str]:
    return {
        workbook.title for workbook in selectors.search(selectors.Search(query=query, **params))
    }


SIMPLE_CASES = [
    pytest.param("revenue", {"Quarterly revenue by region"}, id="a word of the title"),
    pytest.param("REVENUE", {"Quarterly revenue by region"}, id="whatever the case"),
    pytest.param("churn", {"Customer churn"}, id="a title"),
    pytest.param("retention", {"Customer churn"}, id="a tag"),
    pytest.param("saas", {"Customer churn"}, id="a tag in another case"),
    pytest.param("subscription", {"Customer churn"}, id="a word of the description"),
    pytest.param("punctuality", {"Flight delays"}, id="another word of the description"),
    pytest.param("lovelace", {"Quarterly revenue by region"}, id="the author's name"),
    pytest.param("hopper", {"Customer churn", "Flight delays"}, id="another author's name"),
    pytest.param("grace", {"Customer churn", "Flight delays"}, id="the author's username"),
    pytest.param("reven", {"Quarterly revenue by region"}, id="the start of the last word"),
    pytest.param("quarterly reg", {"Quarterly revenue by region"}, id="words then a prefix"),
    pytest.param("customer  churn!", {"Customer churn"}, id="punctuation and spaces"),
    pytest.param("revenue flight", set(), id="every word must match"),
    pytest.param("zebra", set(), id="nothing matches"),
]


@pytest.mark.parametrize(("query", "expected"), SIMPLE_CASES)
def test_it_finds_published_workbooks_by_title_tag_description_or_author(gallery, query, expected):
    assert titles(query) == expected


@pytest.mark.django_db
def test_an_empty_search_lists_every_published_workbook_newest_first(gallery):
    found = list(selectors.search(selectors.Search(query="  ")))

    assert found == [gallery.flights, gallery.churn, gallery.revenue]


def test_it_never_finds_a_draft(gallery):
    assert titles("forecast") == set()
    assert gallery.draft not in selectors.search(selectors.Search(query="revenue"))


def test_it_combines_a_search_with_a_tag_and_an_author(gallery):
    assert titles("hopper", tag="retention") == {"Customer churn"}
    assert titles("", author="GRACE") == {"Customer churn", "Flight delays"}
    assert titles("revenue", author="grace") == set()


def test_it_accepts_any_text_without_failing(gallery):
    for query in ["'", '"', "a & b | !c", "revenue:*", "(", "\\", "<>", "-", "é", "revenue & !x"]:
        selectors.search(selectors.Search(query=query)).count()


@pytest.mark.postgres
def test_the_fallback_finds_what_full_text_search_finds_in_simple_cases(gallery, monkeypatch):
    full_text = {case.values[0]: titles(case.values[0]) for case in SIMPLE_CASES}

    monkeypatch.setattr(selectors, "connection", SimpleNamespace(vendor="sqlite"))
    fallback = {case.values[0]: titles(case.values[0]) for case in SIMPLE_CASES}

    assert fallback == full_text


# --- Ranking and the stored vector (PostgreSQL) -----------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_it_ranks_a_title_above_a_tag_above_a_description(user):
    in_description = WorkbookFactory(
        author=user, title="Support queue", description="Forecasting the backlog."
    )
    in_tag = WorkbookFactory(author=user, title="Pipeline", tags=["forecasting"])
    in_title = WorkbookFactory(author=user, title="Forecasting demand")

    found = list(selectors.search(selectors.Search(query="forecasting")))

    assert found == [in_title, in_tag, in_description]
    assert found[0].rank > found[1].rank > found[2].rank


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_explicit_sort_wins_over_relevance(user):
    in_title = WorkbookFactory(author=user, title="Forecasting demand", view_count=1)
    in_description = WorkbookFactory(
        author=user, title="Support queue", description="Forecasting.", view_count=50
    )

    found = list(selectors.search(selectors.Search(query="forecasting", sort="views")))

    assert found == [in_description, in_title]


@pytest.mark.postgres
def test_a_new_title_is_searchable_within_the_same_transaction(gallery):
    with transaction.atomic():
        services.update_workbook(gallery.churn, title="Subscriber attrition")

        assert titles("attrition") == {"Subscriber attrition"}
        assert titles("churn") == set()


@pytest.mark.postgres
def test_new_tags_are_searchable_within_the_same_transaction(gallery):
    with transaction.atomic():
        services.update_workbook(gallery.flights, tags=["aviation"])

        assert titles("aviation") == {"Flight delays"}
        assert titles("transport") == set()


@pytest.mark.postgres
def test_an_authors_new_name_is_searchable_within_the_same_transaction(gallery):
    grace = gallery.grace
    with transaction.atomic():
        account_services.update_profile(
            grace, full_name="Grace Brewster Murray", bio=grace.bio, website=grace.website
        )

        assert titles("brewster") == {"Customer churn", "Flight delays"}
        assert titles("hopper") == set()


@pytest.mark.postgres
def test_a_new_description_is_searchable_within_the_same_transaction(gallery):
    with transaction.atomic():
        services.update_workbook(gallery.flights, description="On-time performance.")

        assert titles("performance") == {"Flight delays"}
        assert titles("punctuality") == set()


# --- Snippets on the explore page -------------------------------------------------------------------


def snippets(response) -> list:
    return page(response).find_all("p", class_="wb-card__snippet")


def test_the_explore_page_highlights_the_words_found(client, gallery):
    response = client.get("/explore/", {"q": "subscription"})

    [snippet] = snippets(response)
    assert [mark.text.lower() for mark in snippet.find_all("mark")] == ["subscription"]
    assert "Built from" in snippet.text


def test_the_explore_page_shows_no_snippet_without_a_search(client, gallery):
    response = client.get("/explore/")

    assert snippets(response) == []


@pytest.mark.django_db
def test_a_snippet_escapes_markup_written_in_the_description(client, user):
    WorkbookFactory(
        author=user,
        title="Tagging guide",
        description="Wrap the total in `<b>` and `<script>alert(1)</script>`, then revenue shows.",
    )

    response = client.get("/explore/", {"q": "revenue"})

    [snippet] = snippets(response)
    elements = [element.tag for element in snippet.iter()]
    assert set(elements) == {"mark"}
    assert b"<b>" not in response.content
    assert b"<script>alert" not in response.content
    assert "revenue" in snippet.text


@pytest.mark.django_db
def test_a_snippet_and_the_page_escape_a_search_for_markup(client, user):
    WorkbookFactory(author=user, title="Plans", description="Plan b for revenue.")

    response = client.get("/explore/", {"q": "<b>revenue"})

    assert b"<b>revenue" not in response.content
    assert "Workbooks matching “&lt;b&gt;revenue”" in response.content.decode()
    [snippet] = snippets(response)
    assert {element.tag for element in snippet.iter()} == {"mark"}
    assert "revenue" in [mark.text.lower() for mark in snippet.find_all("mark")]


@pytest.mark.postgres
def test_a_name_changed_in_the_profile_is_searchable_at_once(gallery):
    client = APIClient()
    client.force_authenticate(gallery.ada)

    response = client.patch("/api/v1/me/", {"full_name": "Augusta Byron"}, format="json")

    assert response.status_code == 200
    assert titles("byron") == {"Quarterly revenue by region"}
    assert titles("lovelace") == set()
