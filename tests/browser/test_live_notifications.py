"""Live notifications in a real browser: two members in two browser profiles, on the project's ASGI
application (pages and websockets from one server, as `make run` serves them).

One favorites and comments on the other's workbook through the pages; the author's bell and toasts
follow within two seconds, without a reload. Then the author's connection drops, more happens, and on
reconnecting the page shows everything it missed, each once.
"""

import pytest
from playwright.sync_api import Page, expect

from social.models import Notification
from tests.browser.helpers import sign_in
from tests.factories import UserFactory, WorkbookFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE_MS = 2_000  # how soon a notification must show on the recipient's page


def favorite(page: Page, base_url: str, workbook) -> None:
    page.goto(f"{base_url}{workbook.get_absolute_url()}")
    page.get_by_role("button", name="Favorite", exact=True).click()
    # Sent by social.js, no page load: the same button now says so.
    expect(page.get_by_role("button", name="Favorited", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )


def comment(page: Page, base_url: str, workbook, text: str) -> None:
    page.goto(f"{base_url}{workbook.get_absolute_url()}")
    page.get_by_label("Comment", exact=True).fill(text)
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".messages")).to_contain_text("Your comment is posted.")


def test_a_member_hears_of_favorites_and_comments_live_and_of_all_they_missed_offline(
    new_asgi_page, asgi_live_server, artifacts_dir
):
    base = asgi_live_server.url
    author = UserFactory(username="bea", full_name="Bea Author")
    UserFactory(username="abe", full_name="Abe Reader")
    revenue = WorkbookFactory(author=author, title="Revenue by region")
    churn = WorkbookFactory(author=author, title="Churn cohorts")

    bea = new_asgi_page()
    sign_in(bea, base, "bea")
    bell = bea.locator("#notification-bell")
    count = bell.locator("[data-bell-count]")
    toasts = bea.locator("#notification-toasts .toast")
    expect(bell).to_have_attribute("data-connection", "open")
    expect(bell).to_have_attribute("data-unread", "0")
    expect(count).to_be_hidden()

    abe = new_asgi_page()
    sign_in(abe, base, "abe")

    # Live: each action shows on the author's page within two seconds.
    favorite(abe, base, revenue)
    expect(count).to_have_text("1", timeout=LIVE_MS)
    expect(toasts.filter(has_text="Abe Reader favorited “Revenue by region”")).to_have_count(
        1, timeout=LIVE_MS
    )
    comment(abe, base, revenue, "Lovely maps. More at https://example.com/maps")
    expect(count).to_have_text("2", timeout=LIVE_MS)
    expect(toasts.filter(has_text="Abe Reader commented on “Revenue by region”")).to_have_count(
        1, timeout=LIVE_MS
    )
    expect(bell).to_have_attribute("aria-label", "Notifications, 2 unread")

    # The author's connection drops; meanwhile three more things happen.
    bea.context.set_offline(True)
    expect(bell).not_to_have_attribute("data-connection", "open")
    favorite(abe, base, churn)
    comment(abe, base, churn, "How are the cohorts cut?")
    comment(abe, base, revenue, "And which regions are in EMEA?")
    assert Notification.objects.filter(recipient=author).count() == 5
    expect(count).to_have_text("2")

    # Back online: the page resumes after the last notification it saw and shows the three it missed.
    bea.context.set_offline(False)
    expect(count).to_have_text("5", timeout=LIVE_MS)
    expect(bell).to_have_attribute("data-connection", "open")
    missed = [
        "Abe Reader favorited “Churn cohorts”",
        "Abe Reader commented on “Churn cohorts”",
        "Abe Reader commented on “Revenue by region”",
    ]
    for text in missed:
        expect(toasts.filter(has_text=text)).not_to_have_count(0, timeout=LIVE_MS)
    # Each once: the one about Revenue's first comment may still be up, but no toast is repeated.
    expect(toasts.filter(has_text="Abe Reader favorited “Churn cohorts”")).to_have_count(1)
    expect(toasts.filter(has_text="Abe Reader commented on “Churn cohorts”")).to_have_count(1)

    screenshot = artifacts_dir / "live-notifications.png"
    screenshot.unlink(missing_ok=True)
    bea.screenshot(path=screenshot)
    assert screenshot.stat().st_size > 0

    bea.get_by_role("link", name="Notifications, 5 unread").click()
    items = bea.locator("[data-notification-list] > li")
    expect(items).to_contain_text(
        [
            "Abe Reader commented on Revenue by region",
            "Abe Reader commented on Churn cohorts",
            "Abe Reader favorited Churn cohorts",
            "Abe Reader commented on Revenue by region",
            "Abe Reader favorited Revenue by region",
        ]
    )


def test_a_member_marks_notifications_read_without_leaving_the_page(
    new_asgi_page, asgi_live_server
):
    base = asgi_live_server.url
    bea = UserFactory(username="bea", full_name="Bea Author")
    for name in ("abe", "cy", "di"):
        # Rows only: the push that services.follow schedules cannot run on Playwright's thread.
        Notification.objects.create(
            recipient=bea, actor=UserFactory(username=name), verb="followed"
        )
    page = new_asgi_page()
    sign_in(page, base, "bea")
    page.goto(f"{base}/notifications/")
    page.evaluate("window.stillThisPage = true")
    bell = page.locator("#notification-bell")
    unread = page.locator(".notification--unread")
    expect(bell).to_have_attribute("data-unread", "3")
    expect(unread).to_have_count(3)

    unread.first.get_by_role("button", name="Mark read").click()

    expect(unread).to_have_count(2)
    expect(bell).to_have_attribute("data-unread", "2")
    assert page.evaluate("window.stillThisPage") is True

    page.get_by_role("button", name="Mark all read").click()

    expect(unread).to_have_count(0)
    expect(bell.locator("[data-bell-count]")).to_be_hidden()
    expect(page.get_by_role("button", name="Mark all read")).to_have_count(0)
    assert page.evaluate("window.stillThisPage") is True
    assert not Notification.objects.filter(recipient=bea, read=False).exists()
    page.reload()
    expect(page.locator(".messages")).to_have_count(0)  # no stale "marked read" message later
