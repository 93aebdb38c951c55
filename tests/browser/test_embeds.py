"""Sigma frames on the workbook page, in a real Chromium against the live server.

Frames show the site's stand-in for Sigma (static/js/standin.js), which speaks Sigma's postMessage
events: `workbook:loaded`, `workbook:dataloaded` and `workbook:pageheight:onchange` (pageHeight 1100)
after 300 ms; `workbook:error` when the Sigma id contains "error"; nothing when it contains "silent".
The `new_page` fixture refuses and reports any request that leaves the live server, and any
Content Security Policy violation logged by a page or its frames.
"""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser.conftest import SIGMA_LOAD_TIMEOUT_SECONDS
from tests.factories import UserFactory
from workbooks import services
from workbooks.models import Workbook

pytestmark = pytest.mark.browser

SIGMA_ORIGIN = "https://app.sigmacomputing.com"
NEAR = 300  # embed.js starts loading a frame this many pixels before it reaches the viewport

# Arrive scrolled to the end of the page, as when coming back to it: the frame is then far above the
# viewport when embed.js first looks. "interactive" comes before deferred scripts (embed.js) run.
ARRIVE_AT_THE_END = """
if (window.top === window) {
  document.addEventListener("readystatechange", () => {
    if (document.readyState === "interactive") {
      window.scrollTo(0, document.documentElement.scrollHeight);
    }
  });
}
"""
WITHOUT_INTERSECTION_OBSERVER = "delete window.IntersectionObserver;"
NO_CLIPBOARD = ("delete Navigator.prototype.clipboard;",)
# Resolves after the browser has rendered twice: IntersectionObserver has then reported at least once.
TWO_FRAMES = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
LONG_NOTES = "\n\n".join(f"Note {n}: what this part of the workbook shows." for n in range(150))


def publish(sigma_id: str, *, title: str = "Pipeline by region", **fields) -> Workbook:
    fields.setdefault("author", UserFactory())
    return services.create_workbook(
        fields.pop("author"),
        title=title,
        embed_url=f"{SIGMA_ORIGIN}/embed/{sigma_id}",
        status=Workbook.Status.PUBLISHED,
        **fields,
    )


def standin_path(workbook: Workbook) -> str:
    return reverse("workbooks:standin", args=[workbook.sigma_id]) + "?kind=public"


def has_class(name: str) -> re.Pattern:
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")


class Embed:
    """The parts of a workbook page's embed section."""

    def __init__(self, page: Page) -> None:
        self.section = page.locator("[data-sigma-embed]")
        self.frame = self.section.locator("iframe.embed__frame")
        self.placeholder = self.section.locator("[data-embed-placeholder]")
        self.fallback = self.section.locator("[data-embed-fallback]")


def assert_frame_waits_far_from_the_viewport(page: Page, workbook: Workbook, traffic) -> Embed:
    """Opened at the end of the page: the frame has its data-src but no src, and nothing loaded."""
    embed = Embed(page)
    page.evaluate(TWO_FRAMES)
    bottom = embed.section.evaluate("section => section.getBoundingClientRect().bottom")
    assert bottom < -NEAR, "the frame must start far from the viewport for this test to mean much"
    expect(embed.frame).to_have_attribute("data-src", standin_path(workbook))
    assert embed.frame.get_attribute("src") is None
    assert [url for url in traffic.requests if "/_standin/" in url] == []
    return embed


def test_it_gives_a_frame_its_src_only_when_it_is_scrolled_near(new_page, live_server, traffic):
    workbook = publish("1-LazyFrame01", description=LONG_NOTES)
    page = new_page(height=600, init_scripts=(ARRIVE_AT_THE_END,))
    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")

    embed = assert_frame_waits_far_from_the_viewport(page, workbook, traffic)

    embed.frame.scroll_into_view_if_needed()

    expect(embed.frame).to_have_attribute("src", standin_path(workbook))
    assert (
        embed.frame.evaluate("frame => frame.src") == f"{live_server.url}{standin_path(workbook)}"
    )
    expect(embed.section).to_have_class(has_class("is-loaded"))
    assert f"{live_server.url}{standin_path(workbook)}" in traffic.requests


def test_it_still_loads_a_frame_scrolled_near_without_intersection_observer(
    new_page, live_server, traffic
):
    workbook = publish("1-OldBrowser01", description=LONG_NOTES)
    page = new_page(height=600, init_scripts=(WITHOUT_INTERSECTION_OBSERVER, ARRIVE_AT_THE_END))
    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")
    assert page.evaluate("'IntersectionObserver' in window") is False

    embed = assert_frame_waits_far_from_the_viewport(page, workbook, traffic)

    embed.frame.scroll_into_view_if_needed()

    expect(embed.frame).to_have_attribute("src", standin_path(workbook))
    expect(embed.section).to_have_class(has_class("is-loaded"))
    expect(embed.placeholder).to_be_hidden()
    assert f"{live_server.url}{standin_path(workbook)}" in traffic.requests


