"""The websocket front door: origin check, then session or bearer-token authentication."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tokens import issue_tokens
from sigma_playground.asgi import application
from social.consumers import CLOSE_UNAUTHENTICATED, user_group

# Channels closes the thread's connection around each database call, which would end the test's
# wrapping transaction on PostgreSQL: these tests commit for real and flush afterwards.
pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/ws/notifications/"
OWN_ORIGIN = (b"origin", b"http://localhost:8000")


def connect(headers):
    """Connect, and return (accepted, first message after the handshake or None)."""

    async def run():
        communicator = WebsocketCommunicator(application, PATH, headers=headers)
        connected, _ = await communicator.connect(timeout=3)
        output = None
        if connected and not await communicator.receive_nothing(timeout=0.2):
            output = await communicator.receive_output(timeout=1)
        await communicator.disconnect()
        return connected, output

    return async_to_sync(run)()


def session_cookie(client, user) -> tuple[bytes, bytes]:
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def bearer(token: str) -> tuple[bytes, bytes]:
    return (b"authorization", f"Bearer {token}".encode())


def test_it_closes_an_anonymous_socket_with_4401():
    connected, message = connect([OWN_ORIGIN])
    assert connected
    assert message == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


def test_it_closes_a_socket_with_a_bad_token_with_4401(user):
    for token in ["not-a-jwt", str(AccessToken.for_user(user))[:-4] + "AAAA"]:
        connected, message = connect([OWN_ORIGIN, bearer(token)])
        assert connected
        assert message == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


def test_it_refuses_a_refresh_token_on_the_handshake(user):
    _, message = connect([OWN_ORIGIN, bearer(issue_tokens(user).refresh)])
    assert message == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


def test_it_accepts_the_session_cookie(client, user):
    connected, message = connect([OWN_ORIGIN, session_cookie(client, user)])
    assert connected
    assert message is None  # stays open


def test_it_accepts_a_bearer_access_token_without_an_origin(user):
    connected, message = connect([bearer(issue_tokens(user).access)])
    assert connected
    assert message is None


def test_it_refuses_a_foreign_origin_even_with_a_valid_session(client, user):
    connected, _ = connect([(b"origin", b"https://evil.example"), session_cookie(client, user)])
    assert not connected


def test_it_refuses_an_origin_that_only_looks_like_ours(client, user):
    for origin in [b"http://localhost.evil.example", b"null", b"file://localhost"]:
        connected, _ = connect([(b"origin", origin), session_cookie(client, user)])
        assert not connected, origin


def test_an_authenticated_socket_receives_messages_sent_to_its_user_group(user):
    access = issue_tokens(user).access

    async def run():
        communicator = WebsocketCommunicator(
            application, PATH, headers=[OWN_ORIGIN, bearer(access)]
        )
        connected, _ = await communicator.connect(timeout=3)
        assert connected
        await get_channel_layer().group_send(
            user_group(user.pk),
            {"type": "push.message", "message": {"type": "unread_count", "count": 3}},
        )
        received = await communicator.receive_json_from(timeout=2)
        await communicator.disconnect()
        return received

    assert async_to_sync(run)() == {"type": "unread_count", "count": 3}
