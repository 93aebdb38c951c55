"""The feed's rows in Chromium: each workbook's small thumbnail (or its placeholder) sits at the row's
right, holds its size before it loads (no row moves as pictures arrive), and the page never scrolls
sideways, on a phone and on a desktop. Screenshots are saved under the artifacts folder."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.models import User
from social import services as social_services
from tests.browser.helpers import sign_in
from tests.factories import UserFactory, WorkbookFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Each row's height and its thumbnail's box, and each picture's state.
ROWS = """() => Array.from(document.querySelectorAll(".activity__item")).map((row) => {
  const thumb = row.querySelector(".activity__thumb");
  const text = row.querySelector(".activity__body").getBoundingClientRect();
  const box = thumb && thumb.getBoundingClientRect();
  const img = thumb && thumb.querySelector("img");
  return {
    height: Math.round(row.getBoundingClientRect().height),
    thumb: box && { width: Math.round(box.width), height: Math.round(box.height),
                    right: box.left >= text.right - 0.5 },
    placeholder: Boolean(thumb && thumb.querySelector(".thumb--placeholder")),
    underlined: Boolean(thumb) && getComputedStyle(thumb).textDecorationLine !== "none",
    picture: img && { loaded: img.complete && img.naturalWidth > 0, src: img.currentSrc },
  };
})"""
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_feed_rows_show_small_thumbnails_that_hold_their_size_before_they_load(
    new_page, live_server, quiet_push, artifacts_dir
):
    call_command("seed_demo", force=True)  # published workbooks with processed thumbnails
    ada = User.objects.get(username="ada")
    WorkbookFactory(author=ada, title="Zebra crossings")  # no thumbnail: its placeholder
    reader = UserFactory(username="reader")
    social_services.follow(reader, ada)

    for width in (390, 1366):
        page = new_page(width=width, height=844 if width < 800 else 900)
        sign_in(page, live_server.url, "reader")
        page.goto(f"{live_server.url}/feed/", wait_until="domcontentloaded")
        before = page.evaluate(ROWS)
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_load_state("networkidle")
        page.wait_for_function(
            "Array.from(document.querySelectorAll('.activity__thumb img')).every("
            "(img) => img.complete && img.naturalWidth > 0)"
        )
        after = page.evaluate(ROWS)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=artifacts_dir / f"feed-rows-{width}.png", full_page=True)

        assert [row["height"] for row in after] == [row["height"] for row in before], width
        with_thumbs = [row for row in after if row["thumb"]]
        assert len(with_thumbs) == len(after) >= 4, width  # every row here is a publication
        assert sum(row["placeholder"] for row in after) == 1, width
        for row in with_thumbs:
            assert row["thumb"]["right"], (width, row)
            assert not row["underlined"], (width, row)  # a picture, not a text link
            assert 60 <= row["thumb"]["width"] <= 100, (width, row)
            # 16:9, whatever has loaded (the border adds its 2 pixels).
            assert abs(row["thumb"]["height"] - 2 - (row["thumb"]["width"] - 2) * 9 / 16) <= 1.5
            if row["picture"]:
                assert "-small." in row["picture"]["src"], (width, row)
        assert page.evaluate(OVERFLOW) == 0, f"the feed scrolls sideways at {width} px"
