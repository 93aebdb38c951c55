"""The embed snippet's options (size, Sigma's display parameters, theme): every value checked against
a fixed list or range, each escaped once for where it ends up, and, without JavaScript, chosen by GET
parameters on the workbook page, which is shared by every reader: one reader's options never reach
another's page."""

from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import BROWSER, PRIVATE_WORKBOOK, UserFactory, WorkbookFactory
from tests.workbooks.markup import page, parse
from tests.workbooks.test_embed_snippet import HOSTILE_TITLES, IFRAME_ATTRIBUTES
from tests.workbooks.test_visitor_pages import kept_for_visitors
from workbooks import embed, sigma
from workbooks import snippet as embed_snippet
from workbooks.snippet import DEFAULT, Options, build, options_from

SHARE_URL = "https://playground.example/w/quarterly/"
PUBLIC_URL = "https://app.sigmacomputing.com/embed/1-Quarterly01"
CHOSEN = {
    "size": "fixed",
    "width": "640",
    "height": "480",
    "hide_menu": "true",
    "hide_tooltip": "true",
    "theme": "Dark",
}
CHOSEN_SRC = f"{PUBLIC_URL}?hide_menu=true&hide_tooltip=true&theme=Dark"


def the_only_frame(html: str):
    found = list(parse(html).iter())
    assert [element.tag for element in found] == ["iframe"], html
    return found[0]


# --- The options from a query ----------------------------------------------------------------------


def test_no_query_gives_the_default_snippet_the_page_always_offered():
    options, errors = options_from({})

    assert (options, errors) == (DEFAULT, [])
    assert build(PUBLIC_URL, "Plan", SHARE_URL, options) == (
        f'<iframe src="{PUBLIC_URL}" title="Plan" width="100%" height="600" style="border:0"'
        ' allow="fullscreen"></iframe>'
    )


def test_the_chosen_options_size_the_frame_and_add_sigma_s_display_parameters():
    options, errors = options_from(CHOSEN)

    assert errors == []
    assert options == Options(
        size="fixed", width=640, height=480, hide=frozenset({"hide_menu", "hide_tooltip"}),
        theme="Dark",
    )  # fmt: skip
    frame = the_only_frame(build(PUBLIC_URL, "Plan", SHARE_URL, options))
    assert frame.attrs == {
        "src": CHOSEN_SRC, "title": "Plan", "width": "640", "height": "480",
        "style": "border:0", "allow": "fullscreen",
    }  # fmt: skip


def test_full_width_ignores_the_width_and_keeps_the_height():
    options, errors = options_from({"size": "responsive", "width": "640", "height": "900"})

    frame = the_only_frame(build(PUBLIC_URL, "Plan", SHARE_URL, options))
    assert errors == []
    assert (frame.attrs["width"], frame.attrs["height"]) == ("100%", "900")


def test_the_chosen_parameters_win_over_the_published_ones_and_are_sorted():
    published = f"{PUBLIC_URL}?theme=Light&hide_bookmarks=true"
    options, _ = options_from({"theme": "Surface", "hide_menu": "true"})

    frame = the_only_frame(build(published, "Plan", SHARE_URL, options))

    assert frame.attrs["src"] == f"{PUBLIC_URL}?hide_bookmarks=true&hide_menu=true&theme=Surface"


def test_every_offered_parameter_is_one_of_sigma_s_display_parameters():
    assert {*embed_snippet.HIDE, "theme"} <= sigma.DISPLAY_PARAMETERS


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("abc", id="letters"),
        pytest.param("199", id="below the range"),
        pytest.param("2001", id="above the range"),
        pytest.param("-300", id="negative"),
        pytest.param("+500", id="a sign"),
        pytest.param(" 500", id="a space"),
        pytest.param("1_000", id="an underscore"),
        pytest.param("\u0665\u0660\u0660", id="other script's digits"),
        pytest.param("500px", id="a unit"),
        pytest.param("5e2", id="an exponent"),
        pytest.param("500.0", id="a fraction"),
        pytest.param("9" * 40, id="huge"),
        pytest.param('500" onload="alert(1)', id="attribute break-out"),
    ],
)
@pytest.mark.parametrize("name", ["width", "height"])
def test_a_size_out_of_range_or_not_a_plain_number_is_refused_for_the_default(name, value):
    options, errors = options_from({"size": "fixed", name: value})

    assert getattr(options, name) == getattr(DEFAULT, name)
    assert errors == [f"The {name} is a whole number of pixels from 200 to 2,000."]


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"size": "huge"}, "Choose a size: full width or fixed."),
        ({"hide_menu": "1"}, "Menu: tick the box to hide it, or leave it."),
        ({"hide_menu": 'true" onload="x'}, "Menu: tick the box to hide it, or leave it."),
        ({"theme": "dark"}, "Choose a theme from the list (Light, Dark, Surface)."),
        ({"theme": "Dark&:jwt=stolen"}, "Choose a theme from the list (Light, Dark, Surface)."),
        ({"theme": '"><script>alert(1)</script>'}, "Choose a theme from the list (Light, Dark, Surface)."),
    ],
)  # fmt: skip
def test_an_unknown_value_is_refused_and_adds_nothing(query, error):
    options, errors = options_from(query)

    assert (options, errors) == (DEFAULT, [error])
    assert the_only_frame(build(PUBLIC_URL, "Plan", SHARE_URL, options)).attrs["src"] == PUBLIC_URL


def test_parameters_the_form_does_not_offer_are_ignored():
    query = {
        ":jwt": "stolen",
        "lng": "fr",
        "menu_position": "none",
        "utm_source": "x",
        "hide_all": "true",
    }

    assert options_from(query) == (DEFAULT, [])


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_with_options_a_hostile_title_is_still_only_an_attribute(title):
    options, _ = options_from(CHOSEN)

    frame = the_only_frame(build(PUBLIC_URL, title, SHARE_URL, options))

    assert set(frame.attrs) == IFRAME_ATTRIBUTES
    assert frame.attrs["title"] == title
    assert frame.children == []


