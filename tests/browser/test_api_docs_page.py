"""The API docs page in a real browser: Swagger UI renders from our own files, under the site's
policy (no CSP violation), with a way back to the site, a language, a title and a main landmark."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

BRAND = "rgb(59, 63, 216)"  # --brand in static/css/site.css


@pytest.mark.django_db(transaction=True)
def test_the_docs_page_renders_in_our_colours_with_a_way_back_and_no_csp_violation(
    new_page, live_server, artifacts_dir
):
    page = new_page(width=1366, height=900)
    page.goto(f"{live_server.url}/api/v1/docs/")

    # Swagger UI ran (its scripts are files, allowed) and read the schema.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Sigma Playground API")
    expect(page.locator(".opblock").first).to_be_visible()

    back = page.get_by_role("link", name="Back to Sigma Playground")
    expect(back).to_have_attribute("href", "/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_title("API reference · Sigma Playground")
    expect(page.get_by_role("banner")).to_have_count(1)
    expect(page.get_by_role("main")).to_have_count(1)
    expect(page.get_by_role("main")).to_have_attribute("id", "operations")
    expect(page.get_by_role("link", name="Skip to the operations")).to_have_attribute(
        "href", "#operations"
    )

    # Our stylesheet is applied: the logo and Swagger UI's GET badges are in the site's brand colour.
    assert (
        page.locator(".api-docs__logo").evaluate("e => getComputedStyle(e).backgroundColor")
        == BRAND
    )
    get_badge = page.locator(".opblock-get .opblock-summary-method").first
    assert get_badge.evaluate("e => getComputedStyle(e).backgroundColor") == BRAND
    # White text on the method badges passes contrast (Swagger UI's own green is 1.9:1).
    post_badge = page.locator(".opblock-post .opblock-summary-method").first
    assert post_badge.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(6, 118, 71)"
    # No link inside an operation's toggle button (a control in a control: axe nested-interactive).
    expect(page.locator(".opblock-summary-control a[href]")).to_have_count(0)
    expect(page.locator(".opblock-summary-control").first).to_be_visible()
    page.screenshot(path=artifacts_dir / "api-docs-1366.png")

    back.click()
    expect(page).to_have_url(f"{live_server.url}/")
    # The new_page fixture then asserts: no request left the site and no CSP violation was logged.


@pytest.mark.django_db(transaction=True)
def test_try_it_out_names_the_request_body_and_each_parameters_field(new_page, live_server):
    """Swagger UI draws the request body's editor and the parameters' fields without a name (axe:
    label, critical); static/js/api_docs.js names them as they are drawn."""
    page = new_page(width=1366, height=900)
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.locator(".opblock").first).to_be_visible()

    create = page.locator(".opblock-post").first
    create.locator(".opblock-summary-control").click()
    create.get_by_role("button", name="Try it out").click()
    expect(create.get_by_role("textbox", name="Request body")).to_be_visible()

    listing = page.locator(".opblock-get").first
    listing.locator(".opblock-summary-control").click()
    listing.get_by_role("button", name="Try it out").click()
    fields = listing.locator(".parameters td input, .parameters td select")
    expect(fields.first).to_be_visible()
    unnamed = fields.evaluate_all(
        "fields => fields.filter(f => !f.labels?.length && !f.getAttribute('aria-label'))"
        ".map(f => f.outerHTML)"
    )
    assert unnamed == []
