"""The live bell follows the session: signing out in one tab stops the bell's connection in the other
tabs of that browser at once (the server closes their sockets with 4401), on the project's ASGI
application as `make run` serves it."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_signing_out_in_one_tab_stops_the_live_bell_in_the_others(new_asgi_page, asgi_live_server):
    base = asgi_live_server.url
    UserFactory(username="bea")
    leaving = new_asgi_page()
    sign_in(leaving, base, "bea")
    other_tab = leaving.context.new_page()
    other_tab.goto(f"{base}/")
    bell = other_tab.locator("#notification-bell")
    expect(bell).to_have_attribute("data-connection", "open")

    leaving.get_by_test_id("user-menu").click()
    leaving.get_by_role("button", name="Sign out").click()

    expect(leaving.get_by_role("link", name="Sign in")).to_be_visible()
    expect(bell).to_have_attribute("data-connection", "stopped", timeout=3_000)
