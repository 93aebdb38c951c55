"""The notifications event stream (Server-Sent Events) on the ASGI application and the in-memory
channel layer: who may listen, replay after Last-Event-ID, live events, keepalives, hanging up, and
the end of the stream when the sign-in it was opened with ends."""

import asyncio
import json
import random
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tokens import issue_tokens
from sigma_playground.websocket import SignIn
from social import consumers, selectors, stream
from social.push import user_group
from tests.factories import UserFactory
from tests.social.realtime import (
    STREAM_PATH,
    StreamClient,
    access,
    anotify,
    bearer,
    notify,
    parse_events,
    push_each,
    pushed_then_withdrawn,
    save_unpushed,
    through_a_burst,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("in_memory_layer")]


@pytest.fixture
def follower(db):
    return UserFactory(username="follower")


def session(client, user) -> tuple[bytes, bytes]:
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def last_event_id(value: int | str) -> tuple[bytes, bytes]:
    return (b"last-event-id", str(value).encode())


def answer(headers, query: str = "", method: str = "GET"):
    """A response that is not a stream: (status, headers, body)."""

    async def run():
        client = StreamClient(STREAM_PATH, headers, query)
        client.scope["method"] = method
        await client.start()
        body = await client.read_until("\0never\0")  # to the end of the body
        await client.hang_up()
        return client.status, client.headers, body

    return async_to_sync(run)()


def listen(headers, until: str, query: str = "", during=None):
    """Open the stream, read until `until` is in the body (calling `during` first, if given, once
    the unread count has come), hang up; return (client, events)."""

    async def run():
        client = await StreamClient(STREAM_PATH, headers, query).start()
        if during is not None:
            await client.read_until("event: unread_count")
            await during()
        await client.read_until(until)
        await client.read_for(0.3)  # anything more, such as a duplicate, would show up here
        await client.hang_up()
        return client

    client = async_to_sync(run)()
    return client, parse_events(client.body)


def notification_events(events) -> list[int]:
    return [int(e["id"]) for e in events if e.get("event") == "notification"]


# --- Who may listen -------------------------------------------------------------------------------


def test_it_answers_an_anonymous_client_with_401():
    status, headers, body = answer([])

    assert status == 401
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }


def test_it_answers_a_bad_token_with_401_even_with_a_session(client, owner):
    for token in ["not-a-jwt", issue_tokens(owner).refresh]:
        status, _, body = answer([bearer(token), session(client, owner)])
        assert status == 401
        assert json.loads(body)["code"] == "token_not_valid"


def test_it_refuses_anything_but_get(owner):
    status, _, _ = answer([bearer(access(owner))], method="POST")
    assert status == 405


def test_it_refuses_a_last_event_id_that_is_not_a_notification_id(owner):
    for bad in ["abc", "-1", "1.5", "99999999999999999999", "9" * 5000]:
        status, _, body = answer([bearer(access(owner)), last_event_id(bad)])
        assert status == 400, bad
        assert json.loads(body)["code"] == "invalid"


def test_it_streams_to_a_signed_in_session_with_headers_that_stop_buffering(client, owner):
    response, events = listen([session(client, owner)], until="event: unread_count")

    assert response.status == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert events == [{"event": "unread_count", "data": '{"count":0}'}]


# --- Replay and live ------------------------------------------------------------------------------


def test_it_replays_every_notification_after_last_event_id_in_order(
    owner, outsider, follower, monkeypatch
):
    monkeypatch.setattr(consumers, "RESUME_PAGE_SIZE", 2)  # 4 to replay: three pages
    seen = notify(owner, follower)
    missed = []
    for _ in range(4):
        missed.append(notify(owner, follower))
        notify(outsider, follower)

    _, events = listen([bearer(access(owner)), last_event_id(seen)], until="event: unread_count")

    assert notification_events(events) == missed
    first = events[0]
    assert first["event"] == "notification"
    assert json.loads(first["data"])["id"] == int(first["id"]) == missed[0]
    assert json.loads(first["data"])["actor"]["username"] == "follower"
    assert events[-1] == {"event": "unread_count", "data": '{"count":5}'}


def test_it_replays_after_the_after_parameter_and_prefers_last_event_id(owner, follower):
    ids = [notify(owner, follower) for _ in range(3)]

    _, by_query = listen([bearer(access(owner))], query=f"after={ids[0]}", until="unread_count")
    _, by_header = listen(
        [bearer(access(owner)), last_event_id(ids[1])],
        query=f"after={ids[0]}",
        until="unread_count",
    )

    assert notification_events(by_query) == ids[1:]
    assert notification_events(by_header) == ids[2:]


