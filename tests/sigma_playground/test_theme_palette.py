"""The light and dark palettes (static/css/site.css's :root, each colour as light-dark(light, dark)) meet
WCAG AA for every pair of colours the site puts together: 4.5:1 for text, 3:1 for large text and for the
parts of a control (a focus ring, a button's edge). Read from the stylesheet itself, so a colour changed
there is checked here; axe in the browser tests checks the pages as rendered."""

from __future__ import annotations

import colorsys
import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parents[2] / "static" / "css"
HEX = r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?"
THEMES = ("light", "dark")

TEXT = 4.5
LARGE_OR_UI = 3.0

# (foreground, background, minimum): where the site puts the two together.
PAIRS = [
    # Body text, secondary text and links on the page, on cards and on the pale brand panels.
    *[("ink", bg, TEXT) for bg in ("paper", "canvas", "tint", "unread")],
    ("ink", "mark", TEXT),  # a search match in a card's snippet
    *[("muted", bg, TEXT) for bg in ("paper", "canvas", "unread")],
    *[("brand", bg, TEXT) for bg in ("paper", "canvas", "unread")],
    *[("brand-dark", bg, TEXT) for bg in ("paper", "canvas", "tint", "tint-strong")],
    # Buttons, the logo and the bell's count: text on a filled colour.
    *[("on-brand", bg, TEXT) for bg in ("brand", "brand-dark", "danger")],
    # Errors, success and warnings: on the page and on their own pale backgrounds.
    *[("danger", bg, TEXT) for bg in ("paper", "canvas", "danger-bg")],
    *[("ok", bg, TEXT) for bg in ("paper", "ok-bg")],
    ("warn", "warn-bg", TEXT),
    # Toasts.
    ("on-inverse", "inverse", TEXT),
    ("on-inverse-link", "inverse", TEXT),
    # Controls: the focus ring and a filled button's edge against what is around them.
    *[("focus-ring", bg, LARGE_OR_UI) for bg in ("paper", "canvas")],
    *[("brand", bg, LARGE_OR_UI) for bg in ("paper", "canvas")],
]


def rgb(hex_colour: str) -> tuple[float, float, float]:
    digits = hex_colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    red, green, blue = (int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return red, green, blue


def hsl(hue: float, saturation: float, lightness: float) -> tuple[float, float, float]:
    return colorsys.hls_to_rgb(hue / 360, lightness / 100, saturation / 100)


def luminance(colour: tuple[float, float, float]) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = colour
    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)


