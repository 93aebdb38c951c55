"""The embed snippet's options on the workbook page, in a real Chromium: with JavaScript the snippet
follows the form as it changes, exactly as the server makes it for the same options without
JavaScript, and the Copy button copies what is shown."""

import pytest
from playwright.sync_api import Page, expect

from tests.factories import UserFactory
from workbooks import services
from workbooks.models import Workbook
from workbooks.snippet import Options, build

pytestmark = pytest.mark.browser

PUBLIC_URL = "https://app.sigmacomputing.com/embed/1-Quarterly01"
HOSTILE_TITLE = """Q3 "plan" </textarea><script>window.pwned=1</script> & <b>'x'</b>"""


@pytest.fixture
def workbook(db):
    return services.create_workbook(
        UserFactory(), title=HOSTILE_TITLE, embed_url=PUBLIC_URL, status=Workbook.Status.PUBLISHED
    )


def snippet_of(page: Page) -> str:
    return page.locator("#embed-snippet").input_value()


def test_the_snippet_follows_the_options_as_they_change_and_matches_the_server(
    new_page, live_server, browser, workbook
):
    url = f"{live_server.url}{workbook.get_absolute_url()}"
    share_url = f"http://testserver{workbook.get_absolute_url()}"  # SITE_URL in the tests' settings
    site = new_page()
    site.goto(url)
    expect(site.locator("[data-snippet-submit]")).to_be_hidden()  # applied as they change
    assert snippet_of(site) == build(PUBLIC_URL, HOSTILE_TITLE, share_url)

    site.get_by_label("Fixed width").check()
    site.get_by_label("Width (px, fixed only)").fill("640")
    site.get_by_label("Height (px)").fill("480")
    chosen = Options(size="fixed", width=640, height=480)
    expect(site.locator("#embed-snippet")).to_have_value(
        build(PUBLIC_URL, HOSTILE_TITLE, share_url, chosen)
    )

    site.get_by_label("Menu", exact=True).check()
    site.get_by_label("Theme").select_option("Dark")
    chosen = Options(
        size="fixed", width=640, height=480, hide=frozenset({"hide_menu"}), theme="Dark"
    )
    expected = build(PUBLIC_URL, HOSTILE_TITLE, share_url, chosen)
    expect(site.locator("#embed-snippet")).to_have_value(expected)

    # Out of range: the default height, as the server gives.
    site.get_by_label("Height (px)").fill("5")
    expect(site.locator("#embed-snippet")).to_have_value(expected.replace('"480"', '"600"'))
    site.get_by_label("Height (px)").fill("480")

    site.get_by_label("Full width of the page").check()
    full_width = Options(height=480, hide=frozenset({"hide_menu"}), theme="Dark")
    expect(site.locator("#embed-snippet")).to_have_value(
        build(PUBLIC_URL, HOSTILE_TITLE, share_url, full_width)
    )

    # The same options sent without JavaScript give the same snippet.
    context = browser.new_context(java_script_enabled=False)
    try:
        no_script = context.new_page()
        no_script.goto(url)
        no_script.get_by_label("Menu", exact=True).check()
        no_script.get_by_label("Theme").select_option("Dark")
        no_script.get_by_label("Height (px)").fill("480")
        no_script.get_by_role("button", name="Update the snippet").click()
        no_script.wait_for_url("**?*height=480*")
        assert snippet_of(no_script) == snippet_of(site)
    finally:
        context.close()
    assert site.evaluate("window.pwned") is None


def test_copy_copies_the_snippet_as_changed(new_page, live_server, workbook):
    site = new_page()
    site.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    site.goto(f"{live_server.url}{workbook.get_absolute_url()}")
    site.get_by_label("Theme").select_option("Surface")
    expect(site.locator("#embed-snippet")).to_have_value(
        build(
            PUBLIC_URL,
            HOSTILE_TITLE,
            f"http://testserver{workbook.get_absolute_url()}",
            Options(theme="Surface"),
        )
    )

    copy = site.locator("button[data-copy='embed-snippet']")
    copy.click()

    expect(copy).to_have_text("Copied")
    assert site.evaluate("navigator.clipboard.readText()") == snippet_of(site)
    assert "theme=Surface" in snippet_of(site)