def test_a_workbook_that_is_not_a_public_embed_stays_a_link_whatever_the_options():
    options, _ = options_from(CHOSEN)

    html = build(PRIVATE_WORKBOOK, "Plan", SHARE_URL, options)

    assert html == f'<a href="{SHARE_URL}">Plan on Sigma Playground</a>'


# --- The page, without JavaScript ------------------------------------------------------------------


@pytest.fixture
def workbook(db):
    return WorkbookFactory(
        author=UserFactory(username="author"), title="Plan", embed_url=PUBLIC_URL
    )


def visit(url: str, client: Client | None = None):
    response = (client or Client()).get(url, HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200, url
    return response


def copied(response) -> str:
    """What a reader copies: the textarea's value, as a browser reads it."""
    return page(response).find("textarea", id="embed-snippet").text


def share_url(workbook) -> str:
    return f"http://testserver{workbook.get_absolute_url()}"


def query(values: dict[str, str]) -> str:
    return urlencode(values)


def test_the_page_s_form_shows_the_snippet_for_the_options_it_was_sent(workbook):
    response = visit(f"{workbook.get_absolute_url()}?{query(CHOSEN)}")

    options, _ = options_from(CHOSEN)
    assert copied(response) == build(PUBLIC_URL, "Plan", share_url(workbook), options)
    form = page(response).find("form", class_="snippet__options")
    assert form.attrs["method"] == "get"
    assert form.attrs["action"] == f"{workbook.get_absolute_url()}#embed-options"
    assert "checked" in form.find("input", name="size", value="fixed").attrs
    assert form.find("input", name="width").attrs["value"] == "640"
    assert form.find("input", name="height").attrs["value"] == "480"
    ticked = {
        box.attrs["name"]
        for box in form.find_all("input", type="checkbox")
        if "checked" in box.attrs
    }
    assert ticked == {"hide_menu", "hide_tooltip"}
    assert "selected" in form.find("option", value="Dark").attrs


def test_the_page_refuses_hostile_options_with_messages_and_the_default_snippet(workbook):
    hostile = {
        "width": '"><script>alert(1)</script>',
        "theme": "</textarea><script>alert(2)</script>",
        "hide_menu": "<img src=x onerror=alert(3)>",
    }
    response = visit(f"{workbook.get_absolute_url()}?size=fixed&{query(hostile)}")

    assert copied(response) == build(PUBLIC_URL, "Plan", share_url(workbook), Options(size="fixed"))
    shown = page(response).find("div", class_="form-errors")
    errors = [error.text for error in shown.find_all("p")]
    assert errors == [
        "The width is a whole number of pixels from 200 to 2,000.",
        "Menu: tick the box to hide it, or leave it.",
        "Choose a theme from the list (Light, Dark, Surface).",
    ]
    assert b"<script>alert" not in response.content
    assert b"<img src=x" not in response.content
    assert not page(response).find_all("script", src=None)


def test_a_link_snippet_has_no_options_form(db):
    workbook = WorkbookFactory(author=UserFactory(), title="Plan", embed_url=PRIVATE_WORKBOOK)

    response = visit(f"{workbook.get_absolute_url()}?{query(CHOSEN)}")

    assert copied(response) == f'<a href="{share_url(workbook)}">Plan on Sigma Playground</a>'
    assert page(response).find_all("form", class_="snippet__options") == []


# --- The shared page ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("one_minute")
def test_options_are_shown_from_the_shared_copy_and_never_kept_for_other_readers(workbook):
    default = embed.snippet(workbook, share_url(workbook))
    chosen = build(PUBLIC_URL, "Plan", share_url(workbook), options_from(CHOSEN)[0])
    plain = workbook.get_absolute_url()
    with_options = f"{plain}?{query(CHOSEN)}"
    member = Client()
    member.force_login(UserFactory())

    # The page kept for visitors and for members first, then asked for with options, then plain again.
    for _ in range(3):
        assert copied(visit(plain)) == default
        assert copied(visit(plain, member)) == default
    assert copied(visit(with_options)) == chosen
    assert copied(visit(with_options, member)) == chosen
    assert copied(visit(plain)) == default
    assert copied(visit(plain, member)) == default


@pytest.mark.usefixtures("one_minute")
def test_a_page_first_made_for_options_is_shared_with_the_default_snippet(workbook):
    plain = workbook.get_absolute_url()
    surface = build(PUBLIC_URL, "Plan", share_url(workbook), Options(theme="Surface"))

    assert copied(visit(f"{plain}?theme=Surface")) == surface
    for _ in range(3):
        assert copied(visit(plain)) == embed.snippet(workbook, share_url(workbook))


@pytest.mark.usefixtures("one_minute")
def test_options_keep_no_cache_entry_and_cost_no_query_beyond_the_plain_page(workbook):
    plain = workbook.get_absolute_url()
    member = Client()
    member.force_login(UserFactory())
    for _ in range(3):  # kept for visitors and for members
        visit(plain)
        visit(plain, member)
    kept = kept_for_visitors("workbook")
    with CaptureQueriesContext(connection) as plain_queries:
        visit(plain, member)

    for width in range(300, 310):
        with CaptureQueriesContext(connection) as with_options:
            visit(f"{plain}?size=fixed&width={width}&theme=Dark", member)
        assert len(with_options) == len(plain_queries)
        visit(f"{plain}?size=fixed&width={width}&hide_menu=true")

    assert kept_for_visitors("workbook") == kept == 1
