"""One reader of the channel layer per process, for every websocket and event stream in it.

Each connection used to have a channel of its own in the layer: channels-redis kept a queue and, while
the connection waited, two tasks in its receive loop for it, and the consumer two more to wait on the
layer and the client at once; and a push to a thousand members was a thousand `group_send`s, each a
few Redis round trips. Now a process has one channel per connected member (`user_<id>` still names the
member's group, so a message for one member reaches only the processes that hold their connections)
and one channel in the group of all live processes (`BROADCAST_GROUP`), through which a push to many
members travels as one message (social.push). The hub reads them all:

- on channels-redis, in one loop over the process's own Redis key (every channel named here shares it);
- on another layer (the in-memory one of the embedded default and the tests), one receive per channel;

and hands each event to the connections of the member it names (`Listener.deliver`), which handle their
events one at a time, in arrival order, without holding up the others (`Inbox`).

Group semantics hold across processes: a member is in `user_<id>` once per process while connected
there, the hub joins again every quarter of the layer's group expiry, and leaves when the member's last
connection here closes. What a lost message would cost is what it always cost: a push is a hint, and a
connection that missed one reads the table (consumers.in_turn). If the reader itself loses Redis, every
connection reads the table once it is back (`catch_up`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from channels.layers import get_channel_layer

from sigma_playground import websocket
from sigma_playground.websocket import SignIn

logger = logging.getLogger(__name__)

# Every process with connections is in this group: a push to many members is sent to it once, and
# each process picks out the members it holds (social.push).
BROADCAST_GROUP = "live_processes"
# Events that may wait for one connection (a resume reading the table) before more are dropped: the
# connection then reads the table at the next push (consumers.in_turn), as with a full channel.
INBOX_CAPACITY = 1000
# Concurrent group joins when the hub joins all its members' groups again.
REJOIN_CONCURRENCY = 32
# The longest wait between attempts when the reader cannot reach the layer.
READ_RETRY_MAX_SECONDS = 5.0
# Sign-in re-checks that fall due within this many seconds are made together, in one database call
# (sigma_playground.websocket.sign_ins_current). Read at run time.
SIGN_IN_BATCH_SECONDS: float = 0.25


def user_group(user_id: int) -> str:
    return f"user_{user_id}"


def rejoin_interval(layer: Any) -> float:
    """How often a connection joins its member's group again: a quarter of the layer's group expiry,
    so three attempts can fail (Redis restarting) before the membership lapses."""
    return float(getattr(layer, "group_expiry", 86400)) / 4


class Listener(Protocol):
    """A connection as the hub sees it: its member, and where its events go (without waiting)."""

    user_id: int

    def deliver(self, event: dict[str, Any]) -> None: ...


class SignInWatcher(Protocol):
    def sign_in_checked(self, current: bool) -> None: ...


class SignInChecks:
    """Sign-in re-checks of the process's sockets, made a batch at a time by one task that runs only
    while some are due: a socket asks (`check`) and is told (`sign_in_checked`)."""

    def __init__(self) -> None:
        self.due: dict[SignInWatcher, SignIn] = {}
        self._task: asyncio.Task[None] | None = None

    def check(self, watcher: SignInWatcher, sign_in: SignIn) -> None:
        self.due[watcher] = sign_in
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def forget(self, watcher: SignInWatcher) -> None:
        self.due.pop(watcher, None)

    async def _run(self) -> None:
        try:
            while self.due:
                await asyncio.sleep(SIGN_IN_BATCH_SECONDS)
                batch, self.due = self.due, {}
                try:
                    results = await websocket.sign_ins_current(list(batch.values()))
                except Exception as error:
                    # The database away: each socket stays up and asks again at its next interval
                    # (a sign-out still closes it at once by message, docs/realtime.md).
                    logger.warning("could not re-check %d sign-ins: %r", len(batch), error)
                    results = [True] * len(batch)
                for watcher, current in zip(batch, results, strict=True):
                    watcher.sign_in_checked(current)
        finally:
            self._task = None


class Inbox:
    """Events for one connection, handled one at a time in arrival order by a task that exists only
    while there are events: an idle connection costs no task."""

    __slots__ = ("_events", "_handle", "_task")

    def __init__(self, handle: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        self._handle = handle
        self._events: list[dict[str, Any]] | None = None
        self._task: asyncio.Task[None] | None = None

    def put(self, event: dict[str, Any]) -> None:
        if self._events is None:
            self._events = []
        if len(self._events) >= INBOX_CAPACITY:
            logger.warning("a connection is %d events behind; dropping one", len(self._events))
            return
        self._events.append(event)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._events:
                await self._handle(self._events.pop(0))
        finally:
            self._task, self._events = None, None

    def close(self) -> None:
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        self._task, self._events = None, None


class _Member:
    """A member's connections in this process, and whether the hub is in their group."""

    __slots__ = ("joined", "listeners", "lock")

    def __init__(self) -> None:
        self.listeners: set[Listener] = set()
        self.lock = asyncio.Lock()
        self.joined = False


