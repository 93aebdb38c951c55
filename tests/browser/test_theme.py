"""The light and dark themes in a real Chromium (static/js/theme.js, static/css/site.css's light-dark()
palette): with no choice a page follows the system; the switch in the navigation changes the theme, by
mouse or keyboard, and this browser remembers it on every page until it is switched back; a choice wins
over the system. The `new_page` fixture asserts that no Content Security Policy was violated."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_embeds import has_class, publish
from tests.factories import WorkbookFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# --canvas, the page's background, in each theme (static/css/site.css).
LIGHT_CANVAS = "rgb(245, 246, 250)"
DARK_CANVAS = "rgb(17, 18, 25)"
DARK_PAPER = "rgb(27, 28, 38)"


def background(page: Page, selector: str = "html") -> str:
    return page.locator(selector).first.evaluate("e => getComputedStyle(e).backgroundColor")


def switch(page: Page):
    return page.get_by_role("button", name="Dark theme")


def stored_theme(page: Page) -> str | None:
    return page.evaluate("() => localStorage.getItem('theme')")


def test_with_no_choice_a_page_follows_a_dark_system(new_page, live_server, artifacts_dir):
    WorkbookFactory(title="Revenue by region")
    page = new_page(width=1366, height=900)
    page.emulate_media(color_scheme="dark")
    page.goto(f"{live_server.url}/")

    assert background(page) == DARK_CANVAS
    assert background(page, ".wb-card") == DARK_PAPER
    expect(switch(page)).to_be_visible()
    expect(switch(page)).to_have_attribute("aria-pressed", "true")
    expect(page.locator("html")).not_to_have_attribute("data-theme", "dark")  # followed, not chosen
    assert stored_theme(page) is None
    page.screenshot(path=artifacts_dir / "theme-home-dark-1366.png", full_page=True)

    page.emulate_media(color_scheme="light")
    assert background(page) == LIGHT_CANVAS
    expect(switch(page)).to_have_attribute("aria-pressed", "false")
    page.screenshot(path=artifacts_dir / "theme-home-light-1366.png", full_page=True)


def test_the_switch_is_remembered_across_a_reload_and_on_other_pages(new_page, live_server):
    page = new_page()
    page.emulate_media(color_scheme="light")
    page.goto(f"{live_server.url}/explore/")
    expect(switch(page)).to_have_attribute("aria-pressed", "false")

    switch(page).click()

    expect(switch(page)).to_have_attribute("aria-pressed", "true")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert background(page) == DARK_CANVAS
    assert stored_theme(page) == "dark"

    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(switch(page)).to_have_attribute("aria-pressed", "true")
    assert background(page) == DARK_CANVAS

    page.goto(f"{live_server.url}/accounts/login/")
    assert background(page) == DARK_CANVAS

    # Back to the system's own theme: the choice is forgotten, and the site follows the system again.
    switch(page).click()
    assert background(page) == LIGHT_CANVAS
    assert stored_theme(page) is None
    page.emulate_media(color_scheme="dark")
    assert background(page) == DARK_CANVAS


def test_a_light_choice_wins_over_a_dark_system(new_page, live_server, artifacts_dir):
    page = new_page(width=390, height=844)
    page.emulate_media(color_scheme="dark")
    page.goto(f"{live_server.url}/explore/")
    assert background(page) == DARK_CANVAS

    switch(page).click()

    expect(switch(page)).to_have_attribute("aria-pressed", "false")
    assert background(page) == LIGHT_CANVAS
    assert stored_theme(page) == "light"
    page.goto(f"{live_server.url}/")
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert background(page) == LIGHT_CANVAS
    page.screenshot(path=artifacts_dir / "theme-home-light-chosen-390.png", full_page=True)


def test_the_switch_works_from_the_keyboard(new_page, live_server):
    page = new_page()
    page.emulate_media(color_scheme="light")
    page.goto(f"{live_server.url}/explore/")

    # The next stop after the navigation's search button.
    page.locator(".nav__search button").focus()
    page.keyboard.press("Tab")
    expect(switch(page)).to_be_focused()
    page.keyboard.press("Space")
    expect(switch(page)).to_have_attribute("aria-pressed", "true")
    assert background(page) == DARK_CANVAS
    page.keyboard.press("Enter")
    expect(switch(page)).to_have_attribute("aria-pressed", "false")
    assert background(page) == LIGHT_CANVAS
    # Its focus ring shows.
    assert switch(page).evaluate("e => getComputedStyle(e).boxShadow") != "none"


def test_the_error_pages_and_the_api_docs_follow_the_choice(new_page, live_server, artifacts_dir):
    page = new_page(width=1366, height=900)
    page.emulate_media(color_scheme="light")
    page.goto(f"{live_server.url}/no-such-page/")
    switch(page).click()
    assert background(page) == DARK_CANVAS
    page.screenshot(path=artifacts_dir / "theme-404-dark-1366.png")

    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.locator(".opblock").first).to_be_visible()
    # Swagger UI's own dark theme, by its class, and our banner in the dark palette.
    expect(page.locator("html")).to_have_class(has_class("dark-mode"))
    assert background(page) == DARK_CANVAS
    assert background(page, ".api-docs__header") == DARK_PAPER
    page.screenshot(path=artifacts_dir / "theme-api-docs-dark-1366.png")
    # "Try it out"'s Cancel in the site's red, readable on the operation (Swagger UI's is 4.3:1).
    page.locator(".opblock-get .opblock-summary-control").first.click()
    page.get_by_role("button", name="Try it out").first.click()
    cancel = page.locator(".try-out__btn.cancel").first
    expect(cancel).to_be_visible()
    expect(cancel).to_have_css("color", "rgb(255, 138, 128)")  # --danger, once its transition ends


def test_the_sigma_frame_follows_the_page(new_page, live_server, artifacts_dir):
    workbook = publish("wb-theme-1")
    page = new_page(width=1366, height=900)
    page.emulate_media(color_scheme="light")
    page.goto(f"{live_server.url}/")
    switch(page).click()

    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")
    frame = page.frame_locator(".embed__frame").locator("body")
    expect(frame).to_contain_text("Development stand-in")
    # Retried until the frame's stylesheet has applied: its text can show before it does.
    expect(frame).to_have_css("background-color", "rgb(22, 23, 31)")
    page.screenshot(path=artifacts_dir / "theme-workbook-dark-1366.png")
