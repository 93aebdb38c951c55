"""A notifications socket lives no longer than the sign-in it was opened with: it closes with 4401 when
that session signs out, when the member's password changes or the account is deactivated (by any path:
accounts.signals.sign_ins_ended), and, at the next periodic re-check, when the session expired or a
message saying so never arrived. On the in-memory channel layer; over Redis and a real server in
test_consumer_redis.py, the same for the event stream in test_stream.py.
"""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from sigma_playground.asgi import application
from social import consumers, push
from social.consumers import CLOSE_UNAUTHENTICATED, user_group
from social.hub import hub
from tests.factories import UserFactory
from tests.social.realtime import (
    OWN_HOST,
    OWN_ORIGIN,
    PATH,
    anotify,
    open_socket,
    receive_all,
    resume_from_now,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("in_memory_layer")]

CLOSED = {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


@pytest.fixture
def follower(db):
    return UserFactory(username="follower")


def signed_in_browser(user) -> tuple[Client, tuple[bytes, bytes]]:
    """A browser with a session of its own, and the cookie header its handshake sends."""
    browser = Client()
    browser.force_login(user)
    return browser, (b"cookie", f"sessionid={browser.cookies['sessionid'].value}".encode())


async def session_socket(cookie: tuple[bytes, bytes]) -> WebsocketCommunicator:
    """A socket opened with a session cookie, past the unread count it is sent on connect and a
    resume from now (it goes live once that is answered)."""
    communicator = WebsocketCommunicator(application, PATH, headers=[OWN_HOST, OWN_ORIGIN, cookie])
    connected, _ = await communicator.connect(timeout=3)
    assert connected
    assert (await communicator.receive_json_from(timeout=3))["type"] == "unread_count"
    await resume_from_now(communicator)
    return communicator


async def still_open(communicator: WebsocketCommunicator) -> bool:
    """Nothing arrives unasked, and a ping is answered."""
    if not await communicator.receive_nothing(timeout=0.3):
        return False
    await communicator.send_json_to({"type": "ping"})
    return await communicator.receive_output(timeout=2) == {
        "type": "websocket.send",
        "text": '{"type": "pong"}',
    }


@database_sync_to_async
def change_password(user) -> None:
    """As the admin's set-password form does it: a save, nothing else."""
    user.set_password("a-brand-new-passphrase")
    user.save()


@database_sync_to_async
def deactivate(user) -> None:
    member = User.objects.get(pk=user.pk)
    member.is_active = False
    member.save()


def group_size(user) -> int:
    return len(get_channel_layer().groups.get(user_group(user.pk), {}))


def test_signing_out_closes_the_sockets_of_that_session_and_no_other(owner, follower):
    leaving, leaving_cookie = signed_in_browser(owner)
    _, staying_cookie = signed_in_browser(owner)

    async def run():
        leaving_socket = await session_socket(leaving_cookie)
        staying_socket = await session_socket(staying_cookie)
        await sync_to_async(leaving.post)(reverse("accounts:logout"))
        closed = await leaving_socket.receive_output(timeout=2)
        in_group_after = group_size(owner)
        other_stays = await still_open(staying_socket)
        await anotify(owner, follower)
        heard = await receive_all(staying_socket)
        await leaving_socket.disconnect()
        await staying_socket.disconnect()
        return closed, in_group_after, other_stays, heard

    closed, in_group_after, other_stays, heard = async_to_sync(run)()

    assert closed == CLOSED
    assert in_group_after == 1  # the closed socket left the member's group at once
    assert other_stays
    assert [m["type"] for m in heard] == ["notification", "unread_count"]


def test_a_socket_closed_by_the_server_lets_go_of_the_members_group(owner):
    """The socket closes itself (4401 here) and the process's hub forgets it: with the member's
    last connection gone it leaves their group, as when the client closes."""
    browser, cookie = signed_in_browser(owner)

    async def run():
        socket = await session_socket(cookie)
        await sync_to_async(browser.post)(reverse("accounts:logout"))
        closed = await socket.receive_output(timeout=2)
        await asyncio.sleep(0.2)  # the hub leaves the group in a task of its own
        held = owner.pk in hub().members
        in_group_after = group_size(owner)
        await socket.disconnect()
        return closed, held, in_group_after

    closed, held, in_group_after = async_to_sync(run)()

    assert closed == CLOSED
    assert not held
    assert in_group_after == 0


@pytest.mark.parametrize("end_sign_ins", [change_password, deactivate])
def test_a_password_change_or_deactivation_closes_the_members_session_and_token_sockets(
    owner, outsider, end_sign_ins
):
    _, cookie = signed_in_browser(owner)
    _, outsider_cookie = signed_in_browser(outsider)

    async def run():
        by_session = await session_socket(cookie)
        by_token = await open_socket(owner)
        someone_else = await session_socket(outsider_cookie)
        await end_sign_ins(owner)
        closed = [
            await by_session.receive_output(timeout=2),
            await by_token.receive_output(timeout=2),
        ]
        others_stay = await still_open(someone_else)
        for communicator in (by_session, by_token, someone_else):
            await communicator.disconnect()
        return closed, others_stay

    closed, others_stay = async_to_sync(run)()

    assert closed == [CLOSED, CLOSED]
    assert others_stay


def expire_sessions(user) -> None:
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))


def change_password_unheard(user, monkeypatch) -> None:
    """A password change whose message to the sockets was lost (Redis down for a moment)."""
    monkeypatch.setattr(push, "sign_ins_ended", lambda user_id: None)
    async_to_sync(change_password)(user)


@pytest.mark.parametrize("end_quietly", ["session expired", "message lost"])
def test_a_socket_whose_session_ended_unannounced_closes_at_the_next_check(
    owner, monkeypatch, end_quietly
):
    monkeypatch.setattr(consumers, "AUTH_RECHECK_SECONDS", 0.2)
    _, cookie = signed_in_browser(owner)

    async def run():
        socket = await session_socket(cookie)
        opened_fine = await still_open(socket)  # the checks so far found the session good
        if end_quietly == "session expired":
            await database_sync_to_async(expire_sessions)(owner)
        else:
            await sync_to_async(change_password_unheard)(owner, monkeypatch)
        closed = await socket.receive_output(timeout=2)
        await socket.disconnect()
        return opened_fine, closed

    opened_fine, closed = async_to_sync(run)()

    assert opened_fine
    assert closed == CLOSED


def test_sockets_whose_sign_in_holds_stay_open_through_the_checks(owner, follower, monkeypatch):
    monkeypatch.setattr(consumers, "AUTH_RECHECK_SECONDS", 0.1)
    _, cookie = signed_in_browser(owner)

    async def run():
        by_session = await session_socket(cookie)
        by_token = await open_socket(owner)
        await anotify(owner, follower)
        heard = [await receive_all(by_session, quiet=0.8), await receive_all(by_token, quiet=0.8)]
        for communicator in (by_session, by_token):
            await communicator.disconnect()
        return heard

    for messages in async_to_sync(run)():
        assert [m["type"] for m in messages] == ["notification", "unread_count"]
