"""Descriptions are Markdown rendered once on save and sanitised; user text is escaped on every page."""

from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from pytest_django.asserts import assertContains, assertNotContains

from tests.factories import WorkbookFactory
from tests.pages import ESCAPED_SCRIPT, SCRIPT
from tests.workbooks.markup import parse
from workbooks.markdown import ALLOWED_TAGS, render

ATOM = "{http://www.w3.org/2005/Atom}"


def elements(html: str):
    return list(parse(html).iter())


def assert_harmless(html: str) -> None:
    """Only allow-listed tags, no event handler or style attribute, links only to http(s)/mailto."""
    for element in elements(html):
        assert element.tag in ALLOWED_TAGS, element.tag
        for name, value in element.attrs.items():
            assert not name.startswith("on"), (element.tag, name)
            assert name in {"href", "title", "rel"}, (element.tag, name)
            if name == "href":
                assert urlsplit(value).scheme in {"http", "https", "mailto"}, value


# --- Sanitising ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "gone"),
    [
        pytest.param("<script>alert(1)</script>Hello", "alert", id="script"),
        pytest.param("<SCRIPT SRC=https://evil.example/x.js></SCRIPT>Hello", "evil", id="SCRIPT"),
        pytest.param("<iframe src='https://evil.example'></iframe>Hello", "evil", id="iframe"),
        pytest.param("<style>body { display: none }</style>Hello", "display", id="style element"),
        pytest.param(
            "<object data='https://evil.example/x.swf'></object>Hello", "evil", id="object"
        ),
        pytest.param("<embed src='https://evil.example/x.swf'>Hello", "evil", id="embed"),
        pytest.param("<form action='https://evil.example'><input></form>Hello", "evil", id="form"),
        pytest.param("<svg onload='alert(1)'></svg>Hello", "alert", id="svg"),
    ],
)
def test_it_removes_dangerous_elements_and_what_they_contain(source, gone):
    html, text = render(source)

    assert_harmless(html)
    assert gone not in html.lower()
    assert "Hello" in html
    assert gone not in text.lower()


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("<b onmouseover='alert(1)'>Hello</b>", id="onmouseover"),
        pytest.param('<p onclick="alert(1)">Hello</p>', id="onclick"),
        pytest.param("<a href='https://example.com' onfocus='alert(1)'>Hello</a>", id="onfocus"),
        pytest.param("<em OnMouseOver='alert(1)'>Hello</em>", id="mixed case"),
    ],
)
def test_it_removes_event_handlers_and_keeps_the_text(source):
    html, _ = render(source)

    assert_harmless(html)
    assert "alert" not in html
    assert "Hello" in html


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("[Hello](javascript:alert(1))", id="markdown link"),
        pytest.param("[Hello](JaVaScRiPt:alert(1))", id="any case"),
        pytest.param("[Hello]( javascript:alert(1))", id="leading space"),
        pytest.param("<a href='javascript:alert(1)'>Hello</a>", id="html link"),
        pytest.param("<a href='JAVASCRIPT:alert(1)'>Hello</a>", id="upper case"),
        pytest.param("<a href='&#106;avascript:alert(1)'>Hello</a>", id="decimal entity"),
        pytest.param("<a href='&#x6A;avascript:alert(1)'>Hello</a>", id="hex entity"),
        pytest.param("<a href='java&#09;script:alert(1)'>Hello</a>", id="tab entity inside"),
        pytest.param("<a href='javascript&colon;alert(1)'>Hello</a>", id="named entity colon"),
        pytest.param("<a href='vbscript:msgbox(1)'>Hello</a>", id="vbscript"),
        pytest.param("<a href='data:text/html,<script>alert(1)</script>'>Hello</a>", id="data"),
    ],
)
def test_it_drops_links_that_run_code(source):
    html, text = render(source)

    assert_harmless(html)
    assert "script:" not in html.lower()
    assert "data:" not in html.lower()
    assert "Hello" in text


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("![chart](https://evil.example/pixel.png)", id="markdown image"),
        pytest.param("<img src='https://evil.example/pixel.png' alt='chart'>", id="html image"),
        pytest.param("<img src=x onerror='alert(1)'>", id="image with onerror"),
        pytest.param("<p style='background:url(https://evil.example/p.png)'>Hi</p>", id="style"),
    ],
)
def test_it_removes_images_and_styles(source):
    html, _ = render(source)

    assert_harmless(html)
    assert "evil.example" not in html
    assert "<img" not in html
    assert "style" not in html


def test_it_keeps_the_allowed_markup():
    source = (
        "# Heading\n\n"
        '**bold** _italic_ ~~not~~ `code` [a link](https://example.com "its title") '
        "[mail](mailto:ada@example.com)\n\n"
        "- one\n- two\n\n"
        "1. first\n\n"
        "> quoted\n\n"
        "```\nselect 1\n```\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n"
    )

    html, _ = render(source)

    assert_harmless(html)
    tags = {element.tag for element in elements(html)}
    assert {
        "h1",
        "strong",
        "em",
        "code",
        "a",
        "ul",
        "ol",
        "li",
        "blockquote",
        "pre",
        "table",
    } <= tags
    assert {"thead", "tbody", "tr", "th", "td"} <= tags
    links = {element.attrs["href"]: element for element in parse(html).find_all("a")}
    assert set(links) == {"https://example.com", "mailto:ada@example.com"}
    assert links["https://example.com"].attrs["title"] == "its title"


