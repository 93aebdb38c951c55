"""The notifications websocket on the in-memory channel layer: who may connect, what is pushed,
resume after a gap (every notification once, in order), bad messages and the heartbeat.

The origin check and the ways to authenticate are in tests/sigma_playground/test_websocket_auth.py;
the same over a real server and Redis in test_consumer_redis.py.
"""

import asyncio
import random
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tokens import issue_tokens
from sigma_playground.asgi import application
from social import consumers, push, selectors, services
from social.consumers import CLOSE_SILENT, CLOSE_UNAUTHENTICATED, user_group
from social.models import Notification, Verb
from tests.factories import UserFactory
from tests.social.realtime import (
    OWN_HOST,
    OWN_ORIGIN,
    PATH,
    anotify,
    bearer,
    notification_ids,
    notify,
    open_socket,
    push_each,
    pushed_then_withdrawn,
    receive_all,
    receive_resumed,
    save_unpushed,
    through_a_burst,
)

# Channels closes the thread's connection around each database call, which would end the test's
# wrapping transaction on PostgreSQL: these tests commit for real and flush afterwards.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("in_memory_layer")]


@pytest.fixture
def follower(db):
    """Someone whose follows notify the owner."""
    return UserFactory(username="follower")


def first_output(headers):
    """Connect, and return (accepted, first message after the handshake)."""

    async def run():
        communicator = WebsocketCommunicator(application, PATH, headers=[OWN_HOST, *headers])
        connected, _ = await communicator.connect(timeout=3)
        output = await communicator.receive_output(timeout=2) if connected else None
        await communicator.disconnect()
        return connected, output

    return async_to_sync(run)()


# --- Who may connect ------------------------------------------------------------------------------


def test_it_closes_an_anonymous_socket_with_4401():
    connected, message = first_output([OWN_ORIGIN])
    assert connected
    assert message == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


def test_it_closes_a_socket_with_a_bad_token_with_4401(owner):
    for token in ["not-a-jwt", str(AccessToken.for_user(owner))[:-4] + "AAAA"]:
        connected, message = first_output([OWN_ORIGIN, bearer(token)])
        assert connected
        assert message == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


def test_it_refuses_a_refresh_token_on_the_handshake(owner):
    _, message = first_output([OWN_ORIGIN, bearer(issue_tokens(owner).refresh)])
    assert message == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


# --- On connect and live --------------------------------------------------------------------------


def test_it_sends_the_unread_count_on_connect(owner, follower):
    for _ in range(3):
        notify(owner, follower)
    Notification.objects.filter(pk=Notification.objects.order_by("pk").first().pk).update(read=True)

    connected, message = first_output([OWN_ORIGIN, bearer(str(AccessToken.for_user(owner)))])

    assert connected
    assert message["type"] == "websocket.send"
    assert message["text"] == '{"type": "unread_count", "count": 2}'


def test_an_authenticated_socket_receives_messages_sent_to_its_user_group(owner):
    async def run():
        communicator = await open_socket(owner)
        await get_channel_layer().group_send(
            user_group(owner.pk),
            {"type": "push.message", "messages": [{"type": "unread_count", "count": 3}]},
        )
        received = await communicator.receive_json_from(timeout=2)
        await communicator.disconnect()
        return received

    assert async_to_sync(run)() == {"type": "unread_count", "count": 3}


def test_it_pushes_a_notification_once_its_transaction_commits(owner, follower):
    async def run():
        communicator = await open_socket(owner)
        notification_id = await anotify(owner, follower)
        messages = await receive_all(communicator)
        await communicator.disconnect()
        return notification_id, messages

    notification_id, messages = async_to_sync(run)()

    assert [m["type"] for m in messages] == ["notification", "unread_count"]
    notification = messages[0]["notification"]
    assert notification["id"] == notification_id
    assert notification["verb"] == "followed"
    assert notification["actor"]["username"] == "follower"
    assert notification["read"] is False
    assert messages[1] == {"type": "unread_count", "count": 1}


