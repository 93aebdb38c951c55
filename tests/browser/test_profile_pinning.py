"""Pinning workbooks to a profile in real Chromium, through the settings form (no JavaScript
needed), and a reader finding them first on the profile; the author's drafts tab, badged."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import sign_in
from tests.factories import UserFactory, WorkbookFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_author_pins_two_workbooks_and_a_visitor_sees_them_first(new_page, live_server):
    ada = UserFactory(username="ada", full_name="Ada Lovelace")
    WorkbookFactory(author=ada, title="Difference engine")
    WorkbookFactory(author=ada, title="Analytical engine")
    WorkbookFactory(author=ada, title="Newest, not pinned")
    WorkbookFactory(author=ada, title="Notes on a draft", status="draft")
    page = new_page()
    sign_in(page, live_server.url, "ada")

    page.goto(f"{live_server.url}/settings/")
    page.get_by_label("Pinned workbook 1").select_option(label="Analytical engine")
    page.get_by_label("Pinned workbook 2").select_option(label="Difference engine")
    page.get_by_label("GitHub").fill("github.com/ada")
    page.get_by_role("button", name="Save profile").click()
    expect(page.locator(".messages")).to_have_text("Your profile is saved.")

    page.goto(f"{live_server.url}/u/ada/")
    expect(page.get_by_role("link", name="Drafts")).to_be_visible()
    drafts = page.get_by_role("region", name="Your drafts")
    expect(drafts.locator(".badge--draft")).to_have_text(["Draft"])

    visitor = new_page()
    visitor.goto(f"{live_server.url}/u/ada/")
    pinned = visitor.get_by_role("region", name="Pinned")
    expect(pinned.locator(".wb-card__title")).to_have_text(
        ["Analytical engine", "Difference engine"]
    )
    expect(visitor.get_by_role("link", name="GitHub")).to_have_attribute(
        "rel", "me nofollow noopener ugc"
    )
    expect(visitor.get_by_text("Notes on a draft")).to_have_count(0)
    expect(visitor.locator(".badge--draft")).to_have_count(0)
    expect(visitor.get_by_role("link", name="Drafts")).to_have_count(0)


def test_an_author_pins_a_workbook_from_its_page(new_page, live_server):
    ada = UserFactory(username="ada", full_name="Ada Lovelace")
    workbook = WorkbookFactory(author=ada, title="Difference engine")
    page = new_page()
    sign_in(page, live_server.url, "ada")

    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")
    page.get_by_role("button", name="Pin to profile").click()

    expect(page.locator(".messages")).to_have_text("Pinned to your profile.")
    expect(page.get_by_role("button", name="Unpin from profile")).to_be_visible()
    page.goto(f"{live_server.url}/u/ada/")
    pinned = page.get_by_role("region", name="Pinned")
    expect(pinned.locator(".wb-card__title")).to_have_text(["Difference engine"])
