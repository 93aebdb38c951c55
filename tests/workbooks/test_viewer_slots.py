"""A viewer's navigation and buttons are rendered once per process for each viewer, bell, page and state,
and reused (workbooks.slots): a member's next page renders none of their templates again, and what each
member sees is still their own, with the request's own CSRF token."""

import re

import pytest
from django.test import Client
from django.test.signals import template_rendered

from social import services
from tests.factories import UserFactory, WorkbookFactory
from workbooks import slots

pytestmark = pytest.mark.django_db

VIEWER_TEMPLATES = {
    "inc/nav_account.html",
    "inc/nav_links.html",
    "inc/nav_live.html",
    "social/inc/favorite_button.html",
    "social/inc/follow_button.html",
}


def templates_rendered(client: Client, url: str) -> set[str]:
    names: list[str] = []

    def record(sender, template, context, **kwargs):
        names.append(template.name)

    template_rendered.connect(record)
    try:
        assert client.get(url).status_code == 200
    finally:
        template_rendered.disconnect(record)
    return set(names)


@pytest.fixture(autouse=True)
def _fresh_renderings():
    slots._rendered.cache_clear()  # another test's renderings would count as kept


def signed_in(user, **options) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client


def test_a_members_next_page_renders_none_of_their_parts_again(user):
    workbook = WorkbookFactory(author=UserFactory(username="author"))
    client = signed_in(user)
    first = templates_rendered(client, workbook.get_absolute_url())

    again = templates_rendered(client, workbook.get_absolute_url())

    assert first >= VIEWER_TEMPLATES
    assert not again & VIEWER_TEMPLATES


def test_each_member_sees_their_own_menu_and_state(user, other_user):
    author = UserFactory(username="author")
    workbook = WorkbookFactory(author=author)
    services.follow(user, author)
    services.favorite(user, workbook)
    mine, theirs = signed_in(user), signed_in(other_user)

    my_page = mine.get(workbook.get_absolute_url()).content.decode()
    their_page = theirs.get(workbook.get_absolute_url()).content.decode()

    assert 'href="/u/owner/"' in my_page
    assert 'href="/u/outsider/"' not in my_page
    assert 'href="/u/outsider/"' in their_page
    assert 'href="/u/owner/"' not in their_page
    assert my_page.count('aria-pressed="true"') == 2  # favorited, following
    assert their_page.count('aria-pressed="true"') == 0


def test_a_new_name_and_a_new_notification_show_on_the_next_page(user):
    client = signed_in(user)
    client.get("/explore/")
    user.full_name = "Ada Lovelace"
    user.save()
    services.follow(UserFactory(), user)

    page = client.get("/explore/").content.decode()

    assert "Ada Lovelace" in page
    assert 'data-unread="1"' in page


def test_each_page_carries_the_requests_own_csrf_token(user):
    client = signed_in(user, enforce_csrf_checks=True)
    tokens = set()
    for _ in range(2):
        page = client.get("/explore/").content.decode()
        tokens.update(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page))

    assert len(tokens) == 2  # masked afresh each time, never a kept one
    assert not any(token.startswith("csrf-") for token in tokens)
    response = client.post("/accounts/logout/", {"csrfmiddlewaretoken": tokens.pop()})
    assert response.status_code == 302


def test_pages_asked_for_with_a_query_string_add_no_renderings_to_keep(client):
    """The buttons carry the page's address (`next`): one asked for with any query string, junk
    included, is rendered for that request only, so what each process keeps stays bounded."""
    workbook = WorkbookFactory(author=UserFactory(username="author"))
    assert client.get(workbook.get_absolute_url()).status_code == 200
    kept = slots._rendered.cache_info().currsize

    for n in range(5):
        response = client.get(f"{workbook.get_absolute_url()}?junk={'x' * 2000}{n}")
        assert response.status_code == 200
        assert f"{'x' * 2000}{n}" in response.content.decode()  # the buttons still go back there

    assert slots._rendered.cache_info().currsize == kept
