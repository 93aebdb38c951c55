"""The insights page in real Chromium: the author gets there from their profile and workbook, sees a
chart per kind of count (each an image with a name and a description) and the table of its numbers,
and changes the period, all without JavaScript of the page's own."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.helpers import sign_in
from tests.factories import UserFactory, WorkbookFactory
from workbooks.models import DailyActivity, DailyReferrer, EmbedHealth

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_author_reads_a_workbooks_insights(new_page, live_server):
    author = UserFactory(username="ines")
    workbook = WorkbookFactory(author=author, title="Quarterly revenue")
    today = timezone.now().date()
    DailyActivity.objects.create(workbook=workbook, day=today, views=12)
    DailyActivity.objects.create(workbook=workbook, day=today - timedelta(days=20), views=5)
    EmbedHealth.objects.create(workbook=workbook, day=today, loads=3, errors=1)
    DailyReferrer.objects.create(workbook=workbook, day=today, domain="news.example", views=4)
    page = new_page()
    sign_in(page, live_server.url, "ines")

    page.goto(f"{live_server.url}/u/ines/")
    page.get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Insights: all your workbooks")
    page.get_by_role("link", name="Quarterly revenue").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Quarterly revenue")
    charts = page.get_by_role("img")
    expect(charts).to_have_count(5)
    expect(page.get_by_role("img", name="Views of “Quarterly revenue”")).to_be_visible()
    expect(page.get_by_role("img", name="Embed health of “Quarterly revenue”")).to_have_attribute(
        "aria-labelledby", "chart-embed-title chart-embed-desc"
    )
    table = page.get_by_role("table", name="The numbers the charts show, newest day first.")
    expect(table.get_by_role("row")).to_have_count(31)  # the header and 30 days
    first_day = table.get_by_role("row").nth(1)
    expect(first_day.get_by_role("cell")).to_have_text(["12", "0", "0", "0", "3", "1", "0", "25%"])
    expect(
        page.get_by_role("table", name="Sites whose links readers followed here, by domain.")
    ).to_contain_text("news.example")
    expect(page.locator("[data-total='views']")).to_have_text("17")

    page.get_by_role("link", name="Last 7 days").click()

    expect(page.locator("[data-total='views']")).to_have_text("12")
    expect(table.get_by_role("row")).to_have_count(8)
    box = page.get_by_role("img", name="Views of “Quarterly revenue”").bounding_box()
    assert box is not None
    assert box["width"] > 200
    assert box["height"] > 40
