"""Helpers for the realtime tests: notifications made the way a request makes them, tokens for the
handshake, and sockets and event streams on the ASGI application."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.db.models import Max
from rest_framework_simplejwt.tokens import AccessToken

from sigma_playground.asgi import application
from social import payloads, push, selectors, services
from social.models import Notification, Verb

PATH = "/ws/notifications/"
STREAM_PATH = "/api/v1/notifications/stream/"
# A browser's handshake names the host it went to and the page it came from: the same origin here.
OWN_HOST = (b"host", b"localhost:8000")
OWN_ORIGIN = (b"origin", b"http://localhost:8000")


def use_in_memory_layer(settings) -> None:
    """The in-memory channel layer whatever REDIS_URL says: test_consumer_redis.py covers the real
    one. (Changing the setting makes Channels drop the layer it had.)"""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def access(user) -> str:
    return str(AccessToken.for_user(user))


def bearer(token: str) -> tuple[bytes, bytes]:
    return (b"authorization", f"Bearer {token}".encode())


def notify(recipient, actor, verb: str = Verb.FOLLOWED) -> int:
    """As a request does it: the row in a transaction, pushed once the transaction commits."""
    with transaction.atomic():
        notification = services.notify(recipient, actor, verb)
    assert notification is not None
    return notification.pk


# From async test code: in a worker thread, like a sync view under ASGI.
anotify = database_sync_to_async(notify)


@database_sync_to_async
def save_unpushed(recipient, actor, count: int = 1) -> list[int]:
    """Notifications saved as the services save them but not pushed yet: the test pushes them
    (push.notifications) in the order it wants them to arrive."""
    return [
        Notification.objects.create(recipient=recipient, actor=actor, verb=Verb.FOLLOWED).pk
        for _ in range(count)
    ]


@database_sync_to_async
def push_each(ids: list[int]) -> None:
    """One push per notification, in the order given, as separate processes would."""
    for notification_id in ids:
        push.notifications([notification_id])


@database_sync_to_async
def pushed_then_withdrawn(pushed: int, withdrawn: int) -> dict:
    """The push of `pushed` as it was made while `withdrawn` (the one before it) still existed,
    with `withdrawn` deleted before the push is delivered (an unfollow within the undo window)."""
    event = {
        "type": "push.message",
        "messages": [
            payloads.pushed_notification(item) for item in selectors.notifications_by_id([pushed])
        ],
    }
    assert event["messages"][0]["previous"] == withdrawn
    Notification.objects.filter(pk=withdrawn).delete()
    return event


@database_sync_to_async
def newest_notification_id() -> int:
    return Notification.objects.aggregate(newest=Max("pk"))["newest"] or 0


async def resume_from_now(communicator: WebsocketCommunicator) -> None:
    """As the site's page does on connect: resume after the newest notification it was rendered
    with, so what follows is live. Past the count that answers it."""
    await communicator.send_json_to({"type": "resume", "after": await newest_notification_id()})
    answer = await communicator.receive_json_from(timeout=3)
    assert answer["type"] == "unread_count"


async def open_socket(
    user, *headers: tuple[bytes, bytes], resume: bool = True
) -> WebsocketCommunicator:
    """A socket of `user` (by bearer token), past the unread count it is sent on connect and, with
    `resume`, past a resume from now (a socket goes live once its first resume is answered)."""
    communicator = WebsocketCommunicator(
        application, PATH, headers=[OWN_HOST, OWN_ORIGIN, bearer(access(user)), *headers]
    )
    connected, _ = await communicator.connect(timeout=3)
    assert connected
    first = await communicator.receive_json_from(timeout=3)
    assert first["type"] == "unread_count"
    if resume:
        await resume_from_now(communicator)
    return communicator


async def receive_all(communicator: WebsocketCommunicator, quiet: float = 0.3) -> list[dict]:
    """Every message until none arrives for `quiet` seconds (so duplicates would show up)."""
    messages = []
    while not await communicator.receive_nothing(timeout=quiet):
        messages.append(await communicator.receive_json_from(timeout=1))
    return messages


async def receive_resumed(communicator: WebsocketCommunicator, timeout: float = 5) -> list[dict]:
    """After a resume: every message up to the unread count that answers it, however slow the
    server is to replay (a busy machine can take longer than `receive_all`'s quiet spell to send the
    first), then every message until none arrives for a while."""
    messages = []
    async with asyncio.timeout(timeout):
        while not messages or messages[-1]["type"] != "unread_count":
            messages.append(await communicator.receive_json_from(timeout=timeout))
    return messages + await receive_all(communicator)


def notification_ids(messages: list[dict]) -> list[int]:
    return [m["notification"]["id"] for m in messages if m["type"] == "notification"]


# --- A minimal HTTP client for the ASGI app, for the event stream ----------------------------------


class StreamClient:
    """GET on the ASGI application, reading the body as it streams, then hanging up."""

    def __init__(self, path: str, headers: list[tuple[bytes, bytes]], query: str = "") -> None:
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"localhost"), *headers],
            "client": ("127.0.0.1", 50000),
            "server": ("localhost", 80),
        }
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.hung_up = asyncio.Event()
        self.request_sent = False
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = ""
        self.task: asyncio.Task | None = None

    async def _receive(self) -> dict[str, Any]:
        if not self.request_sent:
            self.request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.hung_up.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        await self.messages.put(message)

    async def start(self, timeout: float = 5) -> StreamClient:
        self.task = asyncio.create_task(application(self.scope, self._receive, self._send))
        start = await asyncio.wait_for(self.messages.get(), timeout)
        assert start["type"] == "http.response.start"
        self.status = start["status"]
        self.headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        return self

    async def read_until(self, text: str, timeout: float = 5) -> str:
        """Read the body until it contains `text`; return all of it read so far."""
        async with asyncio.timeout(timeout):
            while text not in self.body:
                message = await self.messages.get()
                assert message["type"] == "http.response.body"
                self.body += message.get("body", b"").decode()
                if not message.get("more_body", False):
                    break
        return self.body

    async def read_for(self, seconds: float) -> str:
        """Everything that arrives in the next `seconds`."""
        with contextlib.suppress(TimeoutError):
            await self.read_until("\0never\0", timeout=seconds)
        return self.body

    async def ends_within(self, seconds: float) -> bool:
        """Does the server end the body within `seconds` (reading what comes before the end)?"""
        try:
            async with asyncio.timeout(seconds):
                while True:
                    message = await self.messages.get()
                    assert message["type"] == "http.response.body"
                    self.body += message.get("body", b"").decode()
                    if not message.get("more_body", False):
                        return True
        except TimeoutError:
            return False

    async def hang_up(self, timeout: float = 5) -> None:
        """Disconnect, and wait for the application to finish."""
        self.hung_up.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, timeout)


def parse_events(body: str) -> list[dict[str, str]]:
    """Server-Sent Events as dicts of their fields; a comment line becomes {"comment": ...}."""
    events = []
    for block in body.split("\n\n"):
        if not block.strip():
            continue
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            fields[name or "comment"] = value.removeprefix(" ")
        events.append(fields)
    return events


# --- Clients reconnecting while notifications pour in ----------------------------------------------

Client = Callable[[Any, asyncio.Event], Awaitable[list[int]]]


def through_a_burst(
    follower, client: Client, rng: random.Random, *, shuffled: bool
) -> tuple[list[list[int]], list[list[int]]]:
    """Three clients for each of four members keep dropping and reconnecting (`client(member, done)`
    returns the ids it received, once `done` is set and it has caught up) while notifications pour
    in: 80 pushed as each commits, or, `shuffled`, 20 batches of four pushed one by one in a
    shuffled order, as several processes would. Returns (the ids each client should have, in
    order; the ids each received)."""
    from tests.factories import UserFactory

    members = [UserFactory(username=f"member{n}") for n in range(4)]

    async def run():
        done = asyncio.Event()
        clients = [
            asyncio.create_task(client(member, done)) for member in members for _ in range(3)
        ]
        made: dict[int, list[int]] = {member.pk: [] for member in members}
        for n in range(20 if shuffled else 80):
            member = members[n % len(members)]
            if shuffled:
                batch = await save_unpushed(member, follower, 4)
                made[member.pk] += batch
                await push_each(rng.sample(batch, len(batch)))
                await asyncio.sleep(0.02)
            else:
                made[member.pk].append(await anotify(member, follower))
                await asyncio.sleep(0.005)
        done.set()
        return made, await asyncio.gather(*clients)

    made, received = async_to_sync(run)()
    return [made[member.pk] for member in members for _ in range(3)], received
