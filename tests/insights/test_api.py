"""The insights API: the author's and staff's alone, the same numbers as the pages, `days` of 7, 30
or 90, and a fixed number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.factories import CuratorFactory, ModeratorFactory, UserFactory, WorkbookFactory
from tests.insights.rows import activity, today

pytestmark = pytest.mark.django_db


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_a_workbooks_insights(client):
    workbook = WorkbookFactory()
    activity(workbook, 0, views=6, favorites=1, comments=1, adds=2, loads=3, errors=1)
    activity(workbook, 3, views=2, referrers={"news.example": 2})

    response = api(workbook.author).get(f"/api/v1/workbooks/{workbook.pk}/insights/?days=7")

    assert response.status_code == 200
    data = response.json()
    assert data["days"] == 7
    assert data["end"] == today().isoformat()
    assert len(data["series"]) == 7
    assert data["series"][-1] == {
        "day": today().isoformat(), "views": 6, "favorites": 1, "comments": 1,
        "collection_adds": 2,
    }  # fmt: skip
    assert data["totals"] == {"views": 8, "favorites": 1, "comments": 1, "collection_adds": 2}
    assert data["referrers"] == [{"domain": "news.example", "views": 2}]
    assert data["embed_health"]["totals"] == {
        "loads": 3, "errors": 1, "timeouts": 0, "failed_share": 0.25,
    }  # fmt: skip
    assert data["embed_health"]["series"][-1]["failed_share"] == 0.25
    assert data["embed_health"]["series"][0]["failed_share"] is None


def test_my_insights_add_up_my_workbooks():
    author = UserFactory()
    first = WorkbookFactory(author=author)
    activity(first, 1, views=3)
    activity(WorkbookFactory(author=author), 1, views=4, timeouts=2)
    activity(WorkbookFactory(), 1, views=50)

    data = api(author).get("/api/v1/me/insights/").json()

    assert data["days"] == 30
    assert data["totals"]["views"] == 7
    assert data["embed_health"]["totals"]["timeouts"] == 2
    assert {item["id"]: item["totals"]["views"] for item in data["workbooks"]}[first.pk] == 3
    assert len(data["workbooks"]) == 2


@pytest.mark.parametrize("days", ["14", "", "x", "7.5"])
def test_any_other_period_is_a_400(days):
    workbook = WorkbookFactory()
    client = api(workbook.author)
    for url in (f"/api/v1/workbooks/{workbook.pk}/insights/", "/api/v1/me/insights/"):
        response = client.get(url, {"days": days})
        assert response.status_code == 400
        assert "days" in response.json()


def test_only_the_author_and_staff_may_ask():
    workbook = WorkbookFactory()
    url = f"/api/v1/workbooks/{workbook.pk}/insights/"
    assert api().get(url).status_code == 401
    assert api().get("/api/v1/me/insights/").status_code == 401
    assert api(UserFactory()).get(url).status_code == 404
    assert api(UserFactory(is_staff=True)).get(url).status_code == 200
    assert api(workbook.author).get("/api/v1/workbooks/999999/insights/").status_code == 404


def test_a_curator_may_not_ask_for_someone_elses_draft_a_moderator_may():
    draft = WorkbookFactory(status="draft")
    url = f"/api/v1/workbooks/{draft.pk}/insights/"
    assert api(CuratorFactory()).get(url).status_code == 404
    assert api(UserFactory(is_staff=True)).get(url).status_code == 404
    assert api(ModeratorFactory()).get(url).status_code == 200
    assert api(draft.author).get(url).status_code == 200


def _queries(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("mine", [True, False], ids=["mine", "workbook"])
def test_insights_cost_the_same_queries_as_rows_and_days_grow(mine):
    author = UserFactory()
    workbook = WorkbookFactory(author=author)
    client = api(author)
    url = "/api/v1/me/insights/" if mine else f"/api/v1/workbooks/{workbook.pk}/insights/"
    few = _queries(client, f"{url}?days=7")
    for n in range(8):
        activity(WorkbookFactory(author=author), n * 10, views=2, favorites=1, comments=1,
                 adds=1, loads=1, errors=1, referrers={f"s{n}.example": 1})  # fmt: skip
        activity(workbook, n * 10, views=1, comments=1, referrers={f"s{n}.example": 1})
    assert few == _queries(client, f"{url}?days=90")
