"""The light/dark switch as the server sends it: static/js/theme.js loaded first in <head> (a file, as
the CSP requires, and not deferred, so the theme is set before the first paint), and the switch in the
main navigation of every kind of page. The theme itself is the browser's: no page says which one, so a
page cached for one visitor is right for the next (tests/browser/test_theme.py runs it)."""

import pytest
from django.test import Client

from tests.factories import UserFactory, WorkbookFactory
from tests.workbooks.markup import Element
from tests.workbooks.markup import page as html

pytestmark = pytest.mark.django_db


def assert_theme_script_first(page: Element) -> None:
    head = page.find("head")
    scripts = head.find_all("script")
    assert scripts, "no script in <head>"
    first = scripts[0]
    assert first.attrs["src"].endswith("js/theme.js")
    assert "defer" not in first.attrs
    assert "async" not in first.attrs
    # Before the stylesheets: the browser need not wait for them to run it.
    elements = [element.tag for element in head.iter() if element.tag in ("script", "link")]
    assert elements.index("script") < elements.index("link")
    assert page.find("meta", name="color-scheme").attrs["content"] == "light dark"
    # No script is inline (the CSP refuses them) and no theme is chosen by the server.
    assert all(script.attrs.get("src") for script in page.find_all("script"))
    assert "data-theme" not in page.find("html").attrs


def assert_theme_switch(page: Element) -> None:
    nav = page.find("nav", aria_label="Main")
    switch = nav.find("button", class_="theme-switch")
    assert switch.attrs["type"] == "button"
    assert switch.attrs["aria-pressed"] == "false"  # theme.js sets it from the theme in use
    assert switch.find("span", class_="visually-hidden").text == "Dark theme"
    assert switch.find("svg").attrs["aria-hidden"] == "true"


def test_a_visitors_page_loads_the_theme_script_first_and_has_the_switch(client):
    WorkbookFactory()

    page = html(client.get("/"))

    assert_theme_script_first(page)
    assert_theme_switch(page)


def test_a_members_page_has_the_same_switch_outside_the_per_viewer_account_slot(client):
    client.force_login(UserFactory())

    page = html(client.get("/explore/"))

    assert_theme_script_first(page)
    assert_theme_switch(page)
    account = page.find("div", class_="nav__account")
    assert account.find_all("button", class_="theme-switch") == []


def test_the_error_pages_load_the_theme_script_and_have_the_switch():
    response = Client(raise_request_exception=False).get("/no-such-page/")

    assert response.status_code == 404
    page = html(response)
    assert_theme_script_first(page)
    assert_theme_switch(page)


def test_the_api_docs_page_follows_the_theme_with_swagger_uis_dark_mode_class(client):
    page = html(client.get("/api/v1/docs/"))

    assert_theme_script_first(page)
    assert page.find("html").attrs["data-theme-class"] == "dark-mode"


def test_the_sigma_stand_in_follows_the_theme_inside_its_frame(client, settings):
    settings.SIGMA_EMBED_STANDIN = True

    page = html(client.get("/_standin/sigma/abc/"))

    assert_theme_script_first(page)
