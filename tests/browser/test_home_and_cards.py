"""The home page and the gallery's cards in Chromium: card footers that never wrap awkwardly from
320 px up, a phone-length home whose sections scroll sideways, and the workbook of the day's panel
(keyboard, and the member's own favorite state over the shared copy). Screenshots and the measured
heights are saved under the artifacts folder."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from social import services as social_services
from tests.browser.helpers import sign_in
from tests.factories import FeaturedFactory, UserFactory, WorkbookFactory
from workbooks.models import Workbook

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (320, 390, 768, 1366)
LONG_NAME = "Maximiliana Wilhelmina Featherstonehaugh-Cholmondeley"
# The demo's home at 390 px was 8,407 px tall before its sections scrolled sideways, and is 2,538 px
# since: document.documentElement.scrollHeight after seed_demo, as measured below (the heights are
# saved to home-heights.json), on the commit before that change (a77abac) and after it.
PHONE_HEIGHT_LIMIT = 4000

# For every card footer: does the author's name, and do the counts, each sit on one line inside
# the footer, and does a shortened name keep the whole name in its title?
FOOTERS = """() => Array.from(document.querySelectorAll(".wb-card__footer")).map((footer) => {
  const lineHeight = parseFloat(getComputedStyle(footer.querySelector(".wb-card__meta")).lineHeight);
  const box = footer.getBoundingClientRect();
  const check = (element) => {
    const rect = element.getBoundingClientRect();
    return {
      oneLine: element.getClientRects().length === 1 && rect.height < lineHeight * 1.5,
      inside: rect.left >= box.left - 0.5 && rect.right <= box.right + 0.5,
    };
  };
  const author = footer.querySelector(".wb-card__meta > a");
  return {
    card: footer.closest(".wb-card").querySelector(".wb-card__title").textContent.trim(),
    author: check(author),
    counts: check(footer.querySelector(".wb-card__counts")),
    fullName: author.title === author.textContent.trim(),
  };
})"""
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def gallery(db):
    """Long and short names, big counts; one workbook of the day, featured, trending and latest."""
    people = [
        UserFactory(username="maxi", full_name=LONG_NAME),
        UserFactory(username="ada", full_name="Ada Lovelace"),
        UserFactory(username="bo", full_name="Bo"),
    ]
    workbooks = [
        WorkbookFactory(author=people[n % 3], title=f"Revenue analysis {n}", tags=["finance"])
        for n in range(9)
    ]
    for n, workbook in enumerate(workbooks):
        Workbook.objects.filter(pk=workbook.pk).update(
            view_count=98_765 - n, favorite_count=4_321 + n, trending_score=n % 3
        )
    for position, workbook in enumerate(workbooks[:3]):
        FeaturedFactory(workbook=workbook, position=position)
    return workbooks


def _open(new_page, url: str, width: int) -> Page:
    page = new_page(width=width, height=844 if width < 800 else 900)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return page


@pytest.mark.parametrize("path", ["/", "/explore/"])
def test_card_footers_keep_the_name_and_the_counts_each_on_one_line_from_320_px_up(
    new_page, live_server, gallery, artifacts_dir, path
):
    for width in WIDTHS:
        page = _open(new_page, f"{live_server.url}{path}", width)
        name = "home" if path == "/" else "explore"
        page.screenshot(path=artifacts_dir / f"cards-{name}-{width}.png", full_page=True)

        footers = page.evaluate(FOOTERS)

        # On the home page the workbook of the day is the panel, not a card.
        assert len(footers) == len(gallery) - (path == "/"), width
        for footer in footers:
            assert footer["author"] == {"oneLine": True, "inside": True}, (width, footer)
            assert footer["counts"] == {"oneLine": True, "inside": True}, (width, footer)
            assert footer["fullName"], (width, footer)
        assert page.evaluate(OVERFLOW) == 0, f"the page scrolls sideways at {width} px"


def test_a_long_name_is_shortened_on_the_card_and_read_whole(new_page, live_server, gallery):
    page = _open(new_page, f"{live_server.url}/explore/", 320)
    author = page.locator(".wb-card__author", has_text=LONG_NAME).first

    assert author.evaluate("element => element.scrollWidth > element.clientWidth")  # the "…"
    expect(author).to_have_attribute("title", LONG_NAME)
    expect(author).to_have_accessible_name(LONG_NAME)


def test_the_demo_home_is_short_on_a_phone_and_its_rows_scroll_to_each_focused_card(
    new_page, live_server, quiet_push, artifacts_dir
):
    call_command("seed_demo", force=True)
    heights = {}
    for width in (390, 1366):
        page = _open(new_page, f"{live_server.url}/", width)
        heights[width] = page.evaluate("document.documentElement.scrollHeight")
        page.screenshot(path=artifacts_dir / f"home-demo-{width}.png", full_page=True)
        assert page.evaluate(OVERFLOW) == 0, width
    (artifacts_dir / "home-heights.json").write_text(json.dumps(heights))

    assert heights[390] < PHONE_HEIGHT_LIMIT, heights

    # By keyboard, every card of a row comes into view as it takes the focus: nothing focusable is
    # left where it cannot be seen.
    page = _open(new_page, f"{live_server.url}/", 390)
    rows = page.locator(".wb-grid--row")
    expect(rows.first).to_be_visible()
    assert rows.first.evaluate("row => getComputedStyle(row).overflowX") == "auto"
    page.locator(".spotlight__actions .fav-toggle").focus()
    seen = 0
    for _ in range(60):
        page.keyboard.press("Tab")
        where = page.evaluate(
            """() => {
              const element = document.activeElement;
              if (!element.closest(".wb-grid--row")) return null;
              const rect = element.getBoundingClientRect();
              return {left: rect.left, right: rect.right, width: window.innerWidth};
            }"""
        )
        if where is not None:
            seen += 1
            assert where["left"] >= 0, where
            assert where["right"] <= where["width"], where
    assert seen > 8


def test_the_workbook_of_the_day_panel_by_keyboard_and_with_the_members_favorite(
    new_page, live_server, gallery
):
    star = gallery[0]
    member = UserFactory(username="abe")
    social_services.favorite(member, star)
    page = new_page()
    sign_in(page, live_server.url, "abe")
    page.goto(f"{live_server.url}/")

    # The thumbnail's duplicate link is skipped: the title is the panel's first stop.
    page.locator(".hero").get_by_role("link", name="Explore").focus()
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_accessible_name(star.title)

    panel = page.locator(".spotlight")
    button = panel.locator("form[data-favorite-card] button")
    expect(button).to_have_attribute("aria-pressed", "true")  # the member's, from the API
    count = panel.locator(f"[data-favorite-count='{star.pk}']")
    before = int(count.inner_text().split()[0])

    button.click()

    expect(button).to_have_attribute("aria-pressed", "false")
    expect(count).to_have_text(f"{before - 1:d} favorites")
