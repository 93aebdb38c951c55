"""The websocket front door: origin check, then session or bearer-token authentication.

The origin rule is Django's CSRF one: the Origin must be exactly `scheme://host[:port]` of the handshake
(the Host allowed by ALLOWED_HOSTS, the scheme https when the connection is secure), or one of
CSRF_TRUSTED_ORIGINS.

What the notifications consumer does with an anonymous or badly authenticated socket (close 4401) is in
tests/social/test_consumer.py.
"""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from accounts.tokens import issue_tokens
from sigma_playground.asgi import application
from sigma_playground.websocket import origin_is_allowed

# Channels closes the thread's connection around each database call, which would end the test's
# wrapping transaction on PostgreSQL: these tests commit for real and flush afterwards.
pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/ws/notifications/"
OWN_HOST = (b"host", b"localhost:8000")
OWN_ORIGIN = (b"origin", b"http://localhost:8000")
SITE = "playground.example"  # a production-like site, served over https
# All an accepted, signed-in socket is sent at first: its unread count (and no close).
WELCOME = [{"type": "websocket.send", "text": '{"type": "unread_count", "count": 0}'}]


def connect(headers, *, host=OWN_HOST, scheme="ws"):
    """Connect, and return (accepted, what the server sent in the first moments after the handshake)."""

    async def run():
        communicator = WebsocketCommunicator(application, PATH, headers=[host, *headers])
        # As an ASGI server says whether the handshake came over TLS; the application reads the
        # scope only once the connection starts.
        communicator.scope["scheme"] = scheme
        connected, _ = await communicator.connect(timeout=3)
        outputs = []
        while connected and not await communicator.receive_nothing(timeout=0.3):
            outputs.append(await communicator.receive_output(timeout=1))
        await communicator.disconnect()
        return connected, outputs

    return async_to_sync(run)()


def session_cookie(client, user) -> tuple[bytes, bytes]:
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def bearer(token: str) -> tuple[bytes, bytes]:
    return (b"authorization", f"Bearer {token}".encode())


def test_it_accepts_the_session_cookie(client, user):
    connected, outputs = connect([OWN_ORIGIN, session_cookie(client, user)])
    assert connected
    assert outputs == WELCOME


def test_it_accepts_a_bearer_access_token_without_an_origin(user):
    connected, outputs = connect([bearer(issue_tokens(user).access)])
    assert connected
    assert outputs == WELCOME


def test_it_refuses_a_foreign_origin_even_with_a_valid_session(client, user):
    connected, _ = connect([(b"origin", b"https://evil.example"), session_cookie(client, user)])
    assert not connected


def test_it_refuses_an_origin_that_only_looks_like_ours(client, user):
    for origin in [b"http://localhost.evil.example", b"null", b"file://localhost"]:
        connected, _ = connect([(b"origin", origin), session_cookie(client, user)])
        assert not connected, origin


def origin(value: str) -> tuple[bytes, bytes]:
    return (b"origin", value.encode())


@pytest.fixture
def https_site(settings):
    """The site at https://playground.example, with the address its health checks use allowed too."""
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [SITE, "127.0.0.1"]
    settings.CSRF_TRUSTED_ORIGINS = []
    settings.SECURE_PROXY_SSL_HEADER = None


def site_handshake(origin_value: str, **scope) -> bool:
    """Does the origin check pass a handshake that reached https://playground.example?"""
    return origin_is_allowed(
        origin_value,
        {"type": "websocket", "scheme": "wss", "headers": [(b"host", SITE.encode())], **scope},
    )


def test_it_refuses_another_port_of_an_allowed_host_on_an_https_site(https_site, client, user):
    cookie = session_cookie(client, user)
    for foreign in ["http://127.0.0.1:1", f"https://{SITE}:8443", f"https://{SITE}:443"]:
        connected, _ = connect(
            [origin(foreign), cookie], host=(b"host", SITE.encode()), scheme="wss"
        )
        assert not connected, foreign


def test_it_refuses_the_http_origin_of_an_https_site(https_site, client, user):
    connected, _ = connect(
        [origin(f"http://{SITE}"), session_cookie(client, user)],
        host=(b"host", SITE.encode()),
        scheme="wss",
    )
    assert not connected


def test_it_accepts_the_https_sites_own_origin(https_site, client, user):
    connected, outputs = connect(
        [origin(f"https://{SITE}"), session_cookie(client, user)],
        host=(b"host", SITE.encode()),
        scheme="wss",
    )
    assert connected
    assert outputs == WELCOME


def test_it_refuses_the_https_origin_on_a_plain_connection(https_site):
    # Our https pages never open a socket over plain ws: a page that does is someone else's.
    assert not site_handshake(f"https://{SITE}", scheme="ws")


def test_it_takes_the_scheme_from_the_proxy_only_when_told_to_trust_it(https_site, settings):
    forwarded = {
        "scheme": "ws",
        "headers": [(b"host", SITE.encode()), (b"x-forwarded-proto", b"https")],
    }
    assert not site_handshake(f"https://{SITE}", **forwarded)

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert site_handshake(f"https://{SITE}", **forwarded)
    assert not site_handshake(f"http://{SITE}", **forwarded)


def test_it_refuses_an_origin_matching_a_host_that_is_not_allowed(https_site):
    # A rebound DNS name: the page and the handshake both say evil.example, which is not our name.
    rebound = {"headers": [(b"host", b"evil.example")]}
    assert not site_handshake("https://evil.example", **rebound)


def test_it_refuses_when_the_handshake_names_no_host(https_site):
    assert not site_handshake(f"https://{SITE}", headers=[])


def test_it_accepts_csrf_trusted_origins_exactly(https_site, settings, client, user):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.partner.example", "https://*.tools.example"]

    connected, _ = connect(
        [origin("https://app.partner.example"), session_cookie(client, user)],
        host=(b"host", SITE.encode()),
        scheme="wss",
    )
    assert connected
    assert site_handshake("https://dash.tools.example")
    for near_miss in [
        "http://app.partner.example",
        "https://app.partner.example:8443",
        "https://partner.example",
        "http://dash.tools.example",
        "https://tools.example.evil.example",
    ]:
        assert not site_handshake(near_miss), near_miss


def test_in_development_it_accepts_the_dev_servers_own_origin_and_no_other_port(client, user):
    cookie = session_cookie(client, user)
    dev_host = (b"host", b"127.0.0.1:8000")

    accepted, _ = connect([origin("http://127.0.0.1:8000"), cookie], host=dev_host)
    other_port, _ = connect([origin("http://127.0.0.1:1"), cookie], host=dev_host)

    assert accepted
    assert not other_port
