"""Embed health in a real Chromium: a reader's page reports how the frame fared, once per view, and
the author sees the failures on the workbook's insights page within a minute.

Frames show the site's stand-in for Sigma (tests/browser/conftest.py `sigma_standin`): it reports
`workbook:error` when the Sigma id contains "error", and nothing when it contains "silent".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.http import HttpRequest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser.helpers import sign_in
from tests.factories import UserFactory
from workbooks import beacons, services
from workbooks.models import EmbedHealth, Workbook

pytestmark = pytest.mark.browser

SIGMA_ORIGIN = "https://app.sigmacomputing.com"
# After the outcome, how long a test waits for a report that must not come.
QUIET_SECONDS = 1.5


def publish(sigma_id: str, **fields: Any) -> Workbook:
    fields.setdefault("author", UserFactory())
    return services.create_workbook(
        fields.pop("author"),
        title="Pipeline by region",
        embed_url=f"{SIGMA_ORIGIN}/embed/{sigma_id}",
        status=Workbook.Status.PUBLISHED,
    )


def counted(workbook: Workbook) -> tuple[int, int, int]:
    rows = list(
        EmbedHealth.objects.filter(workbook=workbook).values_list("loads", "errors", "timeouts")
    )
    return (sum(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows))


def wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not reported in time"
        time.sleep(0.1)


def read_as_a_visitor(
    new_page: Callable[..., Page], live_server, workbook: Workbook, address: str = ""
) -> Page:
    """A visitor's page; from `address`, as a proxy of ours says (NUM_PROXIES), when given."""
    page = new_page()
    if address:
        page.context.set_extra_http_headers({"X-Forwarded-For": address})
    page.goto(live_server.url + workbook.get_absolute_url())
    return page


def test_the_author_sees_a_failing_frame_on_the_insights_page_within_a_minute(
    new_page, live_server, settings
):
    # Each address is counted once per workbook per ten minutes: the second reader is elsewhere.
    settings.NUM_PROXIES = 1
    author = UserFactory(username="ada")
    workbook = publish("1-errorHealth01", author=author)
    started = time.monotonic()

    reader = read_as_a_visitor(new_page, live_server, workbook)
    expect(reader.locator("[data-embed-fallback]")).to_be_visible()
    other_reader = read_as_a_visitor(new_page, live_server, workbook, address="192.0.2.7")
    expect(other_reader.locator("[data-embed-fallback]")).to_be_visible()
    wait_for(lambda: counted(workbook) == (0, 2, 0))

    page = new_page()
    sign_in(page, live_server.url, author.username)
    page.goto(live_server.url + reverse("insights:workbook", args=[workbook.slug]))

    expect(page.locator('[data-total="failed"]')).to_contain_text("2 (100%)")
    today = page.locator("tbody tr").first
    # Day, views, favorites, comments, collection adds, loads, errors, timeouts, failed share.
    expect(today.locator("td").nth(4)).to_have_text("0")
    expect(today.locator("td").nth(5)).to_have_text("2")
    expect(today.locator("td").nth(7)).to_have_text("100%")
    assert time.monotonic() - started < 60


def test_the_beacon_says_it_comes_from_the_sites_own_page(new_page, live_server, monkeypatch):
    """The endpoint takes reports only from this site's pages, by Sec-Fetch-Site or else Origin:
    Chromium's beacon sends both, as the server receives them."""
    received: list[dict[str, str | None]] = []
    same_origin = beacons.is_same_origin

    def recording(request: HttpRequest) -> bool:
        received.append({h: request.headers.get(h) for h in ("Origin", "Sec-Fetch-Site")})
        return same_origin(request)

    monkeypatch.setattr(beacons, "is_same_origin", recording)
    workbook = publish("1-errorHealth02")

    reader = read_as_a_visitor(new_page, live_server, workbook)
    expect(reader.locator("[data-embed-fallback]")).to_be_visible()
    wait_for(lambda: counted(workbook) == (0, 1, 0))

    assert received == [{"Origin": live_server.url, "Sec-Fetch-Site": "same-origin"}]


def test_a_frame_that_never_answers_is_reported_as_a_timeout(new_page, live_server):
    workbook = publish("1-silentHealth01")

    page = read_as_a_visitor(new_page, live_server, workbook)
    expect(page.locator("[data-embed-fallback]")).to_be_visible()

    wait_for(lambda: counted(workbook) == (0, 0, 1))


def test_a_view_is_reported_once_whatever_the_frame_says_after_its_first_outcome(
    new_page, live_server
):
    """Loaded, then an error from Sigma (the fallback shows): the view stays one load."""
    workbook = publish("1-healthyHealth01")
    page = read_as_a_visitor(new_page, live_server, workbook)
    expect(page.locator("[data-sigma-embed]")).to_have_class("embed is-loaded")
    wait_for(lambda: counted(workbook) == (1, 0, 0))

    frame = page.frame_locator("iframe.embed__frame")
    frame.locator("body").evaluate(
        "() => window.parent.postMessage("
        "{type: 'workbook:error', message: 'Lost the connection.'}, window.location.origin)"
    )
    expect(page.locator("[data-embed-fallback]")).to_be_visible()
    time.sleep(QUIET_SECONDS)

    assert counted(workbook) == (1, 0, 0)
