"""Follow and favorite in real Chromium: social.js does them through the API (session cookie and
CSRF token) and shows the state and counts it answers, without a page load."""

import pytest
from playwright.sync_api import Page, expect

from social.models import Favorite, Follow
from tests.browser.helpers import sign_in
from tests.factories import UserFactory, WorkbookFactory
from workbooks.models import Workbook

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def stay(page: Page) -> None:
    page.evaluate("window.stillThisPage = true")


def stayed(page: Page) -> bool:
    return page.evaluate("window.stillThisPage") is True


def test_a_member_follows_and_unfollows_from_a_profile(new_page, live_server):
    bea = UserFactory(username="bea", full_name="Bea Author")
    abe = UserFactory(username="abe")
    page = new_page()
    sign_in(page, live_server.url, "abe")
    page.goto(f"{live_server.url}/u/bea/")
    stay(page)
    button = page.locator("form[data-follow-form] button")
    followers = page.locator("[data-follower-count='bea']")
    expect(button).to_have_attribute("aria-pressed", "false")

    button.click()

    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button).to_contain_text("Following")
    expect(followers).to_have_text("1 follower")
    assert Follow.objects.filter(follower=abe, followee=bea).exists()

    button.click()

    expect(button).to_have_attribute("aria-pressed", "false")
    expect(followers).to_have_text("0 followers")
    assert not Follow.objects.exists()
    assert stayed(page)


def test_a_member_favorites_a_card_in_place(new_page, live_server):
    abe = UserFactory(username="abe")
    workbook = WorkbookFactory(title="Revenue by region")
    page = new_page()
    sign_in(page, live_server.url, "abe")
    page.goto(f"{live_server.url}/explore/")
    stay(page)
    card = page.locator(f"form[data-favorite-card][data-workbook-id='{workbook.pk}']")
    button = card.locator("button")
    count = page.locator(f"[data-favorite-count='{workbook.pk}']").first
    # The state comes from the API once the page has loaded.
    expect(card).to_have_attribute("data-enhanced", "")
    expect(button).to_have_attribute("aria-pressed", "false")

    button.click()

    expect(button).to_have_attribute("aria-pressed", "true")
    expect(count).to_have_text("1")
    assert Favorite.objects.filter(user=abe, workbook=workbook).exists()

    button.click()

    expect(button).to_have_attribute("aria-pressed", "false")
    expect(count).to_have_text("0")
    assert not Favorite.objects.exists()
    assert stayed(page)


def test_a_workbook_unpublished_meanwhile_shows_the_apis_reason(new_page, live_server):
    bea = UserFactory(username="bea")
    workbook = WorkbookFactory(author=bea, title="Revenue by region")
    page = new_page()
    sign_in(page, live_server.url, "bea")
    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")
    Workbook.objects.filter(pk=workbook.pk).update(status=Workbook.Status.DRAFT)

    page.get_by_role("button", name="Favorite", exact=True).click()

    expect(page.locator("#notification-toasts .toast")).to_contain_text(
        "Only published workbooks can be favorited or discussed."
    )
    expect(page.get_by_role("button", name="Favorite", exact=True)).to_have_attribute(
        "aria-pressed", "false"
    )
    assert not Favorite.objects.exists()
