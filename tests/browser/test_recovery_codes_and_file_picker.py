"""Two small things in a real browser: the recovery codes shown on turning two-factor on can be
copied (onto the clipboard, one a line) and downloaded as a .txt file, under the site's CSP; the file
picker's button looks like the site's buttons and keeps its label and focus ring."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CODE = re.compile(r"^[a-z0-9-]{8,}$")
BRAND = "rgb(59, 63, 216)"  # --brand in site.css


def turn_on_two_factor(page: Page, base_url: str) -> list[str]:
    page.goto(f"{base_url}/settings/two-factor/")
    page.get_by_role("button", name="Set up two-factor authentication").click()
    secret = page.locator("code.secret").text_content() or ""
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    codes = [
        text.strip()
        for text in page.get_by_test_id("recovery-codes").locator("code").all_text_contents()
    ]
    assert len(codes) == 10
    assert all(CODE.match(code) for code in codes)
    return codes


def test_turning_on_two_factor_shows_codes_that_copy_and_download(new_page, live_server, tmp_path):
    member = UserFactory(username="careful")
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(page, live_server.url, member.username)

    codes = turn_on_two_factor(page, live_server.url)

    copy = page.get_by_role("button", name="Copy")
    expect(copy).to_be_visible()
    copy.click()
    expect(page.get_by_role("status").filter(has_text="Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == "\n".join(codes) + "\n"

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download (.txt)").click()
    download = download_info.value
    assert download.suggested_filename == "sigma-playground-recovery-codes.txt"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    lines = saved.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Sigma Playground recovery codes"
    assert lines[2:] == codes


def test_without_javascript_the_codes_download_and_no_copy_button_shows(
    browser, live_server, tmp_path
):
    member = UserFactory(username="noscript")
    context = browser.new_context(java_script_enabled=False, accept_downloads=True)
    try:
        page = context.new_page()
        sign_in(page, live_server.url, member.username)

        codes = turn_on_two_factor(page, live_server.url)

        expect(page.get_by_role("button", name="Copy")).to_be_hidden()
        with page.expect_download() as download_info:
            page.get_by_role("link", name="Download (.txt)").click()
        saved = tmp_path / "codes.txt"
        download_info.value.save_as(saved)
        assert saved.read_text(encoding="utf-8").splitlines()[2:] == codes
    finally:
        context.close()


def test_the_file_picker_looks_like_a_site_button_with_its_label_and_focus_ring(
    new_page, live_server
):
    member = UserFactory(username="pictured")
    page = new_page()
    sign_in(page, live_server.url, member.username)
    page.goto(f"{live_server.url}/settings/")

    picker = page.get_by_label("Choose a picture")
    expect(picker).to_have_attribute("type", "file")
    button = picker.evaluate(
        """input => {
            const style = getComputedStyle(input, "::file-selector-button");
            return {border: style.borderTopColor, color: style.color, radius: style.borderTopLeftRadius,
                    weight: style.fontWeight};
        }"""
    )
    assert button == {"border": BRAND, "color": BRAND, "radius": "8px", "weight": "600"}

    picker.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # focused from the keyboard: :focus-visible
    expect(picker).to_be_focused()
    ring = picker.evaluate("input => getComputedStyle(input).boxShadow")
    assert ring != "none"
    assert "111, 115, 255" in ring  # --focus-ring, light theme