def test_it_sends_a_live_event_after_a_commit(owner, follower):
    made = []

    async def someone_follows():
        made.append(await anotify(owner, follower))

    _, events = listen([bearer(access(owner))], until="event: notification", during=someone_follows)

    assert [e["event"] for e in events] == ["unread_count", "notification", "unread_count"]
    assert notification_events(events) == made
    assert events[-1]["data"] == '{"count":1}'


def test_notifications_made_during_the_replay_arrive_once_in_order(owner, follower, monkeypatch):
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

    _, events = listen([bearer(access(owner)), last_event_id(0)], until=f"id: {missed[-1] + 3}\n")

    assert notification_events(events) == missed + made_meanwhile


def test_live_events_arriving_out_of_id_order_are_each_sent_once_in_id_order(owner, follower):
    """Two processes push two commits a moment apart: the later id may arrive first."""

    async def run():
        client = await StreamClient(STREAM_PATH, [bearer(access(owner))]).start()
        await client.read_until("event: unread_count")
        earlier, later = await save_unpushed(owner, follower, 2)
        await push_each([later, earlier, later, earlier])
        await client.read_until(f"id: {later}\n")
        await client.read_for(0.3)
        await client.hang_up()
        return earlier, later, parse_events(client.body)

    earlier, later, events = async_to_sync(run)()

    assert notification_events(events) == [earlier, later]


def test_an_event_pushed_ahead_of_an_earlier_one_sends_both_in_order_so_a_reconnect_misses_nothing(
    owner, follower
):
    """The push of 101 arrives; 100's is still on its way when the client hangs up. EventSource
    reconnects with the last id it saw, so 101 sent alone would have lost 100 for good."""

    async def run():
        client = await StreamClient(STREAM_PATH, [bearer(access(owner))]).start()
        await client.read_until("event: unread_count")
        earlier, later = await save_unpushed(owner, follower, 2)
        await push_each([later])
        await client.read_until(f"id: {later}\n")
        await client.read_for(0.3)
        await client.hang_up()
        before = notification_events(parse_events(client.body))

        headers = [bearer(access(owner)), last_event_id(before[-1])]
        client = await StreamClient(STREAM_PATH, headers).start()
        await client.read_until("event: unread_count")
        await client.read_for(0.3)
        await client.hang_up()
        return earlier, later, before, notification_events(parse_events(client.body))

    earlier, later, before, after = async_to_sync(run)()

    assert before == [earlier, later]
    assert before + after == [earlier, later]


def test_an_event_withdrawn_in_the_gap_holds_nothing_up(owner, follower):
    async def run():
        client = await StreamClient(STREAM_PATH, [bearer(access(owner))]).start()
        await client.read_until("event: unread_count")
        withdrawn, pushed = await save_unpushed(owner, follower, 2)
        event = await pushed_then_withdrawn(pushed, withdrawn)
        await get_channel_layer().group_send(user_group(owner.pk), event)
        await client.read_until(f"id: {pushed}\n")
        following = await anotify(owner, follower)
        await client.read_until(f"id: {following}\n")
        await client.read_for(0.3)
        await client.hang_up()
        return pushed, following, parse_events(client.body)

    pushed, following, events = async_to_sync(run)()

    assert notification_events(events) == [pushed, following]


def reconnecting_stream(rng: random.Random):
    """A listener that hangs up and reconnects with Last-Event-ID, as EventSource does; once `done`
    is set, its last connection reads for half a second."""

    def ids(body: str) -> list[int]:
        return [int(e["id"]) for e in parse_events(body) if e.get("event") == "notification"]

    async def listener(member, done: asyncio.Event) -> list[int]:
        received: list[int] = []
        while True:
            finished = done.is_set()
            headers = [bearer(access(member)), last_event_id(received[-1] if received else 0)]
            client = await StreamClient(STREAM_PATH, headers).start()
            if finished:
                # The last connection reads until its resume is answered (the unread count comes
                # after what was missed), then half a second more: on a busy machine the resume
                # alone can take longer than half a second.
                await client.read_until("event: unread_count", timeout=10)
                body = await client.read_for(0.5)
            else:
                body = await client.read_for(rng.uniform(0.05, 0.2))
            await client.hang_up()
            # EventSource acts only on whole events: a cut-off last one is read again.
            received += ids(body[: body.rfind("\n\n") + 2])
            if finished:
                return received

    return listener


