"""Signing up, out and in again in a real browser, and getting around with the keyboard alone."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from tests.browser.helpers import sign_in
from tests.factories import PASSWORD as MEMBER_PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

USERNAME = "ada-browser"
PASSWORD = "an unguessable browser passphrase"


def test_it_signs_up_signs_out_and_signs_in_again(page: Page, live_server, artifacts_dir):
    page.goto(f"{live_server.url}/accounts/signup/")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Email address").fill("ada-browser@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()

    menu = page.get_by_test_id("user-menu")
    expect(menu.locator(".menu__name")).to_have_text(USERNAME)
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("status")).to_contain_text(f"Welcome to Sigma Playground, {USERNAME}.")
    assert User.objects.get(username=USERNAME).check_password(PASSWORD)

    menu.click()
    page.get_by_role("button", name="Sign out").click()
    expect(menu).to_have_count(0)
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()

    sign_in(page, live_server.url, USERNAME, PASSWORD)
    expect(page.get_by_test_id("user-menu").locator(".menu__name")).to_have_text(USERNAME)

    screenshot = artifacts_dir / "account-flow.png"
    screenshot.unlink(missing_ok=True)
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.is_file()
    assert screenshot.stat().st_size > 0


def test_it_lets_a_keyboard_user_skip_the_navigation(page: Page, live_server):
    page.goto(f"{live_server.url}/")
    skip_link = page.get_by_role("link", name="Skip to content")
    expect(skip_link).not_to_be_in_viewport()

    page.keyboard.press("Tab")

    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Join Sigma Playground")).to_be_focused()


def test_it_lets_a_keyboard_user_open_the_account_menu_and_sign_out(page: Page, live_server):
    person = UserFactory(username="keyboard-user", full_name="Kay Board")
    sign_in(page, live_server.url, person.username, MEMBER_PASSWORD)
    menu = page.get_by_test_id("user-menu")
    expect(menu.locator(".menu__name")).to_have_text("Kay Board")
    sign_out = page.get_by_role("button", name="Sign out")
    expect(sign_out).to_be_hidden()

    menu.focus()
    page.keyboard.press("Enter")
    expect(sign_out).to_be_visible()
    for _ in range(3):  # Your profile, Settings, Sign out
        page.keyboard.press("Tab")
    expect(sign_out).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    expect(menu).to_have_count(0)


def test_the_account_menu_keeps_a_long_name_on_one_line_on_a_narrow_phone(page: Page, live_server):
    member = UserFactory(username="kj", full_name="Katherine Johnson-Goble of Langley")
    page.set_viewport_size({"width": 320, "height": 700})
    sign_in(page, live_server.url, member.username)

    page.goto(f"{live_server.url}/explore/")
    toggle = page.get_by_test_id("user-menu")
    box = toggle.bounding_box()
    assert box is not None
    # One line: about the avatar's height plus the padding, not two lines of text.
    assert box["height"] < 48, box
    assert box["x"] + box["width"] <= 320
    name = toggle.locator(".menu__name")
    assert name.evaluate("el => el.scrollWidth > el.clientWidth")  # shortened with "…"

    # A name of usual length stays whole on a usual phone.
    member.full_name = "Ada Lovelace"
    member.save(update_fields=["full_name"])
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/explore/")
    assert not name.evaluate("el => el.scrollWidth > el.clientWidth")
