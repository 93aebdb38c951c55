"""The feed's rows show each workbook's small thumbnail (or its placeholder) beside the sentence that
links its title: lazily, sized so nothing shifts, out of the tab order, and at no query more."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from social import services
from tests.factories import UserFactory, WorkbookFactory
from tests.workbooks.markup import page
from workbooks.models import Workbook

THUMBNAIL = {
    "key": "thumbnails/revenue",
    "fallback": "jpeg",
    "sizes": {"thumb": [150, 150], "small": [300, 169], "medium": [600, 338]},
}


def with_thumbnail(workbook: Workbook) -> Workbook:
    # Written as media.services puts a processed picture in use: the reference on the row.
    Workbook.objects.filter(pk=workbook.pk).update(thumbnail=THUMBNAIL)
    workbook.refresh_from_db()
    return workbook


@pytest.fixture
def reader(db):
    return UserFactory(username="reader")


@pytest.fixture
def ada(reader):
    ada = UserFactory(username="ada", full_name="Ada Lovelace")
    services.follow(reader, ada)
    return ada


def rows(client):
    response = client.get("/feed/")
    assert response.status_code == 200
    return page(response).find_all("li", class_="activity__item")


def test_a_row_shows_its_workbooks_small_thumbnail_lazily_sized_and_without_text(
    client, reader, ada
):
    workbook = with_thumbnail(WorkbookFactory(author=ada, title="Revenue by region"))
    client.force_login(reader)

    (row,) = rows(client)

    link = row.find(data_testid="feed-thumb")
    assert link.attrs["href"] == workbook.get_absolute_url()
    # The title's link is in the sentence beside it: this one is neither tabbed to nor read out.
    assert (link.attrs["tabindex"], link.attrs["aria-hidden"]) == ("-1", "true")
    img = link.find("img")
    assert img.attrs["alt"] == ""
    assert (img.attrs["width"], img.attrs["height"]) == ("300", "169")
    assert img.attrs["loading"] == "lazy"
    assert img.attrs["src"].endswith("thumbnails/revenue-small.jpeg")
    assert "medium" not in img.attrs["srcset"]  # the small variant only
    sentence = row.find("p", class_="activity__text")
    assert workbook.get_absolute_url() in [a.attrs["href"] for a in sentence.find_all("a")]


def test_a_workbook_without_a_thumbnail_shows_its_placeholder_and_a_follow_shows_none(
    client, reader, ada
):
    WorkbookFactory(author=ada, title="Cohorts")
    services.follow(ada, UserFactory(username="grace"))
    client.force_login(reader)

    followed, published = rows(client)

    assert followed.find_all(data_testid="feed-thumb") == []
    placeholder = published.find(data_testid="feed-thumb").find("span", class_="thumb--placeholder")
    assert placeholder.text.strip() == "C"
    assert published.find_all("img") == []


def test_the_feed_page_costs_the_same_queries_for_3_and_for_30_rows_with_thumbnails(
    client, reader, ada, django_assert_num_queries
):
    client.force_login(reader)

    def grow(have: int, total: int) -> None:
        for n in range(have, total):
            workbook = WorkbookFactory(title=f"Workbook {n}")
            if n % 2:
                with_thumbnail(workbook)
            services.favorite(ada, workbook)

    grow(0, 2)
    rows(client)  # the session and the member, kept from the first request on
    grow(2, 3)  # a new row: the kept first page is made again
    with CaptureQueriesContext(connection) as few:
        assert len(rows(client)) == 3
    grow(3, 30)

    with django_assert_num_queries(len(few.captured_queries)):
        found = rows(client)

    assert len(found) == 30
    assert sum(1 for row in found if row.find_all("img")) == 15
