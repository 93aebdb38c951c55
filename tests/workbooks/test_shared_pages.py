"""Gallery pages are rendered once for everyone, members included; each viewer's parts (the account
menu and bell, messages, favorite and follow buttons, comments with their forms) are composed in per
request, and never land in the shared copy."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from social import services as social_services
from social.models import Favorite, Follow, Notification
from tests.factories import BROWSER, UserFactory, WorkbookFactory
from workbooks import cache as gallery_cache

PAGES = ["/", "/explore/", "/explore/?q=revenue", "/tags/finance/", "/u/ada/", "detail"]
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class RecordingCache:
    """The gallery's cache, keeping what each page stores."""

    def __init__(self, real) -> None:
        self.real = real
        self.pages: dict[str, str] = {}

    def __getattr__(self, name):
        return getattr(self.real, name)

    def set(self, key, value, *args, **kwargs):
        if ":page:" in key:
            self.pages[key] = value[1].decode()  # (the version it was made at, content, headers)
        return self.real.set(key, value, *args, **kwargs)


@pytest.fixture
def stored(monkeypatch) -> RecordingCache:
    # Keys change every minute: a test that counts what is stored must not see two minutes.
    monkeypatch.setattr(gallery_cache, "minute", lambda: 29_000_000)
    recording = RecordingCache(gallery_cache.cache)
    monkeypatch.setattr(gallery_cache, "cache", recording)
    return recording


def url_of(page: str, workbook) -> str:
    return workbook.get_absolute_url() if page == "detail" else page


