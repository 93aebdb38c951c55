"""The API docs page as served: ours around Swagger UI (a way back, a language, a title, a main
landmark, our stylesheet), with nothing inline for the CSP to refuse."""

import re

import pytest


@pytest.fixture
def docs_html(client, db) -> str:
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_docs_page_has_a_language_a_title_and_a_banner(docs_html):
    assert re.search(r'<html lang="en"[ >]', docs_html)
    assert "<title>API reference · Sigma Playground</title>" in docs_html
    assert re.search(r'<header class="api-docs__header">', docs_html)
    # The main landmark is Swagger UI's own (<main id="operations">): none of ours beside it.
    assert "<main" not in docs_html
    assert 'href="#operations"' in docs_html


def test_the_docs_page_leads_back_to_the_site(docs_html):
    assert re.search(
        r'<a class="api-docs__home" href="/">.*Back to Sigma Playground</a>', docs_html
    )


def test_the_docs_page_loads_our_stylesheet_and_nothing_inline(docs_html):
    assert re.search(r'<link rel="stylesheet" href="/static/css/api_docs\.css[^"]*">', docs_html)
    assert "<style" not in docs_html
    assert " style=" not in docs_html
    scripts = re.findall(r"<script([^>]*)>", docs_html)
    assert scripts
    assert all("src=" in attributes for attributes in scripts)