def test_it_pushes_nothing_for_a_transaction_that_rolls_back(owner, follower):
    def notify_then_fail():
        with transaction.atomic():
            services.notify(owner, follower, Verb.FOLLOWED)
            transaction.set_rollback(True)

    async def run():
        communicator = await open_socket(owner)
        await database_sync_to_async(notify_then_fail)()
        messages = await receive_all(communicator)
        await communicator.disconnect()
        return messages

    assert async_to_sync(run)() == []
    assert not Notification.objects.exists()


def test_it_pushes_nothing_of_someone_elses_notifications(owner, outsider, follower):
    async def run():
        communicator = await open_socket(outsider)
        await anotify(owner, follower)
        messages = await receive_all(communicator)
        await communicator.disconnect()
        return messages

    assert async_to_sync(run)() == []


# --- Resume ---------------------------------------------------------------------------------------


def test_a_resume_after_a_gap_delivers_every_missed_notification_once_in_order(
    owner, outsider, follower, monkeypatch
):
    monkeypatch.setattr(consumers, "RESUME_PAGE_SIZE", 2)  # the 5 missed take three pages

    async def run():
        communicator = await open_socket(owner)
        seen = await anotify(owner, follower)
        seen_live = notification_ids(await receive_all(communicator))
        await communicator.disconnect()

        missed = []
        for _ in range(5):  # while the owner is away; the outsider's must not leak in
            missed.append(await anotify(owner, follower))
            await anotify(outsider, follower)

        communicator = await open_socket(owner, resume=False)
        await communicator.send_json_to({"type": "resume", "after": seen})
        messages = await receive_all(communicator)
        await communicator.disconnect()
        return seen, seen_live, missed, messages

    seen, seen_live, missed, messages = async_to_sync(run)()

    assert seen_live == [seen]
    assert notification_ids(messages) == missed
    assert messages[-1] == {"type": "unread_count", "count": 6}


def test_notifications_made_during_a_resume_arrive_once_in_order(owner, follower, monkeypatch):
    """Each page read is followed by a commit elsewhere. Those committed before the last read come
    in the resume and their live copies are dropped; the one committed after it is held until the
    resume is over, then sent."""
    monkeypatch.setattr(consumers, "RESUME_PAGE_SIZE", 2)
    missed = [notify(owner, follower) for _ in range(3)]
    made_meanwhile = []
    read_page = selectors.notifications_after

    def read_page_while_someone_notifies(user_id, after, limit):
        page = read_page(user_id, after, limit=limit)
        if len(made_meanwhile) < 3:
            made_meanwhile.append(notify(owner, follower))
        return page

    monkeypatch.setattr(selectors, "notifications_after", read_page_while_someone_notifies)

    async def run():
        communicator = await open_socket(owner, resume=False)
        await communicator.send_json_to({"type": "resume", "after": 0})
        messages = await receive_all(communicator)
        await communicator.disconnect()
        return messages

    messages = async_to_sync(run)()

    assert notification_ids(messages) == missed + made_meanwhile
    # The resume: the 3 missed and the 2 committed between its reads, then its count...
    assert notification_ids(messages[:5]) == missed + made_meanwhile[:2]
    assert messages[5] == {"type": "unread_count", "count": 6}
    # ...then what was held: the one committed after its last read, and the counts pushed with each.
    assert messages[-2]["notification"]["id"] == made_meanwhile[-1]
    assert messages[-1] == {"type": "unread_count", "count": 6}


def test_a_live_copy_of_a_notification_the_resume_sent_is_dropped(owner, follower):
    first, second = notify(owner, follower), notify(owner, follower)

    async def run():
        communicator = await open_socket(owner, resume=False)
        await communicator.send_json_to({"type": "resume", "after": 0})
        resumed = await receive_all(communicator)
        # A push arriving late (a slow process, a retried task) repeats what the resume sent.
        await database_sync_to_async(push.notifications)([first, second])
        late = await receive_all(communicator)
        third = await anotify(owner, follower)
        live = await receive_all(communicator)
        await communicator.disconnect()
        return resumed, late, third, live

    resumed, late, third, live = async_to_sync(run)()

    assert notification_ids(resumed) == [first, second]
    assert late == [{"type": "unread_count", "count": 2}]
    assert notification_ids(live) == [third]


