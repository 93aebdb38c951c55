"""Every page of the site (tests/page_catalogue.py), in Chromium, at a laptop's and a phone's width, in
the light and the dark theme, signed out and signed in: axe-core finds no serious or critical
accessibility violation (nor a skipped heading level or two landmarks of one name), nothing is
wider than the screen, and a full-page screenshot of each is saved under test-artifacts/pages/ for
a person to look at.

axe-core is the npm package pinned in tests/browser/axe/ (installed by `make test`), evaluated in
each page by Playwright; it is never part of the site (nothing under static/ serves it), and the
site's CSP does not apply to what Playwright evaluates. Without it these tests skip, under CI=true
they fail (the `axe` marker, tests/conftest.py).

One browser profile per (who, width, theme), reused from page to page: its cookies carry the
signed-in session and the CSRF cookie a sent form needs (tests/page_catalogue.CSRF_SECRET).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page, Route

from tests import page_catalogue
from tests.conftest import AXE_SCRIPT
from tests.page_catalogue import CSRF_SECRET, VISITOR, Visit, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.axe]

WIDTHS = {1366: {"width": 1366, "height": 900}, 390: {"width": 390, "height": 844}}
THEMES = ("light", "dark")
SERIOUS = ("serious", "critical")
# Two moderate rules held to as well: a skipped heading level and two landmarks of the same name each
# make a page harder to move through with a screen reader, and both were found on our pages before.
MODERATE_HELD_TO = ("heading-order", "landmark-unique")

# Findings inside markup we do not write, each excused by page, rule and the nodes' selectors (axe's
# `target`), with why. Our own templates and stylesheets get no exception; nor does Django's admin
# today: what axe found there was ours, and is fixed.
EXCUSED: dict[str, dict[str, set[str]]] = {
    # Swagger UI draws the API's title as an h1 and each group of operations under an h3: left
    # rather than patched in its bundle (docs/api.md, what axe still reports there).
    "api-docs": {"heading-order": {"#operations-tag-auth"}},
}

AXE_RUN = """async () => {
  const results = await axe.run(document, {
    resultTypes: ['violations'],
    // The Sigma frame shows the stand-in page, which is in the catalogue on its own.
    iframes: false,
  });
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')),
  }));
}"""
OVERFLOW = """() => ({
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  wide: [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
    .filter(el => !el.closest('.visually-hidden, .skip-link'))
    .slice(0, 5)
    .map(el => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '')),
})"""


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    pages: int = 0

    def report(self) -> str:
        return "\n".join(self.problems)


def _excused(visit: Visit, rule: str, target: str) -> bool:
    return target in EXCUSED.get(visit.name, {}).get(rule, set())


def _multipart(body: dict[str, str]) -> tuple[str, bytes]:
    boundary = "----catalogue-boundary"
    parts = []
    for key, value in body.items():
        disposition = f'form-data; name="{key}"'
        kind = ""
        if key != "csrfmiddlewaretoken":
            disposition += f'; filename="{key}.png"'
            kind = "Content-Type: image/png\r\n"
        parts.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n{kind}\r\n{value}\r\n")
    data = "".join(parts) + f"--{boundary}--\r\n"
    return f"multipart/form-data; boundary={boundary}", data.encode()


def _open(page: Page, base: str, visit: Visit):
    """The page, as a link followed or, with `data`, as the form sent (the browser's own request,
    turned into that POST on its way out)."""
    url = f"{base}{visit.path}"
    body = visit.body()
    if body is None:
        return page.goto(url)
    if visit.multipart:
        content_type, data = _multipart(body)
    else:
        content_type, data = "application/x-www-form-urlencoded", urlencode(body).encode()

    def send(route: Route) -> None:
        headers = {**route.request.headers, "content-type": content_type, "origin": base}
        route.continue_(method="POST", post_data=data, headers=headers)

    page.route(url, send, times=1)
    try:
        return page.goto(url)
    finally:
        page.unroute(url)


def _check(page: Page, visit: Visit, label: str, findings: Findings) -> None:
    if visit.ready:
        page.locator(visit.ready).first.wait_for()
    if visit.open:
        page.locator(visit.open).first.click()
    page.evaluate(axe_source())
    for violation in page.evaluate(AXE_RUN):
        if violation["impact"] not in SERIOUS and violation["id"] not in MODERATE_HELD_TO:
            continue
        targets = [t for t in violation["targets"] if not _excused(visit, violation["id"], t)]
        if targets:
            findings.problems.append(
                f"{label}: {violation['id']} ({violation['impact']}: {violation['help']}) "
                f"at {targets}"
            )
    overflow = page.evaluate(OVERFLOW)
    if overflow["scrollWidth"] > overflow["innerWidth"]:
        findings.problems.append(
            f"{label}: {overflow['scrollWidth']} px wide on a {overflow['innerWidth']} px screen;"
            f" past the edge: {overflow['wide']}"
        )


@functools.cache
def axe_source() -> str:
    return AXE_SCRIPT.read_text()


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_has_no_serious_accessibility_violation_and_fits_the_screen(
    browser: Browser, live_server, settings, artifacts_dir, quiet_push, width, theme
):
    started = time.monotonic()
    folder = artifacts_dir / "pages"
    folder.mkdir(exist_ok=True)
    findings = Findings()
    with page_catalogue.configured(settings) as providers:
        site = page_catalogue.build(settings, providers)
        for who in (VISITOR, *site.people):
            context = browser.new_context(
                viewport=WIDTHS[width], color_scheme=theme, locale="en-US"
            )
            context.set_default_timeout(15_000)
            cookies = [{"name": "csrftoken", "value": CSRF_SECRET, "url": live_server.url}]
            if who != VISITOR:
                person = site.people[who]
                value = session_cookie(person, second_factor=person.mfa_enabled)
                cookies.append({"name": "sessionid", "value": value, "url": live_server.url})
            context.add_cookies(cookies)
            page = context.new_page()
            try:
                for visit in site.visits:
                    if who not in visit.who:
                        continue
                    signed = "visitor" if who == VISITOR else "signed-in"
                    label = f"{visit.name} as {who} at {width} px, {theme}"
                    response = _open(page, live_server.url, visit)
                    status = response.status if response else None
                    if status != visit.status:
                        findings.problems.append(f"{label}: answered {status}")
                    _check(page, visit, label, findings)
                    page.screenshot(
                        path=folder / f"{visit.name}--{signed}--{width}--{theme}.png",
                        full_page=True,
                    )
                    findings.pages += 1
            finally:
                context.close()
    seconds = time.monotonic() - started
    print(f"{findings.pages} pages at {width} px, {theme}, in {seconds:.0f} s")
    assert findings.problems == [], "\n" + findings.report()
