"""The admin at a laptop's width: the featured list shows every column whole, in the site's colours."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from tests.factories import FeaturedFactory, UserFactory, WorkbookFactory

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 900}
LONG_NOTE = "Picked for the spring data-visualisation challenge, week three"


def _sign_in_as_staff(page: Page, live_server) -> None:
    staff = UserFactory(username="chief", is_staff=True, is_superuser=True)
    # The admin's own sign-in sends staff to the site's; a session cookie is what that leaves.
    from django.test import Client

    client = Client()
    client.force_login(staff)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])


def test_the_featured_list_shows_ends_at_and_note_whole_at_1366_px(
    browser, live_server, artifacts_dir
):
    now = timezone.now()
    for number in range(3):
        FeaturedFactory(
            workbook=WorkbookFactory(
                title=f"Quarterly revenue by region and product line {number}"
            ),
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=30),
            note=LONG_NOTE,
        )
    context = browser.new_context(viewport=LAPTOP, locale="en-US")
    page = context.new_page()
    try:
        _sign_in_as_staff(page, live_server)
        page.goto(f"{live_server.url}/admin/workbooks/featured/")
        page.screenshot(path=artifacts_dir / "admin-featured-1366.png", full_page=True)

        # The list scrolls sideways inside its box when too wide: what counts is that box's edge.
        visible = page.locator("#changelist .results").bounding_box()
        assert visible is not None
        right_edge = min(visible["x"] + visible["width"], LAPTOP["width"])
        for column in ("ends_at", "note"):
            for element in [
                page.locator(f"th.column-{column}"),
                *page.locator(f"td.field-{column}").all(),
            ]:
                box = element.bounding_box()
                assert box is not None, column
                assert box["x"] >= visible["x"], (column, box, visible)
                assert box["x"] + box["width"] <= right_edge, (column, box, visible)
        assert page.evaluate(
            "(() => { const r = document.querySelector('#changelist .results');"
            " return r.scrollWidth <= r.clientWidth; })()"
        )
        # No field cut short: each note's text area shows the whole note, each date its value.
        cut = page.evaluate(
            """() => [...document.querySelectorAll('#result_list td input, #result_list td textarea')]
                .filter(el => el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)
                .map(el => el.name)"""
        )
        assert cut == []
    finally:
        context.close()