def test_live_notifications_arriving_out_of_id_order_are_each_sent_once_in_id_order(
    owner, follower
):
    """Two processes push two commits a moment apart: the later id may arrive first."""

    async def run():
        communicator = await open_socket(owner)
        earlier, later = await save_unpushed(owner, follower, 2)
        await push_each([later, earlier, later, earlier])
        messages = await receive_all(communicator)
        await communicator.disconnect()
        return earlier, later, messages

    earlier, later, messages = async_to_sync(run)()

    assert notification_ids(messages) == [earlier, later]


def test_a_push_ahead_of_an_earlier_one_sends_both_in_order_so_a_reconnect_misses_nothing(
    owner, follower
):
    """The push of 101 arrives; 100's is still on its way when the connection drops. The client
    resumes after the largest id it saw, so 101 sent alone would have lost 100 for good."""

    async def run():
        communicator = await open_socket(owner)
        earlier, later = await save_unpushed(owner, follower, 2)
        await push_each([later])
        before_the_drop = await receive_all(communicator)
        await communicator.disconnect()

        communicator = await open_socket(owner, resume=False)
        seen = max(notification_ids(before_the_drop))
        await communicator.send_json_to({"type": "resume", "after": seen})
        after_the_drop = await receive_all(communicator)
        await communicator.disconnect()
        return earlier, later, before_the_drop, after_the_drop

    earlier, later, before_the_drop, after_the_drop = async_to_sync(run)()

    assert notification_ids(before_the_drop) == [earlier, later]
    assert notification_ids(before_the_drop + after_the_drop) == [earlier, later]


def test_a_notification_withdrawn_in_the_gap_holds_nothing_up(owner, follower):
    """The push of a notification names the one before it, which is withdrawn (an unfollow within
    the undo window) before its own push arrives: the later one is sent, and so is what follows."""

    async def run():
        communicator = await open_socket(owner)
        withdrawn, pushed = await save_unpushed(owner, follower, 2)
        event = await pushed_then_withdrawn(pushed, withdrawn)
        await get_channel_layer().group_send(user_group(owner.pk), event)
        first = await receive_all(communicator)
        following = await anotify(owner, follower)
        then = await receive_all(communicator)
        await communicator.disconnect()
        return pushed, first, following, then

    pushed, first, following, then = async_to_sync(run)()

    assert notification_ids(first) == [pushed]
    assert notification_ids(then) == [following]


def test_a_resume_after_the_newest_id_sends_only_the_count(owner, follower):
    newest = notify(owner, follower)

    async def run():
        communicator = await open_socket(owner, resume=False)
        await communicator.send_json_to({"type": "resume", "after": newest})
        messages = await receive_all(communicator)
        await communicator.disconnect()
        return messages

    assert async_to_sync(run)() == [{"type": "unread_count", "count": 1}]


def test_a_push_that_arrives_before_the_resume_is_sent_once_in_order(owner, follower):
    """A reconnecting client's resume reaches the server a moment after the handshake; pushes that
    land in that moment are held back, not sent ahead of the resume and again inside it."""
    seen = notify(owner, follower)

    async def run():
        communicator = await open_socket(owner, resume=False)
        meanwhile = [await anotify(owner, follower) for _ in range(3)]
        await asyncio.sleep(0.1)  # the pushes have reached the consumer
        await communicator.send_json_to({"type": "resume", "after": seen})
        messages = await receive_all(communicator)
        await communicator.disconnect()
        return meanwhile, messages

    meanwhile, messages = async_to_sync(run)()

    assert notification_ids(messages) == meanwhile
    assert messages[-1] == {"type": "unread_count", "count": 4}