def get(client, url: str):
    response = client.get(url, HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200, url
    return response


def member(full_name: str, username: str):
    person = UserFactory(username=username, full_name=full_name)
    actor = UserFactory()
    theirs = WorkbookFactory(author=person, status="draft")
    for _ in range(3):  # unread notifications: the bell shows 3
        Notification.objects.create(recipient=person, actor=actor, verb="followed")
    return person, theirs


def served_from_the_shared_copy(response) -> bool:
    """Only the composed parts were rendered: not the page's own template."""
    names = {template.name for template in response.templates}
    return not names & {
        "workbooks/home.html",
        "workbooks/explore.html",
        "workbooks/tag.html",
        "workbooks/author.html",
        "workbooks/detail.html",
    }


@pytest.mark.parametrize("page", PAGES)
def test_a_member_is_served_the_copy_a_visitor_made_with_their_own_parts(client, gallery, page):
    url = url_of(page, gallery)
    zelda, _ = member("Zelda Fitzgerald", "zelda")
    get(client, url)  # a visitor: rendered and kept
    client.force_login(zelda)

    response = get(client, url)

    assert served_from_the_shared_copy(response)
    html = response.content.decode()
    assert "Zelda Fitzgerald" in html  # their menu
    assert 'data-unread="3"' in html  # their bell
    assert "Sign out" in html
    assert "Sign in</a>" not in html
    assert "<!--slot:" not in html
    assert CSRF_INPUT.search(html)
    assert "private" in response["Cache-Control"]
    assert "Cookie" in response["Vary"]


@pytest.mark.parametrize("page", PAGES)
def test_the_shared_copy_holds_nothing_of_the_member_whose_request_made_it(
    client, gallery, stored, page
):
    zelda, draft = member("Zelda Fitzgerald", "zelda")
    social_services.favorite(zelda, gallery)
    social_services.follow(zelda, gallery.author)
    client.force_login(zelda)

    response = get(client, url_of(page, gallery))

    assert "Zelda Fitzgerald" in response.content.decode()
    token = CSRF_INPUT.search(response.content.decode()).group(1)
    assert stored.pages, "the page was kept for everyone"
    for html in stored.pages.values():
        assert "Zelda" not in html
        assert "zelda" not in html
        assert draft.title not in html
        assert token not in html
        assert "csrfmiddlewaretoken" not in html
        assert "notification-bell" not in html
        assert 'aria-pressed="true"' not in html  # neither their favorite nor their follow
        assert "Sign out" not in html


def test_member_b_never_sees_member_a_state_on_the_copy_a_made(client, gallery):
    zelda, _ = member("Zelda Fitzgerald", "zelda")
    bob, _ = member("Bob Dylan", "bob")
    Notification.objects.create(recipient=bob, actor=zelda, verb="followed")  # 4 unread
    social_services.favorite(zelda, gallery)
    social_services.follow(zelda, gallery.author)
    client.force_login(zelda)
    first = get(client, gallery.get_absolute_url()).content.decode()
    assert first.count('aria-pressed="true"') == 2  # favorited, following
    assert "Favorited" in first
    assert "Following" in first

    client.force_login(bob)
    response = get(client, gallery.get_absolute_url())

    assert served_from_the_shared_copy(response)
    html = response.content.decode()
    assert "Bob Dylan" in html
    assert "Zelda" not in html
    assert 'data-unread="4"' in html
    assert 'aria-pressed="true"' not in html
    assert CSRF_INPUT.search(html).group(1) != CSRF_INPUT.search(first).group(1)


def test_a_change_shows_at_once_on_a_shared_workbook_page(client, gallery):
    zelda, _ = member("Zelda Fitzgerald", "zelda")
    client.force_login(zelda)
    url = gallery.get_absolute_url()
    get(client, url)
    assert served_from_the_shared_copy(get(client, url))

    social_services.favorite(zelda, gallery)
    social_services.follow(zelda, gallery.author)
    social_services.add_comment(zelda, gallery, "Lovely regional split")
    html = get(client, url).content.decode()

    assert "Lovely regional split" in html
    assert "1 favorite</span>" in html
    assert "1 follower</a>" in html
    assert html.count('aria-pressed="true"') == 2
    # Their own fresh comment: theirs to edit and delete.
    assert "your comment" in html


def test_a_message_reaches_only_its_member_and_never_the_copy(client, gallery, stored):
    url = gallery.get_absolute_url()
    zelda, _ = member("Zelda Fitzgerald", "zelda")
    UserFactory(username="grace", full_name="Grace Hopper")
    get(client, url)  # kept
    client.force_login(zelda)
    # Without JavaScript: the form posts, and the page it returns to says so.
    client.post("/u/grace/follow/", {"follow": "1", "next": url})

    response = get(client, url)

    assert served_from_the_shared_copy(response)
    assert "You follow Grace Hopper." in response.content.decode()
    assert "You follow Grace Hopper." not in get(client, url).content.decode()  # shown once
    assert stored.pages
    for html in stored.pages.values():
        assert "You follow" not in html


def test_the_author_and_the_profile_owner_get_their_own_rendering(client, gallery):
    WorkbookFactory(author=gallery.author, title="Unfinished draft", status="draft")
    reader, _ = member("Zelda Fitzgerald", "zelda")
    client.force_login(reader)
    get(client, gallery.get_absolute_url())  # their view is counted: a new copy
    assert served_from_the_shared_copy(get(client, gallery.get_absolute_url()))
    get(client, "/u/ada/")
    assert served_from_the_shared_copy(get(client, "/u/ada/"))
    client.force_login(gallery.author)

    page = get(client, gallery.get_absolute_url())
    profile = get(client, "/u/ada/")

    assert not served_from_the_shared_copy(page)
    assert f"{gallery.get_absolute_url()}edit/" in page.content.decode()
    assert "Unfinished draft" in profile.content.decode()
    assert "Edit profile" in profile.content.decode()


def test_text_written_by_members_cannot_make_a_slot(client, gallery):
    from workbooks import slots

    forged = slots.marker("account", [])
    zelda, _ = member("Zelda Fitzgerald", "zelda")
    social_services.add_comment(zelda, gallery, f"look {forged} here")

    html = get(client, gallery.get_absolute_url()).content.decode()

    assert "look &lt;!--slot:" in html
    assert html.count("Sign in</a>") == 1  # the visitor's menu, once


def grow_member(person, gallery, count: int) -> None:
    """`count` more favorites, follows and notifications for `person`."""
    for n in range(count):
        author = UserFactory()
        workbook = WorkbookFactory(author=author, title=f"Revenue part {n}", tags=["finance"])
        Favorite.objects.create(user=person, workbook=workbook)  # past the flood limits
        Follow.objects.create(follower=person, followee=author)
        Notification.objects.create(recipient=person, actor=author, verb="followed")


def member_page_queries(client, gallery, page, before) -> tuple[list[int], str]:
    """Zelda signed in, with 3 and then 30 more favorites, follows and notifications: each time
    `before(url, more)`, then one request of `page`, which must be served from the shared copy. Its
    query counts, and the last one's SQL."""
    zelda, _ = member("Zelda Fitzgerald", "zelda")
    client.force_login(zelda)
    url = url_of(page, gallery)
    counts = []
    for more in (3, 30):
        grow_member(zelda, gallery, more)
        before(url, more)
        with CaptureQueriesContext(connection) as captured:
            response = get(client, url)
        assert served_from_the_shared_copy(response)
        counts.append(len(captured))
    return counts, "\n".join(query["sql"] for query in captured.captured_queries)


# On the shared copy, what a member's page costs: the member's row (the session and the bell come
# from the cache, accounts.sessions and social.selectors.bell). The workbook's row, or the profile's
# member, was read too (2 queries) until the copy was kept for members by address as well
# (workbooks.cache.for_member): now neither is read while nothing it shows changed. The viewer's favorite
# and follow state and the comments were read on the first request and are kept
# (workbooks.cache.kept_while: one query each before, none on a reload now). (The view, counted once
# a day per reader, is not counted again here.)
MEMBER_PAGES = {
    "home": "/",
    "explore": "/explore/",
    "search": "/explore/?q=revenue",
    "tag": "/tags/finance/",
    "profile": "/u/ada/",
    "workbook": "detail",
}
MEMBER_QUERIES = dict.fromkeys(MEMBER_PAGES, 1)


@pytest.mark.parametrize("name", MEMBER_PAGES)
def test_a_member_page_costs_the_same_few_queries_however_much_they_have(client, gallery, name):
    page, expected = MEMBER_PAGES[name], MEMBER_QUERIES[name]

    def before(url: str, more: int) -> None:
        get(client, url)  # the copy for this version of the gallery
        get(client, url)  # kept for members by address (with the tokens read before the rows)

    counts, sql = member_page_queries(client, gallery, page, before)

    assert counts == [expected, expected], sql


# A request served from the shared copy when the member's copy (by address) is missing: the first
# request of each minute, or the copy evicted. The workbook and profile pages read their own row too
# (the workbook, or the profile's member: 2 queries, as before the member's copy was kept); the other
# pages read only the member's row. The member's copy is made missing by moving its key.
SHARED_COPY_QUERIES = {**MEMBER_QUERIES, "profile": 2, "workbook": 2}


@pytest.mark.parametrize("name", MEMBER_PAGES)
def test_a_member_page_from_the_shared_copy_without_their_copy_costs_the_same_few_queries(
    client, gallery, name, monkeypatch
):
    page, expected = MEMBER_PAGES[name], SHARED_COPY_QUERIES[name]
    real_member_key = gallery_cache._member_key
    moved = [""]
    monkeypatch.setattr(
        gallery_cache, "_member_key", lambda name, key: real_member_key(name, key) + moved[0]
    )

    def before(url: str, more: int) -> None:
        get(client, url)  # the copy for this version of the gallery (and maybe the member's)
        moved[0] = f":moved-{more}"  # the member's copy is not found

    counts, sql = member_page_queries(client, gallery, page, before)

    assert counts == [expected, expected], sql


def test_a_page_made_before_the_composing_middleware_has_its_slots_filled(client, db):
    """The refused-upload page comes from a middleware outside the one that composes, and before
    authentication: its slots are filled in as it is rendered, as for a visitor (as before)."""
    zelda, _ = member("Zelda Fitzgerald", "zelda")
    client.force_login(zelda)

    response = client.post(
        "/settings/avatar/",
        {},
        CONTENT_LENGTH=str(500 * 1024 * 1024),
        HTTP_REFERER="http://testserver/settings/",
    )

    assert response.status_code == 413
    html = response.content.decode()
    assert "That file is too large" in html
    assert "Sign in</a>" in html
    assert "<!--slot:" not in html


@pytest.mark.django_db
def test_a_shared_page_made_through_one_allowed_host_is_not_served_with_its_urls_to_another(
    gallery, client, settings, stored
):
    # Two names for one site (an internal or health-check address beside the public one): the copy
    # made for whoever asks first holds the configured origin, whichever Host they sent.
    settings.ALLOWED_HOSTS = ["sigma.example", "10.0.0.5"]
    settings.SITE_URL = "https://sigma.example"
    url = gallery.get_absolute_url()
    bob, _ = member("Bob Stone", "bob")
    assert client.get(url, HTTP_HOST="10.0.0.5", HTTP_USER_AGENT=BROWSER).status_code == 200

    client.force_login(bob)
    page = client.get(url, HTTP_HOST="sigma.example", HTTP_USER_AGENT=BROWSER).content.decode()

    assert len(stored.pages) == 1  # the member was served the copy made through the other host
    assert "10.0.0.5" not in page
    canonical = re.search(r'<link rel="canonical" href="([^"]+)"', page).group(1)
    share = re.search(r'id="share-link" type="text" readonly value="([^"]+)"', page).group(1)
    assert canonical == share == f"https://sigma.example{url}"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/tags/finance/", "/u/ada/"])
def test_every_spelling_of_one_page_number_is_one_shared_entry(gallery, client, stored, path):
    spellings = [
        "",
        "1",
        "01",
        "001",
        "+1",
        " 1",
        "1 ",
        "\uff11",
        "\u0661",
    ]  # fullwidth, Arabic-Indic
    for raw in spellings:
        get(client, f"{path}?page={raw}")
    assert len(stored.pages) == 1

    # Another page is another entry; its spellings are that one entry again.
    get(client, f"{path}?page=2")
    get(client, f"{path}?page=02")
    assert len(stored.pages) == 2
