"""Sessions are read from a copy in the cache (accounts.sessions), so a member's page reads their row and
no session row; a copy the cache failed to forget never signs anyone in again: sign-out, a password
change and a deactivation end the session at its next request whatever the cache still holds."""

import pytest
import redis as redis_client
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from tests.private_services import private_redis

pytestmark = pytest.mark.django_db

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