def test_a_second_resume_sends_nothing_the_connection_has_had(owner, follower):
    first, second = notify(owner, follower), notify(owner, follower)

    async def run():
        communicator = await open_socket(owner, resume=False)
        await communicator.send_json_to({"type": "resume", "after": 0})
        resumed = await receive_all(communicator)
        third = await anotify(owner, follower)
        live = await receive_all(communicator)
        await communicator.send_json_to({"type": "resume", "after": 0})
        again = await receive_all(communicator)
        await communicator.disconnect()
        return resumed, third, live, again

    resumed, third, live, again = async_to_sync(run)()

    assert notification_ids(resumed) == [first, second]
    assert notification_ids(live) == [third]
    assert again == [{"type": "unread_count", "count": 3}]


def test_a_client_that_never_resumes_goes_live_with_what_it_was_held_back_from(
    owner, follower, monkeypatch
):
    monkeypatch.setattr(consumers, "RESUME_WAIT_SECONDS", 0.5)
    before = notify(owner, follower)

    async def run():
        communicator = await open_socket(owner, resume=False)
        held = [await anotify(owner, follower) for _ in range(2)]
        waited = await receive_all(communicator, quiet=0.2)  # still held
        after_the_wait = await receive_all(communicator, quiet=0.6)
        live = await anotify(owner, follower)
        then = await receive_all(communicator)
        await communicator.disconnect()
        return held, waited, after_the_wait, live, then

    held, waited, after_the_wait, live, then = async_to_sync(run)()

    assert waited == []
    # From the first push held back, in id order; not what came before the socket opened.
    assert notification_ids(after_the_wait) == held
    assert before not in notification_ids(after_the_wait)
    assert after_the_wait[-1] == {"type": "unread_count", "count": 3}
    assert notification_ids(then) == [live]


def test_a_client_that_never_resumes_and_was_pushed_nothing_goes_live_with_the_first_push(
    owner, follower, monkeypatch
):
    monkeypatch.setattr(consumers, "RESUME_WAIT_SECONDS", 0.2)
    notify(owner, follower)

    async def run():
        communicator = await open_socket(owner, resume=False)
        await asyncio.sleep(0.4)
        earlier, later = await save_unpushed(owner, follower, 2)
        await push_each([later])
        messages = await receive_all(communicator)
        await communicator.disconnect()
        return earlier, later, messages

    earlier, later, messages = async_to_sync(run)()

    # From where it connected: what came before is not sent, what came after is, in order.
    assert notification_ids(messages) == [earlier, later]


def test_a_resume_that_comes_late_but_before_any_push_is_answered_in_full(
    owner, follower, monkeypatch
):
    monkeypatch.setattr(consumers, "RESUME_WAIT_SECONDS", 0.2)
    missed = [notify(owner, follower) for _ in range(2)]

    async def run():
        communicator = await open_socket(owner, resume=False)
        await asyncio.sleep(0.4)
        await communicator.send_json_to({"type": "resume", "after": 0})
        messages = await receive_all(communicator)
        await communicator.disconnect()
        return messages

    messages = async_to_sync(run)()

    assert notification_ids(messages) == missed
    assert messages[-1] == {"type": "unread_count", "count": 2}


def reconnecting_socket(rng: random.Random):
    """A client that drops and reconnects, resuming after the largest id it saw, a few milliseconds
    after the handshake as over a real network; once `done` is set, its last connection reads
    everything until it goes quiet."""

    async def client(member, done: asyncio.Event) -> list[int]:
        received: list[int] = []
        while True:
            finished = done.is_set()
            communicator = await open_socket(member, resume=False)
            await asyncio.sleep(rng.uniform(0, 0.03))
            await communicator.send_json_to({"type": "resume", "after": max(received, default=0)})
            if finished:
                received += notification_ids(await receive_resumed(communicator))
            else:
                deadline = asyncio.get_running_loop().time() + rng.uniform(0.05, 0.2)
                while asyncio.get_running_loop().time() < deadline:
                    if not await communicator.receive_nothing(timeout=0.01):
                        received += notification_ids([await communicator.receive_json_from()])
            await communicator.disconnect()
            if finished:
                return received

    return client


def test_clients_reconnecting_during_a_burst_get_every_notification_once_in_order(follower):
    """Twelve clients of four members drop and reconnect while notifications pour in."""
    rng = random.Random(7)  # noqa: S311 (timings, not secrets)

    expected, received = through_a_burst(follower, reconnecting_socket(rng), rng, shuffled=False)

    assert received == expected


