"""The explore page's `page`: a number from 1 to paging.MAX_PAGE, like the API's; anything else is
a clear 400 page, never read as some other page."""

import pytest

from sigma_playground.paging import MAX_PAGE
from tests.factories import WorkbookFactory


@pytest.fixture
def one(db):
    return WorkbookFactory(title="Quarterly revenue")


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "1.5", "2e3", str(MAX_PAGE + 1)], ids=repr)
@pytest.mark.parametrize("query", ["", "revenue"], ids=["browsing", "a search"])
def test_a_page_that_is_not_a_number_from_1_is_a_400_page(client, one, raw, query):
    # An empty `q` is first redirected away (a clean address), then the page is read.
    response = client.get("/explore/", {"q": query, "page": raw}, follow=True)

    assert response.status_code == 400
    body = response.content.decode()
    assert "The page must be a number" in body
    assert 'href="/explore/"' in body  # back to the first page
    assert "Quarterly revenue" not in body


@pytest.mark.parametrize("raw", ["", "1", "01", "+1", " 1", "\uff11"], ids=repr)
def test_every_spelling_of_the_first_page_is_the_first_page(client, one, raw):
    response = client.get("/explore/", {"q": "revenue", "page": raw}, follow=True)

    assert response.status_code == 200
    assert "Quarterly revenue" in response.content.decode()


def test_the_deepest_numbered_page_says_to_refine_the_search(client, one):
    response = client.get("/explore/", {"q": "revenue", "page": MAX_PAGE})

    assert response.status_code == 200
    assert "Refine your search" in response.content.decode()
