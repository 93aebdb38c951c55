"""Sessions are read from a copy in the cache (accounts.sessions), so a member's page reads their row and
no session row; a copy the cache failed to forget never signs anyone in again: sign-out, a password
change and a deactivation end the session at its next request whatever the cache still holds."""

import pytest
import redis as redis_client
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.middleware import SessionMiddleware
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import connection
from django.db.models import F
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts import sessions
from accounts.middleware import AuthenticationMiddleware
from accounts.models import User
from tests.factories import PASSWORD
from tests.private_services import private_redis

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"
LOGOUT_URL = "/accounts/logout/"


def signed_in(client: Client) -> bool:
    response = client.get("/settings/")
    return response.status_code == 200


def copy_of(client: Client) -> Client:
    """Another browser holding the same cookies (a copied or stolen session cookie)."""
    other = Client()
    other.cookies = client.cookies.__class__(client.cookies)
    return other


@pytest.fixture
def member_client(client, user) -> Client:
    client.force_login(user)
    assert signed_in(client)  # the copy in the cache is made...
    assert signed_in(client)  # ...and used
    return client


@pytest.fixture
def deletes_fail(monkeypatch):
    """The cache keeps what it is asked to delete, as Redis does when the delete never reaches it."""

    def switch() -> None:
        monkeypatch.setattr(caches["default"], "delete", lambda *args, **kwargs: False)

    return switch


def test_a_members_page_reads_their_row_and_no_session_row(member_client):
    with CaptureQueriesContext(connection) as queries:
        response = member_client.get("/settings/")

    assert response.status_code == 200
    tables = " ".join(query["sql"] for query in queries.captured_queries)
    assert "django_session" not in tables
    assert "accounts_user" in tables


def test_a_sign_out_whose_cache_delete_failed_stays_signed_out(member_client, deletes_fail):
    thief = copy_of(member_client)
    deletes_fail()

    member_client.post(LOGOUT_URL)

    assert not signed_in(thief)
    assert not signed_in(member_client)


def test_a_password_change_ends_a_session_the_cache_still_holds(member_client, user, deletes_fail):
    deletes_fail()
    user.set_password("a brand new passphrase")
    user.save()

    assert not signed_in(member_client)


def test_a_deactivation_ends_a_session_the_cache_still_holds(member_client, user, deletes_fail):
    deletes_fail()
    user.is_active = False
    user.save()

    assert not signed_in(member_client)


def test_a_sign_out_leaves_the_members_other_sessions_signed_in(member_client, user):
    phone = Client()
    phone.force_login(user)
    assert signed_in(phone)

    member_client.post(LOGOUT_URL)

    assert signed_in(phone)
    assert not signed_in(member_client)


def test_a_signed_out_session_does_not_come_back_with_redis(tmp_path, settings, client, user):
    """Redis stopped while the member signs out, then started again with the copy still on disk."""
    with private_redis(tmp_path / "redis", appendonly=True) as server:
        settings.CACHES = {
            "default": {
                "BACKEND": "sigma_playground.cache.FailOpenRedisCache",
                "LOCATION": server.url,
                "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
            }
        }
        client.force_login(user)
        assert signed_in(client)
        assert signed_in(client)
        thief = copy_of(client)

        server.stop()
        client.post(LOGOUT_URL)
        server.start()
        caches["default"]._circuit.open_until = 0  # as RETRY_SECONDS later

        kept = redis_client.Redis.from_url(server.url).keys("*accounts.session:*")
        assert kept, "the copy the delete missed is back in Redis"
        assert not signed_in(thief)
        assert User.objects.get(pk=user.pk).session_fence > 0