def test_it_puts_no_frame_on_gallery_pages(new_page, live_server, traffic):
    author = UserFactory(username="gallery-author")
    titles = ["Cash flow by month", "Churn by cohort"]
    for n, title in enumerate(titles):
        publish(f"1-GalleryItem0{n}", title=title, author=author, tags=["finance"])
    page = new_page()

    for path in ["/", "/explore/", "/explore/?q=cash", "/tags/finance/", "/u/gallery-author/"]:
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("link", name="Cash flow by month").first).to_be_visible()
        expect(page.locator("iframe")).to_have_count(0)

    assert not [url for url in traffic.requests if "/_standin/" in url]


def test_it_hides_the_placeholder_when_the_workbook_reports_loaded(new_page, live_server):
    workbook = publish("1-LoadsFine01")
    page = new_page()
    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")

    embed = Embed(page)
    expect(embed.section).to_have_class(has_class("is-loaded"))
    expect(embed.section).not_to_have_class(has_class("is-loading"))
    expect(embed.placeholder).to_be_hidden()
    expect(embed.frame).to_be_visible()
    expect(embed.fallback).to_be_hidden()
    # The stand-in's own page is what the frame shows.
    frame = page.frame_locator("iframe.embed__frame")
    expect(frame.locator("h1")).to_contain_text("1-LoadsFine01")


def test_it_shows_the_fallback_when_the_workbook_reports_an_error(new_page, live_server):
    workbook = publish("1-errorFrame01")
    page = new_page()
    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")

    embed = Embed(page)
    expect(embed.fallback).to_be_visible()
    expect(embed.fallback).to_contain_text("This workbook could not be shown here.")
    expect(embed.fallback).to_contain_text("The stand-in was asked to fail.")
    # The loading notice's own link, kept beside the failure message.
    open_in_sigma = embed.placeholder.get_by_role("link", name="Open in Sigma")
    expect(open_in_sigma).to_have_attribute("href", workbook.embed_url)
    assert workbook.embed_url == f"{SIGMA_ORIGIN}/embed/1-errorFrame01"
    expect(open_in_sigma).to_have_attribute("target", "_blank")
    expect(embed.frame).to_be_hidden()
    expect(embed.section).to_have_class(has_class("is-failed"))
    expect(embed.section).not_to_have_class(has_class("is-loaded"))
    expect(embed.placeholder).to_be_visible()


def test_it_shows_the_fallback_when_the_workbook_never_reports_loaded(new_page, live_server):
    workbook = publish("1-silentFrame01")
    page = new_page()
    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")

    embed = Embed(page)
    expect(embed.section).to_have_attribute(
        "data-timeout-ms", str(SIGMA_LOAD_TIMEOUT_SECONDS * 1000)
    )
    expect(embed.frame).to_have_attribute("src", standin_path(workbook))
    expect(embed.fallback).to_be_visible()
    expect(embed.fallback).to_contain_text("Sigma did not answer in time.")
    expect(embed.placeholder.get_by_role("link", name="Open in Sigma")).to_have_attribute(
        "href", workbook.embed_url
    )
    expect(embed.frame).to_be_hidden()
    expect(embed.placeholder).to_be_visible()
    expect(embed.section).to_have_class(has_class("is-failed"))
    expect(embed.section).not_to_have_class(has_class("is-loaded"))


def test_it_sizes_the_frame_to_the_reported_page_height(new_page, live_server):
    workbook = publish("1-TallFrame01")
    page = new_page()
    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")

    embed = Embed(page)
    expect(embed.section).to_have_class(has_class("is-loaded"))
    expect(embed.frame).to_have_css("height", "1100px")  # the stand-in's default pageHeight
    assert embed.frame.bounding_box()["height"] == 1100


