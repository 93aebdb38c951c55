"""Explore in a real browser: a tag or an order applies as soon as it is chosen, the address never
carries an empty parameter, and the search box suggests tags from the API as one types."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory, WorkbookFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def gallery(db):
    WorkbookFactory(title="Revenue by region", tags=["finance"], view_count=5)
    WorkbookFactory(title="Revenue forecast", tags=["finance", "forecasting"], view_count=90)
    grace = UserFactory(username="ghopper", full_name="Grace Hopper")
    WorkbookFactory(title="Customer churn", tags=["retention"], author=grace)


def _query(url: str) -> str:
    return urlsplit(url).query


def test_changing_the_sort_applies_at_once_with_no_empty_parameter(new_page, live_server, gallery):
    page = new_page()
    page.goto(f"{live_server.url}/explore/?q=revenue")

    page.select_option("#explore-sort", "views")  # no Search pressed

    page.wait_for_url(re.compile(r"sort=views"))
    assert _query(page.url) == "q=revenue&sort=views"
    expect(page.locator("#explore-sort")).to_have_value("views")
    titles = page.locator(".wb-card__title")
    expect(titles).to_have_text(["Revenue forecast", "Revenue by region"])  # most viewed first


def test_changing_the_tag_applies_at_once_and_the_search_button_sends_a_clean_address(
    new_page, live_server, gallery
):
    page = new_page()
    page.goto(f"{live_server.url}/explore/")

    page.select_option("#explore-tag", "retention")

    page.wait_for_url(re.compile(r"tag=retention"))
    assert _query(page.url) == "tag=retention"
    expect(page.locator("main")).to_contain_text("Customer churn")

    page.select_option("#explore-tag", "")  # back to any tag: no `tag=` left behind
    page.wait_for_url(re.compile(r"/explore/$"))

    page.fill("#explore-q", "churn")
    page.get_by_role("button", name="Search", exact=True).last.click()
    page.wait_for_url(re.compile(r"q=churn"))
    assert _query(page.url) == "q=churn"


def test_without_javascript_the_search_button_still_lands_on_a_clean_address(
    browser, live_server, gallery
):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/explore/")
        page.fill("#explore-q", "revenue")

        page.locator("form[data-explore-filters] button[type=submit]").click()

        page.wait_for_url(re.compile(r"q=revenue"))
        assert _query(page.url) == "q=revenue"  # the server redirected ?q=revenue&tag=&sort=
        expect(page.locator("main")).to_contain_text("Revenue by region")
    finally:
        context.close()


def test_typing_a_tag_prefix_suggests_the_tag(new_page, live_server, traffic, gallery):
    page = new_page()
    page.goto(f"{live_server.url}/explore/")

    page.locator("#explore-q").press_sequentially("fore", delay=30)

    suggestion = page.locator('#explore-suggestions option[value="forecasting"]')
    expect(suggestion).to_have_count(1)
    expect(page.locator("#explore-suggestions option")).to_have_count(1)  # only what matches
    assert any("/api/v1/tags/?q=fore" in url for url in traffic.requests)
    # The box still names its suggestions for assistive technology.
    expect(page.locator("#explore-q")).to_have_attribute("list", "explore-suggestions")


def test_typing_part_of_a_name_suggests_the_author(new_page, live_server, traffic, gallery):
    page = new_page()
    page.goto(f"{live_server.url}/explore/")

    page.locator("#explore-q").press_sequentially("hop", delay=30)

    suggestion = page.locator('#explore-suggestions option[value="ghopper"]')
    expect(suggestion).to_have_count(1)
    expect(suggestion).to_have_attribute("label", "Author · Grace Hopper")
    assert any("/api/v1/users/?q=hop" in url for url in traffic.requests)