def test_streams_reconnecting_during_a_burst_get_every_notification_once_in_order(follower):
    """Twelve listeners of four members hang up and reconnect while notifications pour in."""
    rng = random.Random(11)  # noqa: S311 (timings, not secrets)

    expected, received = through_a_burst(follower, reconnecting_stream(rng), rng, shuffled=False)

    assert received == expected


def test_streams_reconnecting_while_pushes_arrive_out_of_order_get_every_notification_once_in_order(
    follower,
):
    """As above, but each member's notifications are pushed in a shuffled order, one push each (as
    from several processes)."""
    rng = random.Random(17)  # noqa: S311 (timings and orders, not secrets)

    expected, received = through_a_burst(follower, reconnecting_stream(rng), rng, shuffled=True)

    assert received == expected


# --- Keeping the connection -----------------------------------------------------------------------


def test_it_sends_keepalive_comments_while_nothing_happens(owner, monkeypatch):
    monkeypatch.setattr(stream, "KEEPALIVE_SECONDS", 0.05)

    _, events = listen([bearer(access(owner))], until=": keepalive\n\n: keepalive\n\n")

    assert events[0]["event"] == "unread_count"
    assert {"comment": "keepalive"} in events[1:]


def test_it_leaves_the_users_group_when_the_client_hangs_up(owner):
    async def run():
        client = await StreamClient(STREAM_PATH, [bearer(access(owner))]).start()
        await client.read_until("event: unread_count")
        layer = get_channel_layer()
        members_while_listening = len(layer.groups.get(user_group(owner.pk), {}))
        await client.hang_up()
        return members_while_listening, len(layer.groups.get(user_group(owner.pk), {}))

    while_listening, after_hanging_up = async_to_sync(run)()

    assert while_listening == 1
    assert after_hanging_up == 0


def test_a_stream_opened_with_a_token_ends_when_the_token_expires(owner):
    async def run():
        started = time.monotonic()
        ends_at = time.time() + 0.5
        sign_in = SignIn(owner.pk, expires_at=ends_at)
        seen = [event async for event in stream.events(sign_in, None)]
        return seen, time.monotonic() - started

    seen, took = async_to_sync(run)()

    assert seen[0].startswith("event: unread_count")
    assert 0.4 < took < 3


# --- The end of the sign-in it was opened with ----------------------------------------------------


def signed_in_browser(user) -> tuple[Client, tuple[bytes, bytes]]:
    browser = Client()
    browser.force_login(user)
    return browser, (b"cookie", f"sessionid={browser.cookies['sessionid'].value}".encode())


def ends_when(headers, end_it, within: float = 2) -> tuple[bool, bool]:
    """Open the stream, call `end_it` once it is live; (it was still open just before, it ended
    within `within` seconds after)."""

    async def run():
        client = await StreamClient(STREAM_PATH, headers).start()
        await client.read_until("event: unread_count")
        open_before = not await client.ends_within(0.3)
        await end_it()
        ended = await client.ends_within(within)
        await client.hang_up()
        return open_before, ended

    return async_to_sync(run)()


def test_a_session_stream_ends_when_that_session_signs_out_and_no_other(owner):
    leaving, leaving_cookie = signed_in_browser(owner)
    _, staying_cookie = signed_in_browser(owner)

    async def sign_out():
        await sync_to_async(leaving.post)(reverse("accounts:logout"))

    assert ends_when([leaving_cookie], sign_out) == (True, True)
    assert ends_when([staying_cookie], sign_out) == (True, False)


@pytest.mark.parametrize("opened_with", ["session", "token"])
def test_a_password_change_ends_the_members_streams(owner, opened_with):
    credential = signed_in_browser(owner)[1] if opened_with == "session" else bearer(access(owner))

    @database_sync_to_async
    def change_password():
        owner.set_password("a-brand-new-passphrase")
        owner.save()

    assert ends_when([credential], change_password) == (True, True)


def test_a_stream_whose_session_expired_ends_at_the_next_check(owner, monkeypatch):
    monkeypatch.setattr(consumers, "AUTH_RECHECK_SECONDS", 0.2)
    _, cookie = signed_in_browser(owner)

    @database_sync_to_async
    def expire():
        Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))

    # Open across several checks first: they find the session good.
    assert ends_when([cookie], expire, within=1.5) == (True, True)


def test_a_foreign_page_is_not_allowed_to_read_the_stream_with_the_members_cookie(client, owner):
    # Unlike a websocket, a cross-origin read needs the server's CORS consent, with credentials.
    response, _ = listen(
        [session(client, owner), (b"origin", b"https://evil.example")], until="unread_count"
    )

    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers
