"""A member's page served from the shared copy reads the copy, the gallery's version, their session's
copy and their bell in one cache read (workbooks.cache.shared); what is read ahead is used only for
the member it was read for, and a session ended meanwhile stays ended."""

import pytest
from django.core.cache import caches
from django.test import Client

from accounts import middleware
from social import services
from social.models import Verb
from tests.cache_reads import count_cache_reads
from tests.factories import BROWSER, UserFactory, WorkbookFactory
from tests.pages import member_client as signed_in
from workbooks import cache as gallery_cache

pytestmark = pytest.mark.django_db

SHARED_PAGES = ["/", "/explore/", "/explore/?q=revenue", "/tags/finance/"]


@pytest.fixture(autouse=True)
def one_minute(monkeypatch):
    """Keys change every minute: a test counting reads must not see two minutes."""
    monkeypatch.setattr(gallery_cache, "minute", lambda: 29_000_000)


@pytest.fixture
def gallery():
    ada = UserFactory(username="ada", full_name="Ada Lovelace")
    return WorkbookFactory(author=ada, title="Revenue by region", tags=["finance"])


def html_of(client: Client, url: str) -> str:
    response = client.get(url, HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200, url
    return response.content.decode()


def unread_shown(html: str) -> str:
    return html.split('data-unread="', 1)[1].split('"', 1)[0]


@pytest.fixture
def cache_reads(monkeypatch):
    """Call it to start counting the default cache's reads (`count_cache_reads`)."""
    return lambda: count_cache_reads(monkeypatch)


@pytest.mark.parametrize("url", SHARED_PAGES)
def test_a_members_shared_page_is_one_cache_read(gallery, cache_reads, url):
    client = signed_in(UserFactory())
    html_of(client, url)  # the copy is made, and this process learns whose the session is
    reads = cache_reads()

    html = html_of(client, url)

    assert "notification-bell" in html
    assert reads == ["get_many"]


def test_a_notification_shows_on_the_members_next_shared_page(gallery):
    member = UserFactory()
    client = signed_in(member)
    assert unread_shown(html_of(client, "/")) == "0"

    services.notify(member, UserFactory(), Verb.FOLLOWED)

    assert unread_shown(html_of(client, "/")) == "1"


def test_a_bell_read_ahead_for_another_member_is_not_shown(gallery):
    member, other = UserFactory(), UserFactory()
    services.notify(other, UserFactory(), Verb.FOLLOWED)
    assert unread_shown(html_of(signed_in(other), "/")) == "1"  # the other's bell, kept
    client = signed_in(member)
    html_of(client, "/")
    # This process's guess of whose the session is proves wrong (the member it knew signed out
    # and this cookie was given to another): the bell read ahead is the other's.
    session_key = client.cookies["sessionid"].value
    middleware._MEMBER_OF_SESSION[session_key] = other.pk

    html = html_of(client, "/")

    assert unread_shown(html) == "0"
    assert middleware.member_of(session_key) == member.pk  # learned again


def test_a_session_ended_while_the_cache_kept_its_copy_is_signed_out_on_a_shared_page(
    gallery, monkeypatch
):
    member = UserFactory()
    client = signed_in(member)
    thief = Client()
    thief.cookies = client.cookies.__class__(client.cookies)
    assert "Sign out" in html_of(thief, "/")
    monkeypatch.setattr(caches["default"], "delete", lambda *args, **kwargs: False)

    client.post("/accounts/logout/")

    html = html_of(thief, "/")
    assert "Sign out" not in html
    assert "Sign in" in html


def test_the_comment_form_kept_per_process_carries_each_viewers_own_token(gallery):
    """The section around the comments is rendered once per workbook and address; the token in
    its form is the viewer's, accepted when they post, and the form posts to its own workbook."""
    other = WorkbookFactory(title="Churn by cohort")
    for member in (UserFactory(), UserFactory()):
        client = Client(enforce_csrf_checks=True)
        client.force_login(member)
        for workbook in (gallery, other):
            html = html_of(client, workbook.get_absolute_url())
            form = html.split('<form class="comment-form"', 1)[1].split("</form>", 1)[0]
            assert f'action="/w/{workbook.slug}/comments/"' in form
            token = form.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]

            response = client.post(
                f"/w/{workbook.slug}/comments/",
                {"body": "Which regions?", "csrfmiddlewaretoken": token},
            )

            assert response.status_code == 302
    assert gallery.comments.count() == other.comments.count() == 2


# --- The shared copy kept for members by address (workbooks.cache.for_member) ----------------------


def kept_for_members(client: Client, url: str) -> str:
    """The page seen three times: the shared copy made, then kept for members by its address (with
    the tokens read before the rows), then served from there."""
    for _ in range(3):
        html = html_of(client, url)
    return html


def profile_url(gallery) -> str:
    return f"/u/{gallery.author.username}/"


@pytest.mark.parametrize("page", ["workbook", "profile"])
def test_a_members_reload_reads_only_their_own_row(gallery, cache_reads, page):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = gallery.get_absolute_url() if page == "workbook" else profile_url(gallery)
    client = signed_in(UserFactory())
    kept_for_members(client, url)
    reads = cache_reads()

    with CaptureQueriesContext(connection) as captured:
        html = html_of(client, url)

    assert "Revenue by region" in html
    sql = [query["sql"] for query in captured.captured_queries]
    assert len(sql) == 1, sql
    assert '"accounts_user"' in sql[0], sql
    # The copy with the session, the bell, the viewer's buttons and the workbook's comments (the
    # keys of what this process last composed the copy with): one round trip.
    assert reads == ["get_many"]