def test_clients_reconnecting_while_pushes_arrive_out_of_order_get_every_notification_once_in_order(
    follower,
):
    """As above, but each member's notifications are pushed in a shuffled order, one push each (as
    from several processes), while their clients drop and resume after the largest id they saw."""
    rng = random.Random(13)  # noqa: S311 (timings and orders, not secrets)

    expected, received = through_a_burst(follower, reconnecting_socket(rng), rng, shuffled=True)

    assert received == expected


# --- Bad messages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        {"text_data": "not json"},
        {"text_data": "[1, 2]"},
        {"text_data": '"resume"'},
        {"text_data": "{}"},
        {"text_data": '{"type": "dance"}'},
        {"text_data": '{"type": "resume"}'},
        {"text_data": '{"type": "resume", "after": "7"}'},
        {"text_data": '{"type": "resume", "after": 7.5}'},
        {"text_data": '{"type": "resume", "after": true}'},
        {"text_data": '{"type": "resume", "after": -1}'},
        {"text_data": '{"type": "resume", "after": 99999999999999999999}'},
        {"bytes_data": b'{"type": "ping"}'},
    ],
)
def test_it_answers_a_bad_message_with_an_error_and_stays_open(owner, frame):
    async def run():
        communicator = await open_socket(owner)
        await communicator.send_to(**frame)
        error = await communicator.receive_json_from(timeout=2)
        await communicator.send_json_to({"type": "ping"})
        still_open = await communicator.receive_json_from(timeout=2)
        await communicator.disconnect()
        return error, still_open

    error, still_open = async_to_sync(run)()

    assert error["type"] == "error"
    assert error["detail"]
    assert still_open == {"type": "pong"}


# --- Heartbeat ------------------------------------------------------------------------------------


def test_it_pings_and_closes_a_socket_that_stays_silent(owner, monkeypatch):
    monkeypatch.setattr(consumers, "HEARTBEAT_SECONDS", 0.2)

    async def run():
        communicator = await open_socket(owner)
        started = time.monotonic()
        outputs = []
        while (not outputs or outputs[-1]["type"] != "websocket.close") and len(outputs) < 20:
            outputs.append(await communicator.receive_output(timeout=2))
        closed_after = time.monotonic() - started
        await communicator.disconnect()
        return outputs, closed_after

    outputs, closed_after = async_to_sync(run)()

    assert outputs[0] == {"type": "websocket.send", "text": '{"type": "ping"}'}
    assert outputs[-1] == {"type": "websocket.close", "code": CLOSE_SILENT}
    assert 0.4 <= closed_after < 1.5  # two silent intervals, within three (and a margin)


def test_it_keeps_a_socket_that_answers_its_pings_open(owner, monkeypatch):
    monkeypatch.setattr(consumers, "HEARTBEAT_SECONDS", 0.2)

    async def run():
        communicator = await open_socket(owner)
        pings = 0
        deadline = time.monotonic() + 1.2  # six intervals: closed by now if the pongs were ignored
        while time.monotonic() < deadline:
            message = await communicator.receive_json_from(timeout=1)
            assert message == {"type": "ping"}
            pings += 1
            await communicator.send_json_to({"type": "pong"})
        await communicator.disconnect()
        return pings

    assert async_to_sync(run)() >= 4


def test_a_socket_opened_with_a_token_closes_with_4401_when_the_token_expires(owner):
    token = AccessToken.for_user(owner)
    token.set_exp(lifetime=timedelta(seconds=1))

    async def run():
        communicator = WebsocketCommunicator(
            application, PATH, headers=[OWN_HOST, OWN_ORIGIN, bearer(str(token))]
        )
        connected, _ = await communicator.connect(timeout=3)
        first = await communicator.receive_json_from(timeout=2)
        closed = await communicator.receive_output(timeout=4)
        await communicator.disconnect()
        return connected, first, closed

    connected, first, closed = async_to_sync(run)()

    assert connected
    assert first["type"] == "unread_count"
    assert closed == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}
