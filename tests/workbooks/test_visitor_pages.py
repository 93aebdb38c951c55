"""Visitors (no cookie, no Authorization header) get a page composed once for all of them and kept:
no query and no composition on a repeat, nothing of one visitor's own served to another, and
nothing shown stale that changed without the gallery's version (comments, counts)."""

import re

import pytest
from django.conf import settings
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from social import services as social_services
from tests.factories import BROWSER, UserFactory, WorkbookFactory
from workbooks import cache as gallery_cache
from workbooks import services, slots
from workbooks.models import PendingView, Workbook

PAGES = ["/", "/explore/", "/explore/?q=revenue", "/tags/finance/", "/u/ada/", "detail"]
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def compositions(monkeypatch) -> list[str]:
    """The pages composed (slot renderers run), by path."""
    composed: list[str] = []
    real = slots.compose

    def counting(request, html):
        composed.append(request.path)
        return real(request, html)

    monkeypatch.setattr(slots, "compose", counting)
    return composed


def url_of(page: str, workbook) -> str:
    return workbook.get_absolute_url() if page == "detail" else page


def visit(url: str, agent: str = BROWSER, **extra):
    """A new visitor: a client with no cookie."""
    response = Client().get(url, HTTP_USER_AGENT=agent, **extra)
    assert response.status_code == 200, url
    return response


def kept_for_visitors(name: str) -> int:
    """Entries kept for visitors of `name`."""
    pattern = re.compile(rf"gallery:visitor:{name}:")
    if settings.REDIS_URL:
        keys = cache._cache.get_client(write=False).scan_iter(match="*gallery:*")
        return sum(1 for key in keys if pattern.search(key.decode()))
    return sum(1 for key in cache._cache if pattern.search(key))


# --- The visitor's hit: no query, no composition ---------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_a_visitor_s_page_is_served_without_a_query_or_composing_it(
    gallery, one_minute, compositions, page
):
    url = url_of(page, gallery)
    visit(url)  # the workbook page: counting this view moves the gallery's version
    first = visit(url)
    compositions.clear()

    with CaptureQueriesContext(connection) as captured:
        again = visit(url)

    assert len(captured) == 0, [query["sql"] for query in captured]
    assert compositions == []
    assert again.content == first.content
    assert "<!--slot:" not in again.content.decode()
    assert "Sign in" in again.content.decode()
    assert set(again.headers) == set(first.headers)