def test_a_favorite_by_another_member_shows_at_once_on_a_kept_workbook_page(gallery):
    from social import services as social_services

    other = UserFactory()  # made first: a new member changes the gallery's version
    client = signed_in(UserFactory())
    url = gallery.get_absolute_url()
    assert "0 favorites" in kept_for_members(client, url)

    social_services.favorite(other, gallery)

    assert "1 favorite<" in html_of(client, url)


def test_a_comment_by_another_member_shows_at_once_on_a_kept_workbook_page(gallery):
    """A comment changes the workbook's token, not the gallery's version."""
    from social import services as social_services

    other = UserFactory()  # made first: a new member changes the gallery's version
    client = signed_in(UserFactory())
    url = gallery.get_absolute_url()
    assert "0 comments" in kept_for_members(client, url)

    social_services.add_comment(other, gallery, "Which regions?")

    html = html_of(client, url)
    assert "1 comment<" in html
    assert "Which regions?" in html


def test_a_follow_of_the_author_shows_at_once_on_their_kept_profile(gallery):
    from social import services as social_services

    other = UserFactory()  # made first: a new member changes the gallery's version
    client = signed_in(UserFactory())
    url = profile_url(gallery)
    assert "0 followers" in kept_for_members(client, url)

    social_services.follow(other, gallery.author)

    assert "1 follower<" in html_of(client, url)


def test_an_edit_and_an_unpublish_show_at_once_on_a_kept_workbook_page(gallery):
    from workbooks import services as workbook_services

    client = signed_in(UserFactory())
    url = gallery.get_absolute_url()
    kept_for_members(client, url)

    workbook_services.update_workbook(gallery, title="Revenue by country")
    assert "Revenue by country" in html_of(client, url)

    workbook_services.unpublish(type(gallery).objects.filter(pk=gallery.pk))
    assert client.get(url, HTTP_USER_AGENT=BROWSER).status_code == 404


def test_the_author_and_a_moderator_get_their_own_controls_over_a_kept_copy(gallery):
    from tests.factories import ModeratorFactory

    url = gallery.get_absolute_url()
    kept_for_members(signed_in(UserFactory()), url)

    for reader in (gallery.author, ModeratorFactory()):
        html = html_of(signed_in(reader), url)
        assert f'href="/w/{gallery.slug}/edit/"' in html, reader

    draft = WorkbookFactory(author=gallery.author, title="Unfinished forecast", status="draft")
    kept_for_members(signed_in(UserFactory()), profile_url(gallery))
    own = html_of(signed_in(gallery.author), profile_url(gallery))
    assert draft.title in own
    assert "Edit profile" in own


def favorite_shown(html: str) -> str:
    return html.split('class="button fav-button" aria-pressed="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize("page", ["workbook", "profile"])
def test_a_reload_reads_the_buttons_and_comments_with_the_copy_once_per_page(
    gallery, cache_reads, page
):
    """The guess of what a copy's kept parts are is per copy: a page showing other buttons reads
    what it does not hold after the copy, as before, and shows them right."""
    url = gallery.get_absolute_url() if page == "workbook" else profile_url(gallery)
    other = WorkbookFactory(author=UserFactory(), title="Churn by cohort")
    client = signed_in(UserFactory())
    kept_for_members(client, url)
    kept_for_members(client, other.get_absolute_url())
    reads = cache_reads()

    html_of(client, url)
    html_of(client, other.get_absolute_url())

    assert reads == ["get_many", "get_many"]


def test_the_state_read_ahead_for_another_member_is_not_shown(gallery):
    """The buttons' state is read with the copy for the member this process guesses the session
    is; a wrong guess (the other member's state, favorited) is not used."""
    from social import services as social_services

    member, other = UserFactory(), UserFactory()
    url = gallery.get_absolute_url()
    social_services.favorite(other, gallery)
    assert favorite_shown(kept_for_members(signed_in(other), url)) == "true"
    client = signed_in(member)
    assert favorite_shown(kept_for_members(client, url)) == "false"
    session_key = client.cookies["sessionid"].value
    middleware._MEMBER_OF_SESSION[session_key] = other.pk

    assert favorite_shown(html_of(client, url)) == "false"


@pytest.mark.parametrize("page", ["home", "workbook", "profile"])
def test_a_member_sending_back_their_csrf_cookie_keeps_its_secret(gallery, page):
    """What the benchmark's member does, as a browser: the CSRF cookie the first page set is sent
    back, and a page from the shared copy makes no new secret (Django sends the same cookie again,
    to renew its expiry)."""
    from django.middleware.csrf import _unmask_cipher_token

    url = {"home": "/", "workbook": gallery.get_absolute_url(), "profile": profile_url(gallery)}
    client = signed_in(UserFactory())
    html_of(client, "/")
    secret = client.cookies["csrftoken"].value
    kept_for_members(client, url[page])

    response = client.get(url[page], HTTP_USER_AGENT=BROWSER)

    assert response.cookies["csrftoken"].value == secret
    html = response.content.decode()
    token = html.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    assert _unmask_cipher_token(token) == secret
