"""The HTML readers copy to show a workbook on their own site, and the options they may choose for it:
the frame's size (full width of their page or a fixed width, and a height) and Sigma's display
parameters (what of Sigma's chrome to hide, the theme).

The options arrive as GET parameters (the workbook page's form works without JavaScript). The page is
rendered once and shared by every reader (docs/page-caching.md), so the snippet and its form are a
page slot, filled in for each request from that request's own query: the shared copy never holds one
reader's options, and no option adds a cache entry. Every value is checked against a fixed list or
range; anything else is refused with a message and the default is used, and parameters this form does
not know are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.http import HttpRequest
from django.template.loader import get_template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString

from . import sigma, slots

SIZES = ("responsive", "fixed")
# Pixels. Below 200 Sigma's own toolbar leaves no room for the workbook; 2,000 covers any screen.
MIN_PIXELS = 200
MAX_PIXELS = 2000
DEFAULT_WIDTH = 800
DEFAULT_HEIGHT = 600
# Sigma's display parameters that hide a part of its interface, with what the form calls them.
HIDE = {
    "hide_menu": "Menu",
    "hide_folder_navigation": "Folder navigation",
    "hide_bookmarks": "Bookmarks",
    "hide_explore_toggle": "Explore button",
    "hide_tooltip": "Tooltips",
}
# Sigma's built-in themes; none chosen keeps whatever the published URL says.
THEMES = ("Light", "Dark", "Surface")
# ASCII digits only: int() would also take "+5", " 5", "1_000" and other scripts' digits.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,5}")


@dataclass(frozen=True)
class Options:
    """What a reader chose; the defaults give the snippet the page has always offered."""

    size: str = "responsive"
    width: int = DEFAULT_WIDTH
    height: int = DEFAULT_HEIGHT
    hide: frozenset[str] = field(default_factory=frozenset)
    theme: str = ""

    def sigma_params(self) -> dict[str, str]:
        """The display parameters these options add to the public embed's URL."""
        params = dict.fromkeys(sorted(self.hide), "true")
        if self.theme:
            params["theme"] = self.theme
        return params


DEFAULT = Options()


def options_from(query: Mapping[str, str]) -> tuple[Options, list[str]]:
    """The options a query asks for, and a message for each value refused (its default is used).
    Only the form's own parameters are read; a blank one is the default."""
    errors: list[str] = []
    size = query.get("size") or DEFAULT.size
    if size not in SIZES:
        errors.append("Choose a size: full width or fixed.")
        size = DEFAULT.size
    width = _pixels(query, "width", DEFAULT.width, errors)
    height = _pixels(query, "height", DEFAULT.height, errors)
    hide = set()
    for name, label in HIDE.items():
        value = query.get(name) or ""
        if value == "true":
            hide.add(name)
        elif value:
            errors.append(f"{label}: tick the box to hide it, or leave it.")
    theme = query.get("theme") or ""
    if theme and theme not in THEMES:
        errors.append(f"Choose a theme from the list ({', '.join(THEMES)}).")
        theme = ""
    options = Options(size=size, width=width, height=height, hide=frozenset(hide), theme=theme)
    return options, errors


def _pixels(query: Mapping[str, str], name: str, default: int, errors: list[str]) -> int:
    raw = query.get(name) or ""
    if not raw:
        return default
    if _WHOLE_NUMBER.fullmatch(raw) and MIN_PIXELS <= int(raw) <= MAX_PIXELS:
        return int(raw)
    errors.append(f"The {name} is a whole number of pixels from {MIN_PIXELS} to {MAX_PIXELS:,}.")
    return default


def public_embed(embed_url: str) -> sigma.SigmaUrl | None:
    """The stored URL, checked again, if it is a public embed: the only kind any site may frame."""
    try:
        parsed = sigma.parse(embed_url, settings.SIGMA_EMBED_HOSTS)
    except sigma.InvalidSigmaUrl:
        return None
    return parsed if parsed.is_public else None


def build(embed_url: str, title: str, share_url: str, options: Options = DEFAULT) -> SafeString:
    """The snippet's HTML, each attribute value and text escaped once for where it ends up: a frame
    for a public embed, with the options applied; for anything else a link to the workbook here."""
    public = public_embed(embed_url)
    if public is None:
        return format_html('<a href="{}">{} on Sigma Playground</a>', share_url, title)
    width = "100%" if options.size == "responsive" else str(options.width)
    return format_html(
        '<iframe src="{}" title="{}" width="{}" height="{}" style="border:0"'
        ' allow="fullscreen"></iframe>',
        sigma.with_params(public, **options.sigma_params()),
        title,
        width,
        options.height,
    )


@slots.slot("embed_snippet")
def embed_snippet(request: HttpRequest, args: slots.Args, composition: slots.Composition) -> str:
    """The snippet and its form, for this request's options (its query string)."""
    embed_url, title, share_url, path = args
    public = public_embed(embed_url)
    options, errors = options_from(request.GET) if public is not None else (DEFAULT, [])
    html = build(embed_url, title, share_url, options)
    return get_template("workbooks/inc/embed_snippet_form.html").render(
        {
            # The HTML is text in a textarea: escaped once more, so a reader copies exactly `html`.
            "snippet": escape(html),
            "public": public,
            "title": title,
            "path": path,
            "options": options,
            "errors": errors,
            "hide": [(name, label, name in options.hide) for name, label in HIDE.items()],
            "themes": THEMES,
            "min_pixels": MIN_PIXELS,
            "max_pixels": MAX_PIXELS,
            "default": DEFAULT,
        }
    )
