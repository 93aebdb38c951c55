"""Live notification rows in real Chromium, on the project's ASGI application: a follow shows on the
followed member's open notifications page as the row the server renders for it (the same links,
avatar and text), and an unfollow within the undo window takes it away again, with the count."""

import pytest
from playwright.sync_api import Page, expect

from social.models import Notification
from tests.browser.helpers import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE_MS = 2_000  # how soon a change must show on the recipient's page

# The row as the browser holds it, less what differs by design: the live row's entrance class and
# each page's own CSRF token.
ROW_HTML = """(row) => {
  const copy = row.cloneNode(true);
  copy.classList.remove("notification--live");
  copy.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach((input) => input.value = "");
  return copy.outerHTML.replace(/\\s+/g, " ").replace(/> </g, "><");
}"""


def open_notifications(page: Page, base: str) -> None:
    page.goto(f"{base}/notifications/")
    expect(page.locator("#notification-bell")).to_have_attribute("data-connection", "open")


def test_a_follow_shows_as_the_servers_row_and_an_unfollow_takes_it_away(
    new_asgi_page, asgi_live_server, artifacts_dir
):
    base = asgi_live_server.url
    UserFactory(username="bea", full_name="Bea Author")
    reader = UserFactory(username="abe", full_name="Abe <Reader>")

    bea = new_asgi_page()
    sign_in(bea, base, "bea")
    open_notifications(bea, base)
    bell = bea.locator("#notification-bell")
    rows = bea.locator("[data-notification-list] > li")
    expect(rows).to_have_count(0)

    abe = new_asgi_page()
    sign_in(abe, base, "abe")
    abe.goto(f"{base}/u/bea/")
    follow = abe.locator("form[data-follow-form] button")
    follow.click()
    expect(follow).to_have_attribute("aria-pressed", "true")

    # Live: the row arrives without a reload, as the server renders it.
    expect(rows).to_have_count(1, timeout=LIVE_MS)
    expect(bell).to_have_attribute("data-unread", "1")
    pk = Notification.objects.get(verb="followed").pk
    live = bea.locator(f"#notification-{pk}")
    expect(live.get_by_role("link", name="Abe <Reader>")).to_have_attribute("href", "/u/abe/")
    expect(live.locator(".notification__text")).to_have_text("Unread: Abe <Reader> followed you")
    # The actor's initial on their own colour, as every avatar of theirs on the site.
    expect(live.locator("span.avatar")).to_have_class(f"avatar hue-{reader.hue}")
    expect(live.locator("span.avatar")).to_have_text("A")

    # A second tab, loaded now, has the server's row: the live one is the same.
    server = new_asgi_page()
    sign_in(server, base, "bea")
    open_notifications(server, base)
    server_row = server.locator(f"#notification-{pk}")
    assert live.evaluate(ROW_HTML) == server_row.evaluate(ROW_HTML)
    screenshot = artifacts_dir / "live-notification-row.png"
    bea.screenshot(path=screenshot)

    # Changed their mind within 15 minutes: the notification is withdrawn, live, on both pages.
    follow.click()
    expect(follow).to_have_attribute("aria-pressed", "false")
    for page in (bea, server):
        expect(page.locator(f"#notification-{pk}")).to_have_count(0, timeout=LIVE_MS)
        expect(page.locator("#notification-bell")).to_have_attribute("data-unread", "0")
        expect(page.locator("#notification-bell [data-bell-count]")).to_be_hidden()
    expect(bea.locator("#notification-toasts .toast")).to_have_count(0)
    assert not Notification.objects.exists()
