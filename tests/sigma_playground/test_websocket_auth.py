"""The websocket front door: origin check, then session or bearer-token authentication.

What the notifications consumer does with an anonymous or badly authenticated socket (close 4401) is in
tests/social/test_consumer.py.
"""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from accounts.tokens import issue_tokens
from sigma_playground.asgi import application

# Channels closes the thread's connection around each database call, which would end the test's
# wrapping transaction on PostgreSQL: these tests commit for real and flush afterwards.
pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/ws/notifications/"
OWN_ORIGIN = (b"origin", b"http://localhost:8000")
# All an accepted, signed-in socket is sent at first: its unread count (and no close).
WELCOME = [{"type": "websocket.send", "text": '{"type": "unread_count", "count": 0}'}]


def connect(headers):
    """Connect, and return (accepted, what the server sent in the first moments after the handshake)."""

    async def run():
        communicator = WebsocketCommunicator(application, PATH, headers=headers)
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
