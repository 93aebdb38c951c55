"""Realtime figures: the open websockets and event streams of the process, the notifications pushed
on them and how long after their making, the resumes served, and the pushes the channel layer
would not take."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from sigma_playground.asgi import application
from social import push
from social.consumers import CLOSE_UNAUTHENTICATED, user_group
from social.models import Notification
from tests.factories import UserFactory
from tests.observability.conftest import value
from tests.social.realtime import (
    OWN_HOST,
    OWN_ORIGIN,
    PATH,
    STREAM_PATH,
    StreamClient,
    access,
    bearer,
    notification_ids,
    notify,
    open_socket,
    push_each,
    receive_all,
    save_unpushed,
    use_in_memory_layer,
)

# Channels closes the thread's connection around each database call: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _in_memory_layer(settings):
    use_in_memory_layer(settings)


@pytest.fixture
def follower(db):
    return UserFactory(username="follower")


def open_connections(kind: str) -> float:
    return value("realtime_connections", kind=kind)


@database_sync_to_async
def made_seconds_ago(ids: list[int], seconds: float) -> None:
    Notification.objects.filter(pk__in=ids).update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )


# --- Websockets -----------------------------------------------------------------------------------


def test_an_open_websocket_is_counted_until_it_closes(user):
    before = open_connections("websocket")

    async def run():
        first, second = await open_socket(user), await open_socket(user)
        both = open_connections("websocket")
        await first.disconnect()
        one = open_connections("websocket")
        await second.disconnect()
        return both, one

    both, one = async_to_sync(run)()

    assert (both, one) == (before + 2, before + 1)
    assert open_connections("websocket") == before


def test_a_websocket_closed_by_the_server_is_no_longer_counted(user):
    before = open_connections("websocket")

    async def run():
        # Anonymous: accepted, then closed at once with 4401.
        anonymous = WebsocketCommunicator(application, PATH, headers=[OWN_HOST, OWN_ORIGIN])
        assert (await anonymous.connect(timeout=3))[0]
        assert (await anonymous.receive_output(timeout=2))["type"] == "websocket.close"
        await anonymous.wait(timeout=2)

        communicator = await open_socket(user)
        while_open = open_connections("websocket")
        # Every sign-in of the member ended (a password change): the server closes with 4401.
        await get_channel_layer().group_send(user_group(user.pk), {"type": "auth.sign_ins_ended"})
        closed = await communicator.receive_output(timeout=3)
        await communicator.wait(timeout=3)
        return while_open, closed

    while_open, closed = async_to_sync(run)()

    assert closed == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}
    assert while_open == before + 1
    assert open_connections("websocket") == before


def test_a_notification_pushed_to_a_websocket_is_counted_with_its_lag(user, follower):
    pushed = value("notifications_pushed_total", kind="websocket")
    lags = value("notification_push_lag_seconds_count", kind="websocket")
    lag_sum = value("notification_push_lag_seconds_sum", kind="websocket")

    async def run():
        communicator = await open_socket(user)
        ids = await save_unpushed(user, follower)
        await made_seconds_ago(ids, 5)  # made, then pushed five seconds later
        await push_each(ids)
        received = await receive_all(communicator)
        await communicator.disconnect()
        return ids, received

    ids, received = async_to_sync(run)()

    assert notification_ids(received) == ids
    assert value("notifications_pushed_total", kind="websocket") == pushed + 1
    assert value("notification_push_lag_seconds_count", kind="websocket") == lags + 1
    assert 5 <= value("notification_push_lag_seconds_sum", kind="websocket") - lag_sum < 30


def test_a_websocket_resume_is_counted(user, follower):
    resumes = value("realtime_resumes_total", kind="websocket")
    pushed = value("notifications_pushed_total", kind="websocket")
    missed = [notify(user, follower) for _ in range(2)]

    async def run():
        communicator = await open_socket(user, resume=False)
        await communicator.send_json_to({"type": "resume", "after": 0})
        received = await receive_all(communicator)
        await communicator.disconnect()
        return received

    assert notification_ids(async_to_sync(run)()) == missed
    assert value("realtime_resumes_total", kind="websocket") == resumes + 1
    # Read back from the table, not pushed.
    assert value("notifications_pushed_total", kind="websocket") == pushed


# --- Event streams --------------------------------------------------------------------------------


def test_an_event_stream_is_counted_open_its_resume_and_pushes_counted(user, follower):
    before = open_connections("stream")
    resumes = value("realtime_resumes_total", kind="stream")
    pushed = value("notifications_pushed_total", kind="stream")
    lags = value("notification_push_lag_seconds_count", kind="stream")
    missed = notify(user, follower)

    async def run():
        # Opened with no last id: nothing missed to serve, no resume.
        fresh = await StreamClient(STREAM_PATH, [bearer(access(user))]).start()
        await fresh.read_until("event: unread_count")
        await fresh.hang_up()
        # Reconnecting with the last id it saw: served what it missed since.
        client = StreamClient(
            STREAM_PATH, [bearer(access(user)), (b"last-event-id", str(missed - 1).encode())]
        )
        await client.start()
        await client.read_until("event: unread_count")
        while_open = open_connections("stream")
        ids = await save_unpushed(user, follower)
        await push_each(ids)
        await client.read_until(f"id: {ids[0]}")
        await client.hang_up()
        return while_open, client.body

    while_open, body = async_to_sync(run)()

    assert f"id: {missed}" in body
    assert while_open == before + 1
    assert open_connections("stream") == before
    assert value("realtime_resumes_total", kind="stream") == resumes + 1
    assert value("notifications_pushed_total", kind="stream") == pushed + 1
    assert value("notification_push_lag_seconds_count", kind="stream") == lags + 1


# --- Pushes the channel layer would not take ------------------------------------------------------


class RefusingLayer:
    async def group_send(self, group: str, message: dict) -> None:
        raise ConnectionError("Redis is not answering")


def test_notifications_the_channel_layer_refuses_are_counted_as_push_failures(
    user, follower, monkeypatch
):
    other = UserFactory(username="other")
    ids = async_to_sync(save_unpushed)(user, follower, 2) + async_to_sync(save_unpushed)(
        other, follower
    )
    failures = value("notification_push_failures_total")
    push.notifications(ids)  # the layer takes them
    taken = value("notification_push_failures_total")
    monkeypatch.setattr(push, "get_channel_layer", RefusingLayer)

    push.notifications(ids)

    assert taken == failures
    # Three notifications (the unread counts that went with them are not notifications).
    assert value("notification_push_failures_total") == failures + 3