class CountingCache:
    def __init__(self, real) -> None:
        self.real = real
        self.reads: list[str] = []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def get(self, *args, **kwargs):
        self.reads.append("get")
        return self.real.get(*args, **kwargs)

    def get_many(self, *args, **kwargs):
        self.reads.append("get_many")
        return self.real.get_many(*args, **kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/", "/u/ada/", "detail"])
def test_a_kept_page_is_served_with_one_cache_read(gallery, one_minute, monkeypatch, page):
    """The gallery's version, the copy and the tokens of what it depends on, read together."""
    url = url_of(page, gallery)
    for _ in range(3):  # kept, then served once: this process knows what it depends on
        visit(url)
    counting = CountingCache(gallery_cache.cache)
    monkeypatch.setattr(gallery_cache, "cache", counting)

    visit(url)

    assert counting.reads == ["get_many"]


@pytest.mark.django_db
def test_a_new_visitor_s_view_of_a_kept_workbook_page_is_counted(gallery, one_minute):
    url = gallery.get_absolute_url()
    visit(url)
    visit(url)

    with CaptureQueriesContext(connection) as captured:
        visit(url, agent=BROWSER + " another")

    assert len(captured) == 1  # the counted view, nothing else
    assert PendingView.objects.filter(workbook=gallery).count() == 2


@pytest.mark.django_db
def test_a_member_is_never_served_the_visitors_copy(gallery, one_minute, client):
    url = gallery.get_absolute_url()
    visit(url)
    visit(url)
    client.force_login(UserFactory(username="bob", full_name="Bob Stone"))

    page = client.get(url, HTTP_USER_AGENT=BROWSER).content.decode()

    assert 'action="/accounts/logout/"' in page
    assert "Sign in</a>" not in page


# --- What changes without the gallery's version shows at once --------------------------------------


@pytest.mark.django_db
def test_a_new_comment_shows_at_once_to_visitors(gallery, one_minute):
    grace = UserFactory(username="grace")  # before the page is kept: a new member is a new version
    url = gallery.get_absolute_url()
    visit(url)
    visit(url)

    comment = social_services.add_comment(grace, gallery, "Lovely breakdown by region")
    assert "Lovely breakdown by region" in visit(url).content.decode()

    social_services.edit_comment(grace, comment, "Lovely breakdown by quarter")
    page = visit(url).content.decode()
    assert "Lovely breakdown by quarter" in page
    assert "Lovely breakdown by region" not in page

    social_services.delete_comment(grace, comment)
    assert "Lovely breakdown by quarter" not in visit(url).content.decode()


@pytest.mark.django_db
def test_a_new_follower_and_a_new_bio_show_at_once_to_visitors(gallery, one_minute):
    ada, fan = gallery.author, UserFactory()
    visit("/u/ada/")
    assert "Analyst of engines" not in visit("/u/ada/").content.decode()

    account_services.update_profile(
        ada, full_name=ada.full_name, bio="Analyst of engines", website=ada.website
    )
    assert "Analyst of engines" in visit("/u/ada/").content.decode()

    assert 'data-follower-count="ada">0 followers<' in visit("/u/ada/").content.decode()
    social_services.follow(fan, ada)
    assert 'data-follower-count="ada">1 follower<' in visit("/u/ada/").content.decode()


@pytest.mark.django_db
def test_a_favorite_shows_at_once_in_the_count_visitors_see(gallery, one_minute):
    fan, url = UserFactory(), gallery.get_absolute_url()
    visit(url)
    assert ">0 favorites</span>" in visit(url).content.decode()

    social_services.favorite(fan, gallery)

    assert ">1 favorite</span>" in visit(url).content.decode()


def change_before_the_tokens_are_read(monkeypatch, change) -> None:
    """`change()` commits just before a visitor's miss reads the tokens of what its copy shows: after
    the view read the rows."""
    real = gallery_cache.depends_on

    def late(*objects):
        monkeypatch.setattr(gallery_cache, "depends_on", real)
        change()
        return real(*objects)

    monkeypatch.setattr(gallery_cache, "depends_on", late)


@pytest.mark.django_db
def test_a_favorite_made_while_a_visitor_s_copy_is_made_is_not_kept_stale(
    gallery, one_minute, monkeypatch
):
    fan, url = UserFactory(), gallery.get_absolute_url()
    visit(url)
    gallery_cache.gallery_changed()  # the next visit makes the copy anew
    change_before_the_tokens_are_read(monkeypatch, lambda: social_services.favorite(fan, gallery))

    visit(url)

    assert ">1 favorite</span>" in visit(url).content.decode()


@pytest.mark.django_db
def test_a_follow_made_while_a_visitor_s_copy_is_made_is_not_kept_stale(
    gallery, one_minute, monkeypatch
):
    ada, fan = gallery.author, UserFactory()
    change_before_the_tokens_are_read(monkeypatch, lambda: social_services.follow(fan, ada))

    visit("/u/ada/")

    assert 'data-follower-count="ada">1 follower<' in visit("/u/ada/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("shape", ["older", "newer", "not a tuple"])
def test_a_kept_entry_of_another_layout_is_a_miss_not_an_error(gallery, one_minute, shape):
    """A release that stores another layout under the same key (one still running beside this one,
    or a change that forgot to bump ENTRY_FORMAT) costs a rendering, never a 500."""
    url = gallery.get_absolute_url()
    visit(url)
    expected = visit(url).content
    entry_key = gallery_cache._visitor_key("workbook", gallery.slug)
    kept = cache.get(entry_key)
    assert isinstance(kept, tuple)
    other = {"older": kept[:-1], "newer": (*kept, "more"), "not a tuple": "<html>"}[shape]
    cache.set(entry_key, other)

    again = visit(url)

    assert again.content == expected
    kept_again = cache.get(entry_key)  # and kept again in the current layout
    assert isinstance(kept_again, tuple)
    assert len(kept_again) == len(kept)


def test_the_kept_entry_s_layout_is_in_its_key():
    key = gallery_cache._visitor_key("workbook", "revenue")

    assert f":v{gallery_cache.ENTRY_FORMAT}:" in key


# --- Nothing of one visitor's own is kept ---------------------------------------------------------


@pytest.mark.django_db
def test_a_visitor_s_csrf_token_is_never_served_to_another(gallery, one_minute, monkeypatch):
    # A slot that puts in a form's CSRF token (and so a cookie for this visitor) on the home page.
    def join_with_form(request, args, composition):
        return slots._RENDERERS["csrf"](request, args, composition)

    monkeypatch.setitem(slots._RENDERERS, "join", join_with_form)

    first, second = visit("/"), visit("/")

    tokens = [CSRF_INPUT.search(response.content.decode()).group(1) for response in (first, second)]
    assert tokens[0] != tokens[1]
    for response in (first, second):
        assert settings.CSRF_COOKIE_NAME in response.cookies
    assert kept_for_visitors("home") == 0


@pytest.mark.django_db
def test_the_host_a_visitor_came_through_is_not_in_the_copy_served_to_others(
    gallery, one_minute, monkeypatch, settings
):
    settings.ALLOWED_HOSTS = ["sigma.example", "10.0.0.5"]
    settings.SITE_URL = "https://sigma.example"

    def join_with_host(request, args, composition):
        return f'<a id="home" href="{request.build_absolute_uri("/")}">{request.get_host()}</a>'

    monkeypatch.setitem(slots._RENDERERS, "join", join_with_host)
    visit("/", HTTP_HOST="10.0.0.5")

    page = visit("/", HTTP_HOST="sigma.example").content.decode()

    assert kept_for_visitors("home") == 1
    assert "10.0.0.5" not in page
    assert '<a id="home" href="https://sigma.example/">sigma.example</a>' in page


# --- Bounded entries -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("home", "/?junk={}"),
        ("explore", "/explore/?q=revenue&utm_source={}"),
        ("workbook", "{workbook}?fbclid={}"),
        ("author", "/u/ada/?ref={}"),
    ],
)
def test_parameters_a_page_does_not_read_keep_nothing_for_visitors(
    gallery, one_minute, compositions, name, url
):
    for n in range(25):
        visit(url.format(n, workbook=gallery.get_absolute_url()))

    assert kept_for_visitors(name) == 0
    assert len(compositions) == 25  # each answered, composed for its own address

    canonical = url.split("?")[0].format(workbook=gallery.get_absolute_url())
    canonical += "?q=revenue" if name == "explore" else ""
    visit(canonical)
    assert kept_for_visitors(name) == 1


