"""Explore as a visitor meets it: clean addresses, "did you mean" when a search finds nothing, an
empty state that suggests a way on, and search landmarks that read apart."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import FeaturedFactory, TagFactory, WorkbookFactory


@pytest.fixture
def gallery(db):
    WorkbookFactory(title="Customer churn", tags=["retention"])
    WorkbookFactory(title="Pipeline forecast", tags=["sales"])
    return WorkbookFactory(title="Revenue by region", tags=["finance"])


# --- Clean addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "clean"),
    [
        ("/explore/?q=hir&tag=&sort=", "/explore/?q=hir"),
        ("/explore/?q=&tag=finance&sort=views", "/explore/?tag=finance&sort=views"),
        ("/explore/?q=&tag=&sort=", "/explore/"),
        ("/explore/?q=+&sort=trending", "/explore/?sort=trending"),
        ("/explore/?q=revenue&page=", "/explore/?q=revenue"),
    ],
)
def test_empty_parameters_redirect_to_the_clean_address(client, gallery, asked, clean):
    response = client.get(asked)

    assert response.status_code == 301
    assert response["Location"] == clean


@pytest.mark.parametrize("url", ["/explore/", "/explore/?q=revenue", "/explore/?tag=finance"])
def test_a_clean_address_is_answered_not_redirected(client, gallery, url):
    assert client.get(url).status_code == 200


def test_the_filters_form_sends_itself_on_change_by_a_script_of_its_own(client, gallery):
    body = client.get("/explore/").content.decode()

    assert "data-explore-filters" in body
    assert re.search(r'<script src="[^"]*js/explore\.js" defer></script>', body)
    assert "<script>" not in body  # no inline script (CSP)
    # Without the script, the Search button still sends the form.
    assert re.search(r'<button type="submit"[^>]*>Search</button>', body)


def test_the_search_box_is_fed_tag_and_author_suggestions_from_the_api(client, gallery):
    body = client.get("/explore/").content.decode()

    assert 'list="explore-suggestions"' in body
    assert '<datalist id="explore-suggestions">' in body
    assert 'data-suggest="/api/v1/tags/"' in body
    assert 'data-suggest-people="/api/v1/users/"' in body


# --- Landmarks -------------------------------------------------------------------------------------


def test_each_search_landmark_on_explore_has_a_name_of_its_own(client, gallery):
    body = client.get("/explore/").content.decode()

    forms = re.findall(r'<form[^>]*role="search"[^>]*>', body)
    names = [re.search(r'aria-label="([^"]+)"', form) for form in forms]
    assert len(forms) == 2
    assert all(names), forms
    assert len({name.group(1) for name in names if name}) == 2


# --- Did you mean ----------------------------------------------------------------------------------


def _did_you_mean(body: str) -> str | None:
    found = re.search(r'<p class="did-you-mean">Did you mean <a href="([^"]+)">([^<]+)</a>', body)
    return found and found.group(1).replace("&amp;", "&")


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("pipelnieee", "pipeline"), ("revenue reegionnn", "revenue region")],
)
def test_a_search_that_finds_nothing_offers_the_corrected_query(client, gallery, typed, meant):
    body = client.get("/explore/", {"q": typed}).content.decode()

    assert "No workbook matches" in body
    link = _did_you_mean(body)
    assert link == "?q=" + meant.replace(" ", "+")
    # The link finds what was meant.
    assert "No workbook matches" not in client.get("/explore/" + link).content.decode()


def test_did_you_mean_keeps_the_tag_asked_for(client, gallery):
    body = client.get("/explore/", {"q": "pipelnieee", "tag": "sales"}).content.decode()

    assert _did_you_mean(body) == "?q=pipeline&tag=sales"


def test_a_typo_the_search_tolerates_finds_and_one_it_cannot_is_suggested(client, gallery):
    body = client.get("/explore/", {"q": "chrun"}).content.decode()

    if connection.vendor == "postgresql":
        # The search's own typo tolerance finds "churn": nothing to suggest.
        assert "Customer churn" in body
        assert _did_you_mean(body) is None
    else:
        # SQLite's search has no typo tolerance: the plain fallback suggests the word meant.
        assert "No workbook matches" in body
        assert _did_you_mean(body) == "?q=churn"


def test_no_suggestion_when_nothing_is_near(client, gallery):
    body = client.get("/explore/", {"q": "xylophone"}).content.decode()

    assert "No workbook matches" in body
    assert _did_you_mean(body) is None
    assert "Try fewer or other words" in body


def test_a_search_with_results_offers_no_correction(client, gallery):
    body = client.get("/explore/", {"q": "revenue"}).content.decode()

    assert _did_you_mean(body) is None


# --- Empty state -----------------------------------------------------------------------------------


def test_an_empty_result_suggests_popular_tags_and_featured_workbooks(client, gallery):
    FeaturedFactory(workbook=gallery)

    body = client.get("/explore/", {"q": "xylophone"}).content.decode()

    empty = body[body.index('class="empty-state"') :]
    assert "Popular tags" in empty
    assert 'href="/tags/finance/"' in empty
    assert "Featured workbooks" in empty
    assert gallery.get_absolute_url() in empty


def _empty_page_queries(client, query: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/explore/", {"q": query})
    assert response.status_code == 200
    assert 'class="empty-state"' in response.content.decode()
    return len(captured.captured_queries)


def test_the_empty_state_costs_the_same_queries_for_few_and_many_workbooks(client, gallery):
    few = _empty_page_queries(client, "xylophone")

    for n in range(25):
        workbook = WorkbookFactory(title=f"Regional margin {n}", tags=[f"topic{n}", "finance"])
        if n % 3 == 0:
            FeaturedFactory(workbook=workbook)
        TagFactory(name=f"unused {n}")
    many = _empty_page_queries(client, "xylophone")

    assert few == many


def test_the_empty_state_is_kept_with_the_page(client, gallery, django_assert_num_queries):
    client.get("/explore/", {"q": "xylophone"})

    with django_assert_num_queries(0):
        again = client.get("/explore/", {"q": "xylophone"})
    assert 'class="empty-state"' in again.content.decode()
