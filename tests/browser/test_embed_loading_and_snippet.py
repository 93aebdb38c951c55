"""The workbook page as a reader sees it at desktop (1366 by 900) and phone (390 by 844) widths, in
Chromium with the Sigma stand-in: while the frame loads, a notice says so and "Open in Sigma" can be
reached at once with the mouse and the keyboard; the notice goes when the frame reports loaded; the
embed snippet is readable whole and its Copy button puts it on the clipboard.

Screenshots of each width are saved under test-artifacts/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_embeds import Embed, has_class, publish

pytestmark = pytest.mark.browser

WIDTHS = [pytest.param(1366, 900, id="desktop"), pytest.param(390, 844, id="phone")]
# Long enough that a frame which never answers stays loading for the whole test.
PATIENT_SECONDS = 60
# True when the centre of the element is the element itself (or inside it): nothing covers it, so
# a click lands on it.
ON_TOP = """element => {
  const box = element.getBoundingClientRect();
  const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return element === hit || element.contains(hit);
}"""
# How the snippet's box fits its text: a box that clips nothing has no horizontal overflow, and either
# shows all its lines or scrolls to them.
FIT = """box => ({
  scrollWidth: box.scrollWidth, clientWidth: box.clientWidth,
  scrollHeight: box.scrollHeight, clientHeight: box.clientHeight,
  overflowY: getComputedStyle(box).overflowY, font: getComputedStyle(box).fontFamily,
  right: box.getBoundingClientRect().right,
  cardRight: box.closest(".card").getBoundingClientRect().right,
  viewport: document.documentElement.clientWidth,
})"""


def open_in_sigma(page: Page):
    return page.locator("[data-sigma-embed]").get_by_role("link", name="Open in Sigma")


@pytest.mark.parametrize(("width", "height"), WIDTHS)
def test_open_in_sigma_is_reachable_while_the_frame_loads(
    new_page, live_server, settings, artifacts_dir, width, height
):
    settings.SIGMA_EMBED_LOAD_TIMEOUT = PATIENT_SECONDS
    workbook = publish("1-silentSlow01")  # the stand-in never reports loaded
    page = new_page(width=width, height=height)
    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")

    embed = Embed(page)
    expect(embed.section).to_have_class(has_class("is-loading"))
    expect(
        page.get_by_role("status").filter(has_text="Loading the workbook from Sigma…")
    ).to_be_visible()
    link = open_in_sigma(page)
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", workbook.embed_url)
    assert link.evaluate(ON_TOP), "something covers Open in Sigma"
    # From the keyboard: Tab reaches it (it is the first focusable element after the header's).
    page.locator("#workbook-title").click()
    for _ in range(20):
        page.keyboard.press("Tab")
        if link.evaluate("link => link === document.activeElement"):
            break
    expect(link).to_be_focused()
    expect(embed.section).not_to_have_class(has_class("is-failed"))
    embed.section.screenshot(path=artifacts_dir / f"workbook-embed-loading-{width}.png")


@pytest.mark.parametrize(("width", "height"), WIDTHS)
def test_the_loading_notice_goes_when_the_frame_reports_loaded(
    new_page, live_server, artifacts_dir, width, height
):
    workbook = publish("1-LoadsFine02")
    page = new_page(width=width, height=height)
    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")

    embed = Embed(page)
    expect(embed.section).to_have_class(has_class("is-loaded"))
    expect(embed.placeholder).to_be_hidden()
    expect(open_in_sigma(page)).to_be_hidden()
    expect(page.get_by_role("status").filter(has_text="Loading")).to_have_count(0)
    expect(embed.frame).to_be_visible()
    page.screenshot(path=artifacts_dir / f"workbook-page-{width}.png", full_page=True)


def test_a_failure_turns_the_notice_into_a_message_with_the_same_link(new_page, live_server):
    workbook = publish("1-errorNotice01")
    page = new_page(width=390, height=844)
    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")

    embed = Embed(page)
    expect(embed.fallback).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("This workbook could not be shown here.")
    expect(page.get_by_text("Loading the workbook from Sigma…")).to_be_hidden()
    link = open_in_sigma(page)
    expect(link).to_have_count(1)
    expect(link).to_be_visible()
    assert link.evaluate(ON_TOP)


@pytest.mark.parametrize(
    ("motion", "animation"), [("no-preference", "embed-spin"), ("reduce", "none")]
)
def test_the_spinner_keeps_still_for_readers_who_ask_for_less_motion(
    new_page, live_server, settings, motion, animation
):
    settings.SIGMA_EMBED_LOAD_TIMEOUT = PATIENT_SECONDS
    workbook = publish("1-silentMotion01")
    page = new_page()
    page.emulate_media(reduced_motion=motion)
    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")

    spinner = page.locator(".embed__spinner")
    expect(spinner).to_be_visible()
    expect(spinner).to_have_css("animation-name", animation)


@pytest.mark.parametrize(("width", "height"), WIDTHS)
def test_the_snippet_is_readable_whole_and_copies(
    new_page, live_server, artifacts_dir, width, height
):
    # A long title makes a long snippet: the box must still show all of it.
    workbook = publish("1-SnippetBox01", title="Pipeline by region, quarter and owner " * 3)
    page = new_page(width=width, height=height)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")

    box = page.get_by_label("Embed", exact=True)
    box.scroll_into_view_if_needed()
    fit = box.evaluate(FIT)
    assert fit["scrollWidth"] <= fit["clientWidth"], fit  # no text past the right edge
    assert fit["scrollHeight"] <= fit["clientHeight"] or fit["overflowY"] in ("auto", "scroll"), fit
    assert fit["right"] <= fit["cardRight"] <= fit["viewport"], fit  # inside its card and the page
    assert "monospace" in fit["font"]
    assert page.evaluate("document.documentElement.scrollWidth") <= fit["viewport"]

    copy = page.get_by_role("button", name="Copy the embed code")
    expect(copy).to_be_visible()
    copy.click()
    expect(copy).to_have_text("Copied")
    expect(page.locator("[data-copy-status='embed-snippet']")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == box.input_value()
    assert box.input_value().startswith('<iframe src="https://app.sigmacomputing.com/embed/')
    page.locator(".share").screenshot(path=artifacts_dir / f"workbook-snippet-{width}.png")


def test_without_javascript_the_frame_shows_with_no_loading_notice_over_it(
    browser, live_server, sigma_standin, traffic
):
    workbook = publish("1-NoScript01")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    traffic.watch(context)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}{workbook.get_absolute_url()}")

        frame = page.locator("iframe.embed__frame--static")
        expect(frame).to_be_visible()
        assert frame.evaluate(ON_TOP), "something covers the frame"
        expect(page.locator("[data-embed-placeholder]")).to_be_hidden()
        expect(page.locator("iframe[data-src]")).to_be_hidden()
    finally:
        context.close()
    traffic.assert_clean()