@pytest.mark.django_db
def test_a_copy_is_only_served_for_the_address_it_was_composed_for(gallery, one_minute):
    visit("/u/ada/")
    assert "next=/u/ada/%3Fpage%3D1" not in visit("/u/ada/").content.decode()

    # Keyed the same (one spelling of page 1), composed for its own address: its sign-in link
    # returns there.
    other = visit("/u/ada/?page=1").content.decode()

    assert "next=/u/ada/%3Fpage%3D1" in other
    assert kept_for_visitors("author") == 1


# --- SECRET_KEY changes, error pages ---------------------------------------------------------------


@pytest.fixture
def fresh_slot_token():
    slots._token.cache_clear()
    slots._pattern.cache_clear()
    yield
    slots._token.cache_clear()
    slots._pattern.cache_clear()


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/", "/tags/finance/", "detail"])
def test_a_page_kept_before_secret_key_changed_is_not_served_without_its_slots(
    gallery, one_minute, client, settings, fresh_slot_token, page
):
    url = url_of(page, gallery)
    bob = UserFactory(username="bob")
    client.force_login(bob)  # a member's request: the shared copy, composed per request
    assert client.get(url, HTTP_USER_AGENT=BROWSER).status_code == 200
    version = gallery_cache.version()

    settings.SECRET_KEY = "another-secret-key-" + "x" * 50
    slots._token.cache_clear()
    slots._pattern.cache_clear()
    client.force_login(bob)  # the session's hash changed with the key
    html = client.get(url, HTTP_USER_AGENT=BROWSER).content.decode()

    assert gallery_cache.version() == version  # only the key changed, not the gallery

    assert "<!--slot:" not in html
    assert 'action="/accounts/logout/"' in html