def test_a_sign_in_whose_last_cache_write_failed_is_signed_in(client, user, monkeypatch):
    """Sign-in puts the data under a new key twice (the new key, then the member's data); if only the
    second write fails, no copy naming no member is left under the new key to show them signed out
    now and sign them in again once the cache forgets it."""
    backend = caches["default"]
    real_set = backend.set
    failed = {"last": False}

    def members_copy_fails(key, value, *args, **kwargs):
        if key.startswith(sessions.KEY_PREFIX) and SESSION_KEY in value[0]:
            failed["last"] = True
            return None
        failed["last"] = False
        return real_set(key, value, *args, **kwargs)

    monkeypatch.setattr(backend, "set", members_copy_fails)
    monkeypatch.setattr(sessions, "last_call_failed", lambda cache: failed["last"])
    response = client.post(LOGIN_URL, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    monkeypatch.setattr(backend, "set", real_set)  # the cache answers again

    assert signed_in(client)
    backend.delete(sessions.KEY_PREFIX + client.cookies["sessionid"].value)  # evicted
    assert signed_in(client)
    client.post(LOGOUT_URL)
    assert not signed_in(client)


def test_a_sign_in_over_an_ended_sessions_cookie_gets_a_new_session(
    member_client, user, monkeypatch
):
    """A cookie of a session that ended while the cache kept its copy (an old tab, or one planted):
    signing in with it is decided on what the database holds, so it gets a new key, not a 400."""
    old_key = member_client.cookies["sessionid"].value
    monkeypatch.setattr(caches["default"], "delete", lambda *args, **kwargs: False)
    member_client.post(LOGOUT_URL)
    monkeypatch.undo()

    browser = Client()
    browser.cookies["sessionid"] = old_key
    response = browser.post(LOGIN_URL, {"username": user.username, "password": PASSWORD})

    assert response.status_code == 302
    assert browser.cookies["sessionid"].value != old_key
    assert signed_in(browser)


def _through_the_middleware(client: Client):
    """A request with the client's session cookie, past the session and authentication middleware,
    where a view would get it."""
    request = RequestFactory().get("/")
    request.COOKIES["sessionid"] = client.cookies["sessionid"].value
    SessionMiddleware(lambda r: None).process_request(request)
    AuthenticationMiddleware(lambda r: None).process_request(request)
    return request


def test_a_session_write_made_before_the_user_is_looked_up_is_kept(member_client, user):
    # One of the member's other sessions ended: the copy this one reads is not vouched for any more.
    User.objects.filter(pk=user.pk).update(session_fence=F("session_fence") + 1)
    request = _through_the_middleware(member_client)

    request.session["cart"] = "kept"  # a view writes first...
    assert request.user.is_authenticated  # ...and the navigation looks the member up afterwards

    assert request.session.get("cart") == "kept"


def test_a_session_write_never_puts_a_stale_copy_over_the_row(member_client, user):
    key = member_client.cookies["sessionid"].value
    row = Session.objects.get(session_key=key)
    data = row.get_decoded()
    data["newer"] = "in the row only"  # written while the cache refused the copy's update...
    Session.objects.save(key, data, row.expire_date)
    User.objects.filter(pk=user.pk).update(
        session_fence=F("session_fence") + 1
    )  # ...so the fence moved
    request = _through_the_middleware(member_client)

    request.session["cart"] = "kept"  # a view writes, and never asks who is signed in
    request.session.save()

    saved = Session.objects.get(session_key=key).get_decoded()
    assert saved["newer"] == "in the row only"
    assert saved["cart"] == "kept"


def test_a_members_page_writes_no_row_while_the_cache_refuses_writes(member_client, monkeypatch):
    backend = caches["default"]
    monkeypatch.setattr(backend, "get", lambda key, default=None, version=None: default)
    monkeypatch.setattr(backend, "set", lambda *args, **kwargs: None)
    monkeypatch.setattr(sessions, "last_call_failed", lambda cache: True)

    writes = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            assert signed_in(member_client)
        writes += [
            q["sql"]
            for q in queries.captured_queries
            if "session_fence" in q["sql"] and q["sql"].startswith("UPDATE")
        ]

    assert writes == []
