"""The copyable embed snippet on a workbook's page: HTML built as data, escaped once for where each
value ends up, then once more for the textarea it is shown in. A hostile title or URL never becomes
markup in the snippet a reader pastes into their own site."""

import pytest

from tests.factories import PRIVATE_WORKBOOK, WorkbookFactory
from tests.workbooks.markup import page, parse
from workbooks import embed
from workbooks.models import Workbook

SHARE_URL = "https://playground.example/w/quarterly/"
PUBLIC_URL = "https://app.sigmacomputing.com/embed/1-Quarterly01"
HOSTILE_TITLES = [
    pytest.param('x" onload="alert(document.domain)" data-x="', id="attribute break-out"),
    pytest.param("x' onload='alert(1)' data-x='", id="single-quoted break-out"),
    pytest.param("</textarea><script>alert(1)</script>", id="textarea break-out"),
    pytest.param("<img src=x onerror=alert(1)>", id="img onerror"),
    pytest.param("&quot; onload=&quot;alert(1)", id="pre-escaped quotes"),
    pytest.param("</iframe><a href=javascript:alert(1)>x</a>", id="closing the frame"),
    pytest.param("</a><svg onload=alert(1)>", id="closing the link"),
]
IFRAME_ATTRIBUTES = {"src", "title", "width", "height", "style", "allow"}


def elements(html: str):
    return list(parse(html).iter())


def the_only_element(html: str, tag: str):
    found = elements(html)
    assert [element.tag for element in found] == [tag], html
    return found[0]


def textarea_snippet(response) -> str:
    """What a reader copies: the textarea's value, as a browser would read it."""
    return page(response).find("textarea", id="embed-snippet").text


# --- The snippet as data ---------------------------------------------------------------------------


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_a_public_embed_snippet_is_one_frame_whose_title_is_only_text(author, title):
    workbook = WorkbookFactory(author=author, title=title, embed_url=PUBLIC_URL)

    frame = the_only_element(embed.snippet(workbook, SHARE_URL), "iframe")

    assert set(frame.attrs) == IFRAME_ATTRIBUTES
    assert frame.attrs["title"] == title
    assert frame.attrs["src"] == PUBLIC_URL
    assert frame.children == []


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_a_private_workbook_snippet_is_one_link_whose_text_is_the_title(author, title):
    workbook = WorkbookFactory(author=author, title=title, embed_url=PRIVATE_WORKBOOK)

    link = the_only_element(embed.snippet(workbook, SHARE_URL), "a")

    assert link.attrs == {"href": SHARE_URL}
    assert link.text == f"{title} on Sigma Playground"


@pytest.mark.parametrize(
    "stored_url",
    [
        pytest.param('https://app.sigmacomputing.com/embed/1-x" onload="alert(1)', id="a quote"),
        pytest.param("javascript:alert(document.domain)", id="javascript"),
        pytest.param("https://evil.example/embed/1-Quarterly01", id="another host"),
        pytest.param("data:text/html,<script>alert(1)</script>", id="a data URL"),
    ],
)
def test_a_hostile_stored_url_is_never_offered_as_a_frame(author, stored_url):
    # Saved around the services (an old row, a hand edit): the snippet re-checks it.
    workbook = WorkbookFactory(author=author, title="Plan", embed_url=PUBLIC_URL)
    Workbook.objects.filter(pk=workbook.pk).update(embed_url=stored_url)
    workbook.refresh_from_db()

    link = the_only_element(embed.snippet(workbook, SHARE_URL), "a")

    assert link.attrs == {"href": SHARE_URL}


def test_a_hostile_share_url_stays_one_attribute(author):
    workbook = WorkbookFactory(author=author, title="Plan", embed_url=PRIVATE_WORKBOOK)

    link = the_only_element(embed.snippet(workbook, 'https://x.example/" onclick="alert(1)'), "a")

    assert link.attrs == {"href": 'https://x.example/" onclick="alert(1)'}


# --- The snippet on the page -----------------------------------------------------------------------


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_the_page_shows_the_snippet_exactly_as_built_whatever_the_title(client, author, title):
    workbook = WorkbookFactory(author=author, title=title, embed_url=PUBLIC_URL)

    response = client.get(workbook.get_absolute_url())

    copied = textarea_snippet(response)
    assert copied == embed.snippet(workbook, f"http://testserver{workbook.get_absolute_url()}")
    frame = the_only_element(copied, "iframe")
    assert set(frame.attrs) == IFRAME_ATTRIBUTES
    assert frame.attrs["title"] == title
    assert not page(response).find_all("script", src=None)


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_the_page_shows_a_link_snippet_whose_only_markup_is_the_link(client, author, title):
    workbook = WorkbookFactory(author=author, title=title, embed_url=PRIVATE_WORKBOOK)

    response = client.get(workbook.get_absolute_url())

    link = the_only_element(textarea_snippet(response), "a")
    assert link.attrs == {"href": f"http://testserver{workbook.get_absolute_url()}"}
    assert link.text == f"{title} on Sigma Playground"
