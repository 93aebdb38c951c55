"""Collections in real Chromium: adding a workbook from its page, the list of its collections loaded
after the (shared) page, and reordering a collection by keyboard and by the Up and Down buttons,
saved through the API (collections.js) without a page load."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from social import collection_selectors as selectors
from social.models import Collection
from tests.browser.helpers import sign_in
from tests.factories import CollectionFactory, UserFactory, WorkbookFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def order(collection: Collection) -> list[str]:
    return [item.workbook.title for item in selectors.items_of(collection, collection.owner)]


def test_a_member_adds_a_workbook_from_its_page_and_sees_it_listed(new_page, live_server):
    UserFactory(username="abe")
    workbook = WorkbookFactory(title="Revenue by region")
    page = new_page()
    sign_in(page, live_server.url, "abe")
    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")

    page.get_by_role("link", name="Add to collection").click()
    page.get_by_label("Title").fill("Finance picks")
    page.get_by_role("button", name="Make it and add").click()

    expect(page.get_by_role("button", name="Remove")).to_be_visible()
    collection = Collection.objects.get(title="Finance picks")
    assert order(collection) == ["Revenue by region"]
    loaded: list[str] = []
    page.on("request", lambda request: loaded.append(request.url))
    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")
    # Loaded from /w/<slug>/collections/ by collections.js, in place of the link: the list alone.
    expect(page.locator("[data-load-collections]")).to_contain_text("Finance picks")
    lists = [url for url in loaded if f"/w/{workbook.slug}/collections/" in url]
    assert lists == [f"{live_server.url}/w/{workbook.slug}/collections/?fragment=1"]
    expect(page.locator("[data-load-collections] [data-collections-list]")).to_have_count(0)


def test_the_owner_reorders_by_keyboard_and_by_buttons_without_a_page_load(new_page, live_server):
    abe = UserFactory(username="abe")
    a, b, c = (WorkbookFactory(title=title) for title in ("Alpha", "Beta", "Gamma"))
    collection = CollectionFactory(owner=abe, slug="picks", workbooks=[a, b, c])
    page = new_page()
    sign_in(page, live_server.url, "abe")
    page.goto(f"{live_server.url}/u/abe/c/picks/")
    page.evaluate("window.stillThisPage = true")
    status = page.locator("[data-collection-status]")

    # Keyboard: pick Gamma up with Space, move it up twice, drop it.
    handle = page.locator(f"#item-{c.pk} .coll-item__handle")
    expect(handle).to_be_visible()
    handle.focus()
    page.keyboard.press("Space")
    expect(handle).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Space")
    expect(status).to_have_text("The new order is saved.")
    assert order(collection) == ["Gamma", "Alpha", "Beta"]

    # The Down button, through the API.
    page.get_by_role("button", name="Move “Gamma” down").click()
    expect(page.locator(".coll-item").first).to_have_attribute("data-workbook-id", str(a.pk))
    expect(status).to_have_text("The new order is saved.")
    assert order(collection) == ["Alpha", "Gamma", "Beta"]
    assert page.evaluate("window.stillThisPage") is True


def test_a_four_workbook_cover_shows_its_thumbnails_two_by_two(new_page, live_server, quiet_push):
    """The home's featured collection (the demo's has four workbooks): its cover's pictures fill both
    columns. Each picture's <source> elements once took the first column's cells, leaving it empty
    and stacking all four thumbnails in the second."""
    call_command("seed_demo", force=True)  # a featured collection of four workbooks with thumbnails
    page = new_page(width=1366, height=900)
    page.goto(f"{live_server.url}/", wait_until="domcontentloaded")
    pictures = page.locator(".coll-home .coll-cover--4 img")
    expect(pictures).to_have_count(4)
    boxes = pictures.evaluate_all(
        "(imgs) => imgs.map((img) => { const box = img.getBoundingClientRect();"
        " return [Math.round(box.left), Math.round(box.top)]; })"
    )
    columns = sorted({left for left, _ in boxes})
    rows = sorted({top for _, top in boxes})
    assert len(columns) == 2, boxes
    assert len(rows) == 2, boxes
