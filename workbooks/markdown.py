"""Descriptions: Markdown in, sanitised HTML out, once on save.

Python-Markdown passes raw HTML through, so its output is never trusted: nh3 (the Rust `ammonia`
sanitiser) keeps only an allow-list of tags and attributes, and only http(s)/mailto links.
"""

from __future__ import annotations

import html

import markdown as md
import nh3

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


def render(source: str) -> tuple[str, str]:
    """(sanitised HTML, plain text) for a Markdown description."""
    raw_html = md.markdown(source, extensions=["fenced_code", "sane_lists", "tables"])
    safe_html = nh3.clean(
        raw_html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer ugc",
    )
    text = html.unescape(nh3.clean(raw_html, tags=set()))
    return safe_html, " ".join(text.split())