def contrast(one: tuple[float, float, float], other: tuple[float, float, float]) -> float:
    lighter, darker = sorted((luminance(one), luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def root_block(path: Path) -> str:
    """The first `:root { ... }` rule of a stylesheet: where its palette is declared."""
    match = re.search(r":root\s*\{(.*?)\}", path.read_text(), re.S)
    assert match, f"{path.name} has no :root rule"
    return match.group(1)


def palette(path: Path) -> dict[str, dict[str, str]]:
    """{theme: {name: hex}} from the :root rule's `--name: light-dark(#light, #dark)` and `--name: #hex`
    (the same in both themes)."""
    block = root_block(path)
    themes: dict[str, dict[str, str]] = {theme: {} for theme in THEMES}
    for name, light, dark in re.findall(
        rf"--([\w-]+):\s*light-dark\(\s*({HEX})\s*,\s*({HEX})\s*\)", block
    ):
        themes["light"][name], themes["dark"][name] = light, dark
    for name, both in re.findall(rf"--([\w-]+):\s*({HEX})\s*;", block):
        themes["light"][name] = themes["dark"][name] = both
    return themes


SITE = palette(CSS / "site.css")


def test_the_site_declares_a_light_and_a_dark_palette_that_differ():
    dark_colours = {
        name
        for name, colour in SITE["dark"].items()
        if colour.lower() != SITE["light"][name].lower()
    }
    assert {"ink", "muted", "paper", "canvas", "brand", "danger", "ok"} <= dark_colours
    assert re.search(r"color-scheme:\s*light dark", root_block(CSS / "site.css"))


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize(("foreground", "background", "minimum"), PAIRS)
def test_each_pair_of_colours_the_site_uses_is_readable(theme, foreground, background, minimum):
    colours = SITE[theme]
    ratio = contrast(rgb(colours[foreground]), rgb(colours[background]))

    assert ratio >= minimum, (
        f"{theme}: --{foreground} {colours[foreground]} on --{background} {colours[background]} "
        f"is {ratio:.2f}:1, under {minimum}:1"
    )


def hue_rule(selector: str) -> dict[str, list[dict[str, tuple[float, float]]]]:
    """A rule's colours made from its hue, `light-dark(hsl(var(--hue) S% L%), hsl(var(--hue) S% L%))`, as
    {property: [{theme: (saturation, lightness)}]}: one for a colour, one per stop for a gradient."""
    css = (CSS / "site.css").read_text()
    rule = re.search(re.escape(selector) + r"\s*\{(.*?)\}", css, re.S)
    assert rule, selector
    hue_hsl = r"hsl\(var\(--hue(?:, \d+)?\) (\d+)% (\d+)%\)"
    found = {}
    for prop, body in re.findall(r"(color|background):\s*([^;]+);", rule.group(1)):
        stops = re.findall(rf"light-dark\({hue_hsl},\s*{hue_hsl}\)", body)
        assert stops, f"{selector} {prop} is not light-dark(hsl(...), hsl(...))"
        found[prop] = [
            {"light": (float(s1), float(l1)), "dark": (float(s2), float(l2))}
            for s1, l1, s2, l2 in stops
        ]
    return found


HUES = [
    float(hue)
    for hue in re.findall(r"\.hue-\d+ \{ --hue: (\d+); \}", (CSS / "site.css").read_text())
]


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize(
    ("selector", "background_selector", "minimum"),
    [
        # A generated avatar's initial: small text.
        ('.avatar[class*="hue-"]', '.avatar[class*="hue-"]', TEXT),
        # A thumbnail placeholder's initial (2.5rem bold: large text) on either end of its gradient.
        (".thumb--placeholder span", ".thumb--placeholder", LARGE_OR_UI),
    ],
)
def test_the_coloured_avatars_and_placeholders_are_readable_in_every_hue(
    theme, selector, background_selector, minimum
):
    assert len(HUES) == 8
    (text,) = hue_rule(selector)["color"]
    for hue in HUES:
        for background in hue_rule(background_selector)["background"]:
            ratio = contrast(hsl(hue, *text[theme]), hsl(hue, *background[theme]))
            assert ratio >= minimum, (theme, selector, hue, round(ratio, 2))


def test_the_api_docs_page_uses_the_sites_colours():
    """api_docs.css does not load site.css (its rules would restyle Swagger UI): the colours it copies
    are the site's own, in both themes."""
    docs = palette(CSS / "api_docs.css")

    assert docs["dark"], "api_docs.css declares no light-dark() palette"
    for theme in THEMES:
        for name, colour in docs[theme].items():
            assert colour.lower() == SITE[theme][name].lower(), (theme, name)


# Browsers without light-dark() (Chrome < 123, Firefox < 120, Safari < 17.5) drop a declaration that uses
# it, and a custom property holding it makes every var() of it invalid: the site would lose all its colours.
# Each stylesheet repeats, for them, each such declaration with its light value, in this block.
FALLBACK = "@supports not (color: light-dark(#000, #fff))"


def light_value(value: str) -> str:
    """`value` with each light-dark(light, dark) replaced by its light part."""
    out, rest = [], value
    while (start := rest.find("light-dark(")) != -1:
        out.append(rest[:start])
        depth, index, comma = 1, start + len("light-dark("), None
        while depth:
            char = rest[index]
            depth += {"(": 1, ")": -1}.get(char, 0)
            if char == "," and depth == 1 and comma is None:
                comma = index
            index += 1
        out.append(rest[start + len("light-dark(") : comma].strip())
        rest = rest[index:]
    return " ".join(("".join(out) + rest).split())


def declarations(css: str) -> dict[tuple[str, str], str]:
    """{(selector, property): value} of every rule in `css` (no nesting but an at-rule's own rules)."""
    found = {}
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        selector = " ".join(selector.split())
        for declaration in body.split(";"):
            if ":" in declaration:
                prop, value = declaration.split(":", 1)
                found[(selector, prop.strip())] = " ".join(value.split())
    return found


def split_fallback(path: Path) -> tuple[str, str]:
    """A stylesheet's text without comments, as (its rules outside the fallback, the fallback's rules)."""
    css = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
    outside, inside = [], []
    while (start := css.find(FALLBACK)) != -1:
        outside.append(css[:start])
        depth, index = 0, css.index("{", start)
        body_start = index + 1
        while True:
            depth += {"{": 1, "}": -1}.get(css[index], 0)
            if depth == 0:
                break
            index += 1
        inside.append(css[body_start:index])
        css = css[index + 1 :]
    return "".join(outside) + css, "".join(inside)


@pytest.mark.parametrize("path", sorted(CSS.glob("*.css")), ids=lambda path: path.name)
def test_browsers_without_light_dark_get_the_light_value_of_every_colour_that_uses_it(path):
    rules, fallback = split_fallback(path)
    expected = {
        key: light_value(value)
        for key, value in declarations(rules).items()
        if "light-dark(" in value
    }

    # Every declaration made with light-dark(), and nothing more: no colour kept twice by hand that could
    # drift from its pair.
    assert declarations(fallback) == expected


def test_the_sites_fallback_declares_the_whole_light_palette():
    _, fallback = split_fallback(CSS / "site.css")
    declared = {
        prop.removeprefix("--"): value
        for (selector, prop), value in declarations(fallback).items()
        if selector == ":root"
    }

    for name, colour in SITE["light"].items():
        if "light-dark(" in root_block(CSS / "site.css").split(f"--{name}:", 1)[1].split(";")[0]:
            assert declared[name] == colour, name