@pytest.mark.django_db
def test_slots_composed_one_by_one_run_the_context_processors_once(gallery, monkeypatch):
    """An error page answered before ComposeMiddleware fills in each slot as it renders."""
    runs = []
    real = slots._processed

    def counting(request):
        runs.append(request)
        return real(request)

    monkeypatch.setattr(slots, "_processed", counting)
    request = RequestFactory().get("/missing/")
    request.user = gallery.author
    request.session = SessionStore()
    request._messages = FallbackStorage(request)

    html = render_to_string("base.html", request=request)

    assert "<!--slot:" not in html
    assert len(runs) == 1


# --- API lists -------------------------------------------------------------------------------------


API_LISTS = ["/api/v1/workbooks/", "/api/v1/workbooks/?tag=finance", "/api/v1/users/ada/workbooks/"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", API_LISTS)
def test_an_api_list_is_answered_to_visitors_without_a_query(gallery, one_minute, url):
    first = Client().get(url)
    assert first.status_code == 200

    with CaptureQueriesContext(connection) as captured:
        again = Client().get(url)

    assert len(captured) == 0
    assert again.status_code == 200
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    assert set(again.headers) == set(first.headers)


@pytest.mark.django_db
def test_an_api_list_answered_to_a_member_is_never_served_to_visitors(gallery, one_minute):
    from accounts.tokens import issue_tokens

    bob = UserFactory(username="bob")
    social_services.favorite(bob, gallery)
    token = issue_tokens(bob).access
    signed_in = Client().get("/api/v1/workbooks/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert True in [item["is_favorited"] for item in signed_in.json()["results"]]

    anonymous = Client().get("/api/v1/workbooks/").json()["results"]

    assert [item["is_favorited"] for item in anonymous] == [False, False]
    # and the other way round: a member is not served the visitors' answer
    again = Client().get("/api/v1/workbooks/", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert True in [item["is_favorited"] for item in again["results"]]


@pytest.mark.django_db
def test_an_api_list_s_links_come_from_site_url_and_junk_keeps_nothing(
    gallery, one_minute, settings
):
    settings.ALLOWED_HOSTS = ["sigma.example", "10.0.0.5"]
    settings.SITE_URL = "https://sigma.example"
    for n in range(5):
        response = Client().get(f"/api/v1/workbooks/?page_size=1&junk={n}", HTTP_HOST="10.0.0.5")
        assert response.status_code == 200
    assert kept_for_visitors("api:workbooks") == 0

    Client().get("/api/v1/workbooks/?page_size=1", HTTP_HOST="10.0.0.5")
    served = Client().get("/api/v1/workbooks/?page_size=1", HTTP_HOST="sigma.example").json()

    assert kept_for_visitors("api:workbooks") == 1
    assert served["next"].startswith("https://sigma.example/api/v1/workbooks/?")
    assert "10.0.0.5" not in str(served)


@pytest.mark.django_db
def test_an_api_list_shows_a_change_to_the_gallery_at_once(gallery, one_minute):
    Client().get("/api/v1/workbooks/")
    services.update_workbook(gallery, title="Churn by cohort")

    titles = [item["title"] for item in Client().get("/api/v1/workbooks/").json()["results"]]

    assert "Churn by cohort" in titles


@pytest.mark.django_db
def test_a_draft_is_never_in_a_visitor_s_kept_list(gallery, one_minute):
    WorkbookFactory(author=gallery.author, title="Secret draft", status=Workbook.Status.DRAFT)
    Client().get("/api/v1/users/ada/workbooks/")

    body = Client().get("/api/v1/users/ada/workbooks/").content.decode()

    assert "Secret draft" not in body
