"""A member's first page of their feed and of their notifications is kept whole for them
(social.kept): a reload costs one cache read and the user, and every change the page shows retires
it at once. Each `shows_at_once` test fails if the token its change renews is not one the page
depends on."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import middleware
from social import kept, services
from social.models import Notification, Verb
from tests.cache_reads import count_cache_reads
from tests.factories import BROWSER, UserFactory, WorkbookFactory
from tests.workbooks.markup import page
from workbooks import cache as gallery_cache
from workbooks import services as workbook_services

PAGES = ["/feed/", "/notifications/"]
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture(autouse=True)
def one_minute(monkeypatch):
    """Entries are kept for the minute they were made in: the tests' requests share one."""
    monkeypatch.setattr(gallery_cache, "minute", lambda: 29_000_000)


@pytest.fixture
def reader(db):
    return UserFactory(username="reader")


@pytest.fixture
def ada(db):
    return UserFactory(username="ada", full_name="Ada Lovelace")


@pytest.fixture
def signed_in(client, reader, ada):
    """The reader follows Ada, who favorited a workbook; the reader has one notification."""
    services.follow(reader, ada)
    services.favorite(ada, WorkbookFactory(title="Revenue by region"))
    services.follow(ada, reader)  # a notification for the reader
    client.force_login(reader)
    client.get("/settings/")  # the session's first page: its cached copy is vouched for
    return client