class Hub:
    def __init__(self, layer: Any) -> None:
        self.layer = layer
        # Every channel of this hub shares the part before "!": on channels-redis, one Redis key.
        self.prefix = f"specific.hub{uuid.uuid4().hex}!"
        self.broadcast = f"{self.prefix}all"
        self.members: dict[int, _Member] = {}
        self.sign_ins = SignInChecks()
        self._tasks: set[asyncio.Task[None]] = set()  # the reader and the re-joiner
        self._chores: set[asyncio.Task[None]] = set()  # groups being left
        self._channel_readers: dict[str, asyncio.Task[None]] = {}  # layers without a shared key
        self._running = False  # reading, and in the broadcast group
        self._lifecycle = asyncio.Lock()  # starting and stopping, one at a time
        self._single_reader = hasattr(layer, "receive_single") and hasattr(layer, "non_local_name")

    def channel(self, user_id: int) -> str:
        return f"{self.prefix}u{user_id}"

    # --- Connections coming and going -------------------------------------------------------------

    async def add(self, listener: Listener) -> None:
        """From now on, `listener` hears its member's events. Returns once the hub is in the
        member's group (so a push sent after this reaches it)."""
        await self._start()
        member = self.members.get(listener.user_id)
        if member is None:
            member = self.members[listener.user_id] = _Member()
        member.listeners.add(listener)
        async with member.lock:
            if not member.joined and member.listeners:
                channel = self.channel(listener.user_id)
                await self.layer.group_add(user_group(listener.user_id), channel)
                member.joined = True
                if not self._single_reader:
                    self._read_channel(channel)

    def remove(self, listener: Listener) -> None:
        """`listener` hears nothing more; the hub leaves the member's group with their last
        connection here, and the broadcast group with its last connection."""
        member = self.members.get(listener.user_id)
        if member is None or listener not in member.listeners:
            return
        member.listeners.discard(listener)
        if not member.listeners:
            self._spawn(self._leave(listener.user_id, member))

    async def _leave(self, user_id: int, member: _Member) -> None:
        async with member.lock:
            if member.listeners or not member.joined:
                return
            channel = self.channel(user_id)
            reader = self._channel_readers.pop(channel, None)
            if reader is not None:
                reader.cancel()
            try:
                await self.layer.group_discard(user_group(user_id), channel)
            except Exception as error:  # the membership expires by itself (group_expiry)
                logger.warning("could not leave %s: %r", user_group(user_id), error)
            member.joined = False
            # A connection that came meanwhile waits for this lock, then joins again.
            if not member.listeners and self.members.get(user_id) is member:
                del self.members[user_id]
        if not self.members:
            await self._stop()

    # --- Reading ----------------------------------------------------------------------------------

    async def _start(self) -> None:
        if self._running:
            return
        async with self._lifecycle:
            if self._running:
                return
            await self.layer.group_add(BROADCAST_GROUP, self.broadcast)
            if self._single_reader:
                self._keep(self._read_all())
            else:
                self._read_channel(self.broadcast)
            self._keep(self._stay_in_groups())
            self._running = True

    async def _stop(self) -> None:
        """No connection left: stop reading and leave the broadcast group, until the next one."""
        async with self._lifecycle:
            if not self._running or self.members:
                return
            self._running = False
            for task in [*self._tasks, *self._channel_readers.values()]:
                if task is not asyncio.current_task():
                    task.cancel()
            self._tasks.clear()
            self._channel_readers.clear()
            try:
                await self.layer.group_discard(BROADCAST_GROUP, self.broadcast)
            except Exception as error:
                logger.warning("could not leave %s: %r", BROADCAST_GROUP, error)

    def _keep(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        """A short job (leaving a group) that outlives the connection that asked for it."""
        task = asyncio.ensure_future(coroutine)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    def _read_channel(self, channel: str) -> None:
        async def read() -> None:
            while True:
                self.dispatch(channel, await self.layer.receive(channel))

        self._channel_readers[channel] = asyncio.ensure_future(read())

    async def _read_all(self) -> None:
        """channels-redis: every channel of this hub is one Redis key; read it in one loop."""
        while True:
            try:
                channels, message = await self.layer.receive_single(self.prefix)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("lost the channel layer: %r; retrying", error)
                await self._until_reachable()
                # Pushes sent meanwhile are gone: each connection reads the table instead.
                logger.warning("the channel layer is back; %d members catch up", len(self.members))
                self.catch_up()
                continue
            self.dispatch(channels, message)

    async def _until_reachable(self) -> None:
        wait = 0.1
        connection = self.layer.connection(self.layer.consistent_hash(self.prefix))
        while True:
            await asyncio.sleep(wait)
            try:
                await connection.ping()
                return
            except Exception:
                wait = min(wait * 2, READ_RETRY_MAX_SECONDS)

    def dispatch(self, channels: str | Iterable[str], message: dict[str, Any]) -> None:
        """Hand a message the layer delivered to `channels` (this hub's) to the connections."""
        for channel in [channels] if isinstance(channels, str) else channels:
            if channel == self.broadcast:
                if message.get("type") == "push.batch":
                    for user_id, messages in message["pushes"]:
                        self._deliver(user_id, {"type": "push.message", "messages": messages})
                continue
            name = channel.removeprefix(self.prefix)
            if name != channel and name.startswith("u") and name[1:].isdigit():
                self._deliver(int(name[1:]), message)

    def _deliver(self, user_id: int, event: dict[str, Any]) -> None:
        member = self.members.get(user_id)
        if member is None:
            return
        for listener in list(member.listeners):
            listener.deliver(event)

    def catch_up(self) -> None:
        for user_id in list(self.members):
            self._deliver(user_id, {"type": "push.catch_up"})

    async def _stay_in_groups(self) -> None:
        """Join every group again before the layer forgets this process in it (group_expiry)."""
        limit = asyncio.Semaphore(REJOIN_CONCURRENCY)

        async def join(group: str, channel: str) -> None:
            async with limit:
                try:
                    await self.layer.group_add(group, channel)
                except Exception as error:  # Redis away for now: the next attempt is in time
                    logger.warning("could not re-join %s: %r", group, error)

        while True:
            await asyncio.sleep(rejoin_interval(self.layer))
            joined = [uid for uid, member in list(self.members.items()) if member.joined]
            await asyncio.gather(
                join(BROADCAST_GROUP, self.broadcast),
                *(join(user_group(uid), self.channel(uid)) for uid in joined),
            )


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """This event loop's hub, on the current channel layer (a test may change the layer)."""
    loop = asyncio.get_running_loop()
    layer = get_channel_layer()
    current = _hubs.get(loop)
    if current is None or current.layer is not layer:
        current = _hubs[loop] = Hub(layer)
    return current
