"""The insights pages: the author's and staff's alone, a chart per kind of count with its numbers in
a table, periods of 7, 30 or 90 days, and a fixed number of queries."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import CuratorFactory, ModeratorFactory, UserFactory, WorkbookFactory
from tests.insights.rows import activity

pytestmark = pytest.mark.django_db


def insights_url(workbook) -> str:
    return f"/w/{workbook.slug}/insights/"


def test_an_author_sees_a_workbooks_charts_table_and_referrers(client):
    workbook = WorkbookFactory(title="Sales <by> region")
    activity(workbook, 0, views=7, favorites=1, comments=2, adds=1, loads=3, errors=1,
             referrers={"news.example": 5})  # fmt: skip
    client.force_login(workbook.author)

    response = client.get(insights_url(workbook))

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    page = response.content.decode()
    assert page.count('<svg class="chart"') == 5
    assert page.count("<title id=") == 5
    assert page.count("<desc id=") == 5
    assert "Sales &lt;by&gt; region" in page
    assert "Sales <by>" not in page
    assert re.search(r'data-total="views">\s*7\s*<', page)
    assert '<caption id="days-caption">The numbers the charts show' in page
    assert "news.example" in page
    assert "25%" in page  # one of four embed outcomes failed
    assert 'aria-current="page">Last 30 days' in page
    assert 'fill="url(#chart-embed-hatch)"' in page  # failures told apart without colour


@pytest.mark.parametrize("days", ["7", "90"])
def test_the_period_is_chosen_by_days(client, days):
    workbook = WorkbookFactory()
    client.force_login(workbook.author)
    page = client.get(insights_url(workbook), {"days": days}).content.decode()
    assert f'aria-current="page">Last {days} days' in page
    assert page.count("<time datetime=") == int(days)


@pytest.mark.parametrize("days", ["14", "", "abc", "7.0"])
def test_any_other_period_is_a_400(client, days):
    workbook = WorkbookFactory()
    client.force_login(workbook.author)
    assert client.get(insights_url(workbook), {"days": days}).status_code == 400
    assert client.get("/insights/", {"days": days}).status_code == 400


def test_a_workbooks_insights_are_a_404_to_anyone_but_its_author_and_staff(client):
    workbook = WorkbookFactory()
    assert client.get(insights_url(workbook)).status_code == 404
    client.force_login(UserFactory())
    assert client.get(insights_url(workbook)).status_code == 404
    client.force_login(UserFactory(is_staff=True))
    assert client.get(insights_url(workbook)).status_code == 200


def test_a_drafts_insights_are_a_404_to_a_curator_not_to_a_moderator(client):
    draft = WorkbookFactory(status="draft")
    client.force_login(CuratorFactory())
    assert client.get(insights_url(draft)).status_code == 404
    client.force_login(ModeratorFactory())
    assert client.get(insights_url(draft)).status_code == 200


def test_all_my_workbooks_together_with_each_ones_totals(client):
    author = UserFactory()
    first = WorkbookFactory(author=author, title="First")
    WorkbookFactory(author=author, title="Second draft", status="draft")
    activity(first, 2, views=4)
    activity(WorkbookFactory(title="Someone else's"), 2, views=9)
    client.force_login(author)

    page = client.get("/insights/").content.decode()

    assert "Insights: all your workbooks" in page
    assert f'href="/w/{first.slug}/insights/">First</a>' in page
    assert "Second draft" in page
    assert "Someone else" not in page


def test_a_visitor_is_asked_to_sign_in_for_their_insights(client):
    response = client.get("/insights/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next=/insights/"


def test_the_author_finds_the_way_from_their_workbook_and_profile(client):
    workbook = WorkbookFactory()
    client.force_login(workbook.author)
    assert f'href="/w/{workbook.slug}/insights/"' in client.get(workbook.get_absolute_url()).text
    profile = client.get(f"/u/{workbook.author.username}/").text
    assert 'href="/insights/"' in profile


def test_nobody_else_sees_the_way(client):
    workbook = WorkbookFactory()
    assert "/insights/" not in client.get(workbook.get_absolute_url()).text
    client.force_login(UserFactory())
    assert "/insights/" not in client.get(workbook.get_absolute_url()).text
    assert "/insights/" not in client.get(f"/u/{workbook.author.username}/").text


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("mine", [True, False], ids=["mine", "workbook"])
def test_an_insights_page_costs_the_same_queries_as_rows_and_days_grow(client, mine):
    author = UserFactory()
    workbook = WorkbookFactory(author=author)
    client.force_login(author)
    url = "/insights/" if mine else insights_url(workbook)
    client.get(url)  # the session's first page
    few = _queries(client, f"{url}?days=7")
    for n in range(8):
        activity(WorkbookFactory(author=author), n * 10, views=2, favorites=1, comments=1,
                 adds=1, loads=1, timeouts=1, referrers={f"s{n}.example": 1})  # fmt: skip
        activity(workbook, n * 10, views=1, favorites=1, referrers={f"s{n}.example": 1})
    assert few == _queries(client, f"{url}?days=90")