def get(client, url):
    response = client.get(url, HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200
    return response


def rendered(response) -> bool:
    """Whether the view rendered the page (rather than answer from the kept copy)."""
    return any(
        t.name in ("social/feed.html", "social/notifications.html") for t in response.templates
    )


def feed_texts(response) -> list[str]:
    return [
        " ".join(item.find("p", class_="activity__text").text.split())
        for item in page(response).find_all("li", class_="activity__item")
    ]


def mark_all_read(response) -> list:
    return [form for form in page(response).find_all("form") if "data-mark-all-read" in form.attrs]


def unread(response) -> list:
    return page(response).find_all("li", class_="notification--unread")


def notification_texts(response) -> list[str]:
    items = page(response).find("ol", class_="notifications").find_all("li", class_="notification")
    return [" ".join(item.find("p", class_="notification__text").text.split()) for item in items]


@pytest.mark.parametrize("url", PAGES)
def test_a_reload_is_answered_from_the_kept_page_with_the_user_as_its_only_query(signed_in, url):
    first = get(signed_in, url)
    assert rendered(first)

    with CaptureQueriesContext(connection) as captured:
        again = get(signed_in, url)

    assert not rendered(again)
    assert len(captured) == 1, [query["sql"] for query in captured]  # the user
    assert "accounts_user" in captured[0]["sql"]
    # The very same page, but for the CSRF tokens, masked anew for each answer.
    assert CSRF_INPUT.sub("", again.content.decode()) == CSRF_INPUT.sub("", first.content.decode())
    assert "private" in again["Cache-Control"]


@pytest.mark.parametrize("url", PAGES)
def test_a_reload_is_one_cache_read(signed_in, monkeypatch, url):
    get(signed_in, url)
    get(signed_in, url)  # the tokens the page depends on are learned: read with the page from now
    reads = count_cache_reads(monkeypatch)

    assert not rendered(get(signed_in, url))

    assert reads == ["get_many"]  # the version, the page, its tokens, the session, the bell


@pytest.mark.parametrize("url", PAGES)
def test_a_wrong_guess_of_whose_the_session_is_never_serves_another_members_page(
    signed_in, reader, url
):
    someone = UserFactory(username="someone", full_name="Some One")
    client = Client()
    client.force_login(someone)
    get(client, url)
    get(signed_in, url)  # the reader's page is kept
    # This process's guess of whose the session is proves wrong (the member it knew signed out and
    # the cookie was given to another): the page read ahead is the reader's.
    session_key = client.cookies["sessionid"].value
    middleware._MEMBER_OF_SESSION[session_key] = reader.pk

    html = get(client, url).content.decode()

    assert "Ada Lovelace" not in html
    assert middleware.member_of(session_key) == someone.pk  # learned again


@pytest.mark.parametrize("url", PAGES)
def test_a_signed_out_session_gets_the_sign_in_not_the_kept_page(signed_in, url):
    get(signed_in, url)
    signed_in.post("/accounts/logout/")

    response = signed_in.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", PAGES)
def test_another_member_never_gets_the_kept_page(signed_in, url):
    get(signed_in, url)
    someone = UserFactory(username="someone", full_name="Some One")
    client = Client()
    client.force_login(someone)

    response = get(client, url)

    assert rendered(response)
    assert "Ada Lovelace" not in response.content.decode()


@pytest.mark.parametrize("url", PAGES)
def test_a_page_with_a_query_string_is_rendered_and_not_kept(signed_in, url):
    get(signed_in, f"{url}?junk=1")

    assert rendered(get(signed_in, f"{url}?junk=1"))
    assert rendered(get(signed_in, url))


@pytest.mark.parametrize("url", PAGES)
def test_a_new_minute_renders_the_page_again(signed_in, monkeypatch, url):
    get(signed_in, url)
    monkeypatch.setattr(gallery_cache, "minute", lambda: 29_000_001)

    assert rendered(get(signed_in, url))


@pytest.mark.parametrize("url", PAGES)
def test_the_kept_page_holds_no_csrf_token_nor_message(signed_in, url):
    signed_in.post("/notifications/muted/", {"muted": ["featured"]})  # leaves a message
    shown = get(signed_in, url).content.decode()
    assert "Your notification settings are saved." in shown
    assert "csrfmiddlewaretoken" in shown  # the page has forms: the token is put in per answer

    entry = cache.get(kept._entry_key(url.strip("/"), signed_in.session["_auth_user_id"]))

    content = entry[3].decode()
    assert "csrfmiddlewaretoken" not in content
    assert "Your notification settings are saved." not in content
    assert "Your notification settings are saved." not in get(signed_in, url).content.decode()


# --- The feed shows each change at once -------------------------------------------------------------


def test_the_feed_shows_a_favorite_by_someone_followed_at_once(signed_in, ada):
    workbook = WorkbookFactory(title="Churn cohorts")  # a new workbook: a new gallery version
    get(signed_in, "/feed/")

    services.favorite(ada, workbook)

    assert feed_texts(get(signed_in, "/feed/"))[0] == "Ada Lovelace favorited Churn cohorts"


def test_the_feed_shows_an_unfavorite_by_someone_followed_at_once(signed_in, ada):
    workbook = WorkbookFactory(title="Churn cohorts")
    services.favorite(ada, workbook)
    assert "Ada Lovelace favorited Churn cohorts" in feed_texts(get(signed_in, "/feed/"))

    services.unfavorite(ada, workbook)

    assert "Ada Lovelace favorited Churn cohorts" not in feed_texts(get(signed_in, "/feed/"))


def test_the_feed_shows_a_follow_by_someone_followed_at_once(signed_in, ada):
    grace = UserFactory(full_name="Grace Hopper")  # a member saved: a new gallery version
    get(signed_in, "/feed/")

    services.follow(ada, grace)

    assert feed_texts(get(signed_in, "/feed/"))[0] == "Ada Lovelace followed Grace Hopper"


def test_the_feed_shows_a_workbook_published_by_someone_followed_at_once(signed_in, ada):
    draft = WorkbookFactory(author=ada, title="Pipeline health", status="draft")
    get(signed_in, "/feed/")

    workbook_services.update_workbook(draft, status="published")

    assert feed_texts(get(signed_in, "/feed/"))[0] == "Ada Lovelace published Pipeline health"


def test_the_feed_shows_a_workbook_renamed_at_once(signed_in):
    get(signed_in, "/feed/")
    workbook = WorkbookFactory._meta.model.objects.get(title="Revenue by region")

    workbook_services.update_workbook(workbook, title="Revenue by country")

    assert "Ada Lovelace favorited Revenue by country" in feed_texts(get(signed_in, "/feed/"))


def test_the_feed_shows_the_members_own_follow_and_unfollow_at_once(signed_in, reader):
    grace = UserFactory(full_name="Grace Hopper")
    services.favorite(grace, WorkbookFactory(title="Compilers"))
    assert "Grace Hopper favorited Compilers" not in feed_texts(get(signed_in, "/feed/"))

    services.follow(reader, grace)
    assert feed_texts(get(signed_in, "/feed/"))[0] == "Grace Hopper favorited Compilers"

    services.unfollow(reader, grace)
    assert "Grace Hopper favorited Compilers" not in feed_texts(get(signed_in, "/feed/"))


def test_a_comment_by_someone_followed_shows_on_the_feed_at_once(signed_in, ada):
    workbook = WorkbookFactory(title="Churn cohorts")
    get(signed_in, "/feed/")

    services.add_comment(ada, workbook, "Nice cohorts.")

    # The commenter's token is renewed: the same minute, the page is made again.
    assert feed_texts(get(signed_in, "/feed/"))[0] == "Ada Lovelace commented on Churn cohorts"


def test_a_comment_leaves_the_commenters_profile_for_visitors_as_it_was(signed_in, ada):
    """The commenter's renewed token only retires their profile's copy kept for visitors: it is
    made again from the shared copy, and shows what it showed."""
    workbook = WorkbookFactory(title="Churn cohorts")  # a new gallery version: made before
    visitor = Client()
    profile = f"/u/{ada.username}/"
    before = visitor.get(profile, HTTP_USER_AGENT=BROWSER)
    assert before.status_code == 200
    assert not visitor.get(profile, HTTP_USER_AGENT=BROWSER).templates  # the kept copy

    services.add_comment(ada, workbook, "Nice cohorts.")

    after = visitor.get(profile, HTTP_USER_AGENT=BROWSER)
    assert after.status_code == 200
    assert after.content == before.content


def test_a_feed_depending_on_too_many_tokens_is_not_kept(signed_in, monkeypatch):
    monkeypatch.setattr(kept, "MAX_DEPENDS", 1)  # the reader's own token and Ada's: two
    get(signed_in, "/feed/")

    assert rendered(get(signed_in, "/feed/"))


# --- The notifications show each change at once -----------------------------------------------------


def test_a_new_notification_shows_at_once(signed_in, reader):
    grace = UserFactory(full_name="Grace Hopper")  # a member saved: a new gallery version
    get(signed_in, "/notifications/")

    services.follow(grace, reader)

    assert notification_texts(get(signed_in, "/notifications/"))[0] == (
        "Unread: Grace Hopper followed you"
    )


def test_a_retracted_notification_goes_at_once(signed_in, reader):
    grace = UserFactory(full_name="Grace Hopper")
    services.follow(grace, reader)
    assert "Unread: Grace Hopper followed you" in notification_texts(
        get(signed_in, "/notifications/")
    )

    services.unfollow(grace, reader)  # within the undo window: the notification goes

    assert "Unread: Grace Hopper followed you" not in notification_texts(
        get(signed_in, "/notifications/")
    )


def test_a_published_fan_out_shows_at_once(signed_in, reader, ada):
    workbook = WorkbookFactory(author=ada, title="Pipeline health")
    get(signed_in, "/notifications/")

    services.fan_out_published(workbook.pk)
    # The fan-out forgets the bells once its transaction commits.
    services.selectors.forget_bells([reader.pk])

    assert notification_texts(get(signed_in, "/notifications/"))[0] == (
        "Unread: Ada Lovelace published Pipeline health"
    )


def test_reading_shows_at_once(signed_in, reader):
    first = get(signed_in, "/notifications/")
    assert unread(first)
    assert mark_all_read(first)

    signed_in.post("/notifications/read/", {"all": "1"})

    again = get(signed_in, "/notifications/")
    assert unread(again) == []
    assert mark_all_read(again) == []
    assert Notification.objects.filter(recipient=reader, read=False).count() == 0


def test_reading_one_shows_at_once(signed_in, reader):
    assert unread(get(signed_in, "/notifications/"))
    one = Notification.objects.get(recipient=reader)

    signed_in.post("/notifications/read/", {"id": one.pk})

    assert unread(get(signed_in, "/notifications/")) == []


def test_the_muted_kinds_saved_by_the_service_show_at_once(signed_in, reader):
    """Any caller of the service (the API, the shell), not only the settings form, retires the
    kept page."""
    get(signed_in, "/notifications/")

    services.set_muted_verbs(reader, [Verb.FAVORITED])

    boxes = page(get(signed_in, "/notifications/")).find_all("input", name="muted")
    assert {box.attrs["value"] for box in boxes if "checked" in box.attrs} == {Verb.FAVORITED}


def test_the_muted_kinds_show_at_once(signed_in, reader):
    get(signed_in, "/notifications/")

    signed_in.post("/notifications/muted/", {"muted": [Verb.COMMENTED]})

    boxes = page(get(signed_in, "/notifications/")).find_all("input", name="muted")
    assert {box.attrs["value"] for box in boxes if "checked" in box.attrs} == {Verb.COMMENTED}


@pytest.mark.parametrize(
    ("url", "table"), [("/feed/", "social_activity"), ("/notifications/", "social_notification")]
)
def test_a_page_reads_only_the_columns_it_shows(signed_in, url, table):
    with CaptureQueriesContext(connection) as captured:
        get(signed_in, url)

    (rows,) = [query["sql"] for query in captured if f'FROM "{table}"' in query["sql"]]
    for unseen in ("password", "email", "description_html", "embed_url", "bio"):
        assert unseen not in rows


def test_every_form_of_a_kept_notifications_page_gets_the_members_csrf_token(signed_in, reader):
    for _ in range(2):
        services.notify(reader, UserFactory(), Verb.FOLLOWED)
    get(signed_in, "/notifications/")

    again = get(signed_in, "/notifications/")

    assert not rendered(again)
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', again.content.decode())
    # Three unread rows with a mark-read form each, "Mark all read", the muted kinds, signing out.
    assert len(tokens) == 6
    secret = signed_in.cookies["csrftoken"].value
    assert {_unmask_cipher_token(token) for token in tokens} == {secret}