def test_it_ignores_messages_that_do_not_come_from_the_frame(new_page, live_server):
    workbook = publish("1-silentForged01")
    page = new_page()
    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")
    embed = Embed(page)
    expect(embed.section).to_have_class(has_class("is-loading"))

    # Forged from the page's own window, with every origin allowed; resolves once the page's
    # listeners (embed.js's was added first) have seen all of it.
    page.evaluate(
        """() => new Promise(done => {
          window.addEventListener("message", event => { if (event.data === "forged: done") done(); });
          window.postMessage({ type: "workbook:loaded", workbook: { variables: {} } }, "*");
          window.postMessage(JSON.stringify({ type: "workbook:loaded" }), "*");
          window.postMessage({ type: "workbook:pageheight:onchange", pageHeight: 4000 }, "*");
          window.postMessage("forged: done", "*");
        })"""
    )

    expect(embed.placeholder).to_be_visible()
    expect(embed.section).not_to_have_class(has_class("is-loaded"))
    expect(embed.frame).not_to_have_css("height", "4000px")
    expect(embed.fallback).to_be_visible()
    expect(embed.fallback).to_contain_text("Sigma did not answer in time.")
    expect(embed.section).not_to_have_class(has_class("is-loaded"))


def test_it_sends_a_csp_that_frames_only_sigma_and_the_standin_and_runs_no_inline_script(
    new_page, live_server, traffic
):
    workbook = publish("1-PolicyCheck01")
    page = new_page()
    response = page.goto(f"{live_server.url}{workbook.get_absolute_url()}")

    policy = {
        name: values
        for name, *values in (
            directive.split()
            for directive in response.headers["content-security-policy"].split(";")
        )
    }
    assert "'self'" in policy["frame-src"]
    assert SIGMA_ORIGIN in policy["frame-src"]
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]

    embed = Embed(page)
    expect(embed.section).to_have_class(has_class("is-loaded"))
    assert f"{live_server.url}{standin_path(workbook)}" in traffic.requests
    assert traffic.csp_violations() == []
    assert traffic.outside() == []


@pytest.mark.parametrize(("init_scripts", "shown"), [((), True), (NO_CLIPBOARD, False)])
def test_it_shows_the_copy_buttons_only_where_there_is_a_clipboard(
    new_page, live_server, init_scripts, shown
):
    workbook = publish("1-CopyButtons01")
    page = new_page(init_scripts=init_scripts)
    page.goto(f"{live_server.url}{workbook.get_absolute_url()}")
    expect(Embed(page).section).to_have_class(has_class("is-loaded"))  # embed.js has run

    buttons = page.get_by_role("button", name="Copy")
    if shown:
        expect(buttons).to_have_count(2)
    else:
        expect(page.locator("button[data-copy]")).to_have_count(2)
        expect(buttons).to_have_count(0)  # hidden: not in the accessibility tree
        for button in page.locator("button[data-copy]").all():
            expect(button).to_be_hidden()


# A title that breaks out of an attribute, out of the textarea, and plants markup of its own: any of
# them running sets `window.pwned` or opens a dialog.
HOSTILE_TITLE = (
    'x" onload="window.pwned=1;alert(1)" data-x="</textarea><img src=x onerror="window.pwned=2">'
)
FRAME_ATTRIBUTES = ["allow", "height", "src", "style", "title", "width"]
ATTRIBUTES_OF = "element => [...element.attributes].map(attribute => attribute.name).sort()"


@pytest.mark.parametrize(
    ("embed_url", "tag", "attributes"),
    [
        pytest.param(
            f"{SIGMA_ORIGIN}/embed/1-HostileTitle01", "iframe", FRAME_ATTRIBUTES, id="frame"
        ),
        pytest.param(
            f"{SIGMA_ORIGIN}/acme/workbook/Plan-6pV2Fpd6FtMEyxLzHyArXW", "a", ["href"], id="link"
        ),
    ],
)
def test_the_copied_embed_snippet_runs_nothing_in_a_blank_page(
    new_page, live_server, browser, embed_url, tag, attributes
):
    workbook = services.create_workbook(
        UserFactory(), title=HOSTILE_TITLE, embed_url=embed_url, status=Workbook.Status.PUBLISHED
    )
    site = new_page()
    site.goto(f"{live_server.url}{workbook.get_absolute_url()}")
    snippet = site.locator("#embed-snippet").input_value()

    # A reader's own page, with no policy of ours to stop a script. Nothing may leave the browser.
    context = browser.new_context()
    try:
        blank = context.new_page()
        blank.route("**/*", lambda route: route.abort())
        dialogs: list[str] = []
        blank.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        blank.set_content(f"<!doctype html><title>Reader's page</title><body>{snippet}</body>")
        blank.evaluate(TWO_FRAMES)

        assert blank.evaluate("window.pwned") is None
        assert dialogs == []
        elements = blank.locator("body *")
        expect(elements).to_have_count(1)
        assert elements.evaluate("element => element.localName") == tag
        assert elements.evaluate(ATTRIBUTES_OF) == attributes
        if tag == "iframe":
            assert elements.get_attribute("title") == HOSTILE_TITLE
        else:
            expect(elements).to_have_text(f"{HOSTILE_TITLE} on Sigma Playground")
    finally:
        context.close()