def test_it_marks_links_as_user_content_that_passes_no_referrer():
    html, _ = render("[site](https://example.com)")

    link = parse(html).find("a")
    assert set(link.attrs["rel"].split()) == {"nofollow", "noopener", "noreferrer", "ugc"}


def test_it_shows_code_as_text():
    html, text = render("```\n<script>alert(1)</script>\n```")

    assert_harmless(html)
    assert "&lt;script&gt;" in html
    assert parse(html).find("code").text.strip() == "<script>alert(1)</script>"
    assert text == "<script>alert(1)</script>"


def test_it_gives_the_plain_text_without_markup_or_entities():
    _, text = render("**Revenue** &amp; _margin_\n\n- by region\n- by <b>quarter</b>")

    assert text == "Revenue & margin by region by quarter"


@pytest.mark.django_db
def test_it_stores_the_sanitised_html_when_a_workbook_is_saved():
    workbook = WorkbookFactory(description="**Bold** <script>alert(1)</script>")

    assert workbook.description_html == "<p><strong>Bold</strong> </p>"
    assert workbook.description == "**Bold** <script>alert(1)</script>"


@pytest.mark.django_db
def test_the_workbook_page_shows_the_sanitised_description_only(client):
    workbook = WorkbookFactory(
        description="**Bold** <img src=x onerror='alert(1)'> [x](javascript:alert(2))"
    )

    response = client.get(workbook.get_absolute_url())

    prose = parse(response.content).find("div", class_="prose")
    assert [element.tag for element in prose.iter()] == ["p", "strong", "a"]
    assert "href" not in prose.find("a").attrs
    assertNotContains(response, "onerror")
    assertNotContains(response, "javascript:")


# --- Escaping user text on pages -------------------------------------------------------------------


@pytest.fixture
def scripted(db):
    return WorkbookFactory(
        title=f"Revenue{SCRIPT}",
        description="A description about revenue.",
        tags=["finance"],
        author__full_name=f"Mallory{SCRIPT}",
    )


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/", id="home"),
        pytest.param("/explore/", id="explore"),
        pytest.param("/explore/?q=revenue", id="explore search"),
        pytest.param("detail", id="detail"),
        pytest.param("/tags/finance/", id="tag page"),
        pytest.param("author", id="author page"),
    ],
)
def test_it_escapes_a_title_and_a_name_with_a_script_on_every_page(client, scripted, url):
    url = {
        "detail": scripted.get_absolute_url(),
        "author": f"/u/{scripted.author.username}/",
    }.get(url, url)

    response = client.get(url)

    assert response.status_code == 200
    assertNotContains(response, "<script>alert")
    assertContains(response, f"Revenue{ESCAPED_SCRIPT}")
    assertContains(response, f"Mallory{ESCAPED_SCRIPT}")


@pytest.mark.django_db
def test_it_escapes_the_title_in_the_meta_tags_and_the_embed_snippet(client, scripted):
    response = client.get(scripted.get_absolute_url())

    document = parse(response.content)
    assert document.find("meta", property="og:title").attrs["content"] == f"Revenue{SCRIPT}"
    assert document.find("meta", name="twitter:title").attrs["content"] == f"Revenue{SCRIPT}"
    assert document.find("title").text.startswith(f"Revenue{SCRIPT}")
    [frame] = parse(document.find("textarea", id="embed-snippet").text).find_all("iframe")
    assert frame.attrs["title"] == f"Revenue{SCRIPT}"
    assert not document.find_all("script", src=None)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/feeds/latest/", id="latest"),
        pytest.param("/feeds/tags/finance/", id="tag"),
        pytest.param("author", id="author"),
    ],
)
def test_the_feeds_carry_a_title_with_a_script_as_text(client, scripted, url):
    url = f"/feeds/u/{scripted.author.username}/" if url == "author" else url

    response = client.get(url)

    assert b"<script>" not in response.content
    entry = ElementTree.fromstring(response.content).find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").text == f"Revenue{SCRIPT}"
    assert entry.find(f"{ATOM}author/{ATOM}name").text == f"Mallory{SCRIPT}"


@pytest.mark.django_db
def test_the_feed_summary_is_html_with_the_description_text_escaped(client):
    # The summary is declared type="html": readers render it, so plain text must arrive escaped.
    WorkbookFactory(description="Add `<script>alert(1)</script>` to any page &lt;b&gt;")

    response = client.get("/feeds/latest/")

    summary = ElementTree.fromstring(response.content).find(f"{ATOM}entry/{ATOM}summary")
    assert summary.attrib["type"] == "html"
    assert summary.text == "Add &lt;script&gt;alert(1)&lt;/script&gt; to any page &lt;b&gt;"
    assert not [element for element in parse(summary.text).iter()]
