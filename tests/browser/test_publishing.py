"""Publishing a workbook through the form, and finding it as an anonymous reader, in real Chromium.

Sigma frames show the site's stand-in (the `new_page` fixture): no request leaves the live server.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, UserFactory
from workbooks.models import Tag, Workbook

pytestmark = pytest.mark.browser

TITLE = "Quarterly runway forecast"
SIGMA_URL = "https://app.sigmacomputing.com/embed/1-BrowserTest01"
DESCRIPTION = """Cash runway by **region**, with a _12-month_ forecast.

- Actuals from the ledger
- Forecast from the operating plan
"""


def sign_in_to_publish(page: Page, base_url: str, username: str) -> None:
    """Asking for the publish form sends a visitor to sign in, and back to the form after."""
    page.goto(f"{base_url}/w/new/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base_url}/w/new/")
    expect(page.get_by_role("heading", name="Publish a workbook")).to_be_visible()


def fill_the_form(page: Page, *, title: str, sigma_url: str) -> None:
    page.get_by_label("Title").fill(title)
    page.get_by_label("Sigma URL").fill(sigma_url)
    page.get_by_label("Description").fill(DESCRIPTION)
    page.get_by_label("Tags").fill("finance, forecasting")
    page.get_by_role("radio", name="Published").check()


def test_it_publishes_a_workbook_that_anonymous_readers_then_find(
    new_page, live_server, artifacts_dir
):
    author = UserFactory(username="pub-author", full_name="Petra Author")
    page = new_page()
    sign_in_to_publish(page, live_server.url, author.username)

    fill_the_form(page, title=TITLE, sigma_url=SIGMA_URL)
    page.get_by_role("button", name="Save").click()

    workbook = Workbook.objects.get(title=TITLE)
    expect(page).to_have_url(f"{live_server.url}{workbook.get_absolute_url()}")
    expect(page.locator(".messages")).to_have_text(f"“{TITLE}” is published.")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    tags = page.get_by_role("list", name="Tags")
    expect(tags.get_by_role("link")).to_have_text(["finance", "forecasting"])
    expect(page.locator(".prose strong")).to_have_text("region")
    expect(page.locator(".prose li")).to_have_text(
        ["Actuals from the ledger", "Forecast from the operating plan"]
    )
    embed = page.locator("[data-sigma-embed]")
    expect(embed).to_have_class(re.compile(r"(^|\s)is-loaded(\s|$)"))
    assert workbook.author == author
    assert workbook.status == Workbook.Status.PUBLISHED
    assert workbook.embed_url == SIGMA_URL
    assert workbook.sigma_id == "1-BrowserTest01"

    screenshot = artifacts_dir / "workbook-page.png"
    screenshot.unlink(missing_ok=True)
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.is_file()
    assert screenshot.stat().st_size > 0

    reader = new_page()  # another browser profile: not signed in
    # Exact: each card also has an "Add “…” to a collection" link naming the workbook.
    card_link = reader.get_by_role("link", name=TITLE, exact=True)

    reader.goto(f"{live_server.url}/")
    expect(reader.get_by_role("link", name="Sign in")).to_be_visible()
    latest = reader.get_by_role("region", name="Latest")
    expect(latest.get_by_role("link", name=TITLE, exact=True)).to_have_attribute(
        "href", workbook.get_absolute_url()
    )

    reader.goto(f"{live_server.url}/explore/?q=runway")
    expect(reader.get_by_role("heading", name="Workbooks matching “runway”")).to_be_visible()
    expect(card_link).to_have_attribute("href", workbook.get_absolute_url())

    reader.goto(f"{live_server.url}/tags/finance/")
    expect(card_link).to_have_attribute("href", workbook.get_absolute_url())
    card_link.click()
    expect(reader).to_have_url(f"{live_server.url}{workbook.get_absolute_url()}")
    expect(reader.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(reader.get_by_role("link", name="Edit")).to_have_count(0)


def test_it_refuses_a_url_that_is_not_sigmas_and_says_so_by_the_field(new_page, live_server):
    author = UserFactory(username="careless-author")
    page = new_page()
    sign_in_to_publish(page, live_server.url, author.username)

    fill_the_form(page, title=TITLE, sigma_url="http://evil.example/embed/x")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(f"{live_server.url}/w/new/")
    sigma_url = page.get_by_label("Sigma URL")
    expect(sigma_url).to_have_value("http://evil.example/embed/x")
    expect(sigma_url).to_have_attribute("aria-invalid", "true")
    field = page.locator(".field", has=sigma_url)
    expect(field).to_have_class(re.compile(r"(^|\s)field--invalid(\s|$)"))
    expect(field.locator(".field__error")).to_contain_text("The URL must start with https://")
    expect(page.locator(".field__error")).to_have_count(1)  # only the Sigma URL is wrong
    expect(page.get_by_label("Title")).to_have_value(TITLE)
    assert Workbook.objects.count() == 0
    assert Tag.objects.count() == 0
