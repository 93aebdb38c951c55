"""The notifications websocket, `/ws/notifications/` (docs/realtime.md).

One connection per browser tab, one channel-layer group per user. The database row is the truth and a
pushed message is a hint: a client that was away sends `{"type": "resume", "after": <last id seen>}`
and gets every newer notification in id order, then the unread count, then live messages, each
notification exactly once on that connection:

- nothing is forwarded live until the first resume has been answered: a push that reached the socket
  before the client's resume would otherwise go out first and again inside the resume. What came
  meanwhile is in the table (each push follows its commit), so the resume sends it, in order (`Held`);
- live messages that arrive while a resume is being sent wait for it (the `sending` lock), in
  arrival order (the socket's inbox, social.hub), and are sent after it;
- a connection sends the member's notifications in increasing id order with no gap: whatever it
  sends, every lower id of the member was sent before, or the client said it has it (`Delivered`).
  A client keeps the largest id it saw and resumes after it, so a gap it saw past would be lost.
  Per recipient, notifications commit in id order (services lock the recipient), so when one is
  pushed every lower id is in the table; a push says which came before it (`previous`), and one that
  arrives before that one was sent is taken as a hint to read the table after the last sent
  (`in_turn`).

The channel layer forgets a group member `group_expiry` seconds after it joined (channels-redis and
the in-memory layer alike; CHANNEL_LAYER_GROUP_EXPIRY), so the process's hub (social.hub), which is in
the group for all of the member's connections here, joins again every quarter of that
(`rejoin_interval`): a socket open for days keeps hearing pushes.

The event stream (stream.py) keeps the same promise with the helpers at the top of this module.

A socket lives no longer than the sign-in it was opened with (`scope["sign_in"]`): when that ends it
closes with 4401. social.push tells the member's group when a session signs out or every sign-in ends
(a password change, a deactivation); a periodic re-check catches the rest (session expiry, a push
that never arrived).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncGenerator, Callable, Coroutine
from contextlib import aclosing
from datetime import datetime
from typing import Any, Literal, TypedDict, TypeGuard, cast

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from sigma_playground.observability import metrics, process
from sigma_playground.websocket import SignIn, closing_database_sync_to_async

from . import payloads, selectors
from .hub import Hub, Inbox, Listener, hub
from .hub import user_group as user_group  # the member's group, as before
from .payloads import (
    NotificationMessage,
    PushedNotification,
    UnreadCountMessage,
    WithdrawnMessage,
)

logger = logging.getLogger(__name__)

# The server pings this often and closes a socket that has said nothing for two intervals, so a
# connection that died without a close frame (a laptop lid, a dropped Wi-Fi) is let go within three.
# Read at run time, so tests can shorten it.
HEARTBEAT_SECONDS: float = 25
# A socket asks this often whether the sign-in it was opened with still holds, so one that ended
# without a message reaching it (a session that expired, a push lost with Redis) closes within this
# time. Read at run time, so tests can shorten it.
AUTH_RECHECK_SECONDS: float = 60
# A resume reads the missed notifications this many at a time, until a page comes back short.
RESUME_PAGE_SIZE = 500
# A client sends `resume` first; one that has sent none this long after connecting is taken to want
# only what is new, and goes live from the first push it was held back from. Read at run time.
RESUME_WAIT_SECONDS: float = 5
# Ids are PostgreSQL bigints; a larger `after` would fail in the query instead of being refused.
MAX_NOTIFICATION_ID = 2**63 - 1

# Close codes in the 4000-4999 range kept for applications, mirroring HTTP statuses.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_SILENT = 4408  # the client did not answer the heartbeat


# --- Reading what a client missed (shared with the event stream) ---------------------------------


def is_notification_id(value: object) -> TypeGuard[int]:
    """An id the client may resume after: an integer (not a bool), 0 or more, that fits a bigint."""
    return (
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_NOTIFICATION_ID
    )


@closing_database_sync_to_async
def _notifications_after(user_id: int, after: int, limit: int) -> list[NotificationMessage]:
    return [
        payloads.notification_message(item)
        for item in selectors.notifications_after(user_id, after, limit=limit)
    ]


@closing_database_sync_to_async
def unread_count(user_id: int) -> int:
    return selectors.unread_count(user_id)


@closing_database_sync_to_async
def unread_count_and_newest(user_id: int) -> tuple[int, int]:
    return selectors.unread_count_and_newest(user_id)


async def missed_notifications(
    user_id: int, after: int
) -> AsyncGenerator[NotificationMessage, None]:
    """Every notification of the user with an id above `after`, oldest first, read a page at a time
    until a page comes back short (so rows committed while reading are included too)."""
    page_size = RESUME_PAGE_SIZE
    while True:
        page = await _notifications_after(user_id, after, page_size)
        for message in page:
            yield message
        if len(page) < page_size:
            return
        after = page[-1]["notification"]["id"]


# --- What operators see (docs/operations.md) -------------------------------------------------------

_pushed = {kind: metrics.notifications_pushed.labels(kind=kind) for kind in ("websocket", "stream")}
_push_lag = {
    kind: metrics.notification_push_lag.labels(kind=kind) for kind in ("websocket", "stream")
}


def count_pushed(kind: str, message: NotificationMessage) -> None:
    """A notification sent live on a socket or stream (`kind`), not read back by a resume: counted,
    with the time since it was made. (Shared with the event stream.)"""
    _pushed[kind].inc()
    try:
        created = datetime.fromisoformat(message["notification"]["created_at"])
    except (KeyError, TypeError, ValueError):
        return
    # Another host's clock may run ahead a little: never a negative lag.
    _push_lag[kind].observe(max(0.0, time.time() - created.timestamp()))


class Delivered:
    """How far a connection has sent its member's notifications: every one up to `floor` was sent
    (or the client said it has it), and none above it.

    Live pushes for one member can arrive out of id order (two processes push two commits a moment
    apart). Sending 101 as it comes and 100 after it would break the client's resume: it keeps the
    largest id it saw, and a connection dropped between the two would resume after 101, losing 100
    for good. So nothing is sent above a gap (`in_turn`), and one number says what was sent.
    """

    def __init__(self, floor: int = 0) -> None:
        self.floor = floor

    def through(self, notification_id: int) -> None:
        """Everything up to `notification_id` has now been sent, or the client has it."""
        self.floor = max(self.floor, notification_id)

    def resume_from(self, after: int) -> int:
        """Where a resume asked to start `after` reads from: never at or below what this connection
        has had already (a second resume with an older id is not answered twice)."""
        return max(after, self.floor)


async def in_turn(
    user_id: int, delivered: Delivered, pushed: PushedNotification
) -> AsyncGenerator[NotificationMessage, None]:
    """What a connection sends for a notification pushed to it, in id order with no gap: nothing
    when it was sent already; the notification itself when the member's one before it was sent; and
    otherwise every notification after the floor, read from the table. The missing ones are there
    (they committed before the pushed one), except any withdrawn since, which are no longer waited
    for; their own pushes, when they come, are dropped as sent."""
    notification = pushed["notification"]
    if notification["id"] <= delivered.floor:
        return
    # A push from before `previous` was carried (a deploy) has none: the table answers it too.
    previous = pushed.get("previous")
    if is_notification_id(previous) and previous <= delivered.floor:
        delivered.through(notification["id"])
        yield {"type": "notification", "notification": notification}
        return
    async with aclosing(missed_notifications(user_id, delivered.floor)) as missed:
        async for message in missed:
            delivered.through(message["notification"]["id"])
            yield message


class Held:
    """Pushes that reached a socket before its first resume was answered: not kept, only noted.

    Each push follows its commit, so every held notification is in the table by then: the resume reads
    it (or the client already had it), in id order. A client that sends no resume is sent the table
    after the newest notification when it connected (`since`), so memory stays flat however long the
    wait."""

    def __init__(self, since: int) -> None:
        self.since = since
        self.any = False  # was anything pushed meanwhile
        # RESUME_WAIT_SECONDS passed with nothing pushed: the first push sends it live, unless a late
        # resume comes first (and is answered in full: nothing was sent above what it asks for).
        self.waited = False


# --- Message payloads -----------------------------------------------------------------------------


class ResumeRequest(TypedDict):
    type: Literal["resume"]
    after: int


class PingRequest(TypedDict):
    type: Literal["ping"]


class PongRequest(TypedDict):
    type: Literal["pong"]


ClientMessage = ResumeRequest | PingRequest | PongRequest


class PingMessage(TypedDict):
    type: Literal["ping"]


class PongMessage(TypedDict):
    type: Literal["pong"]


class ErrorMessage(TypedDict):
    type: Literal["error"]
    detail: str


class PushEvent(TypedDict):
    """What social.push sends to the group `user_<id>`: one member's messages, in order."""

    type: Literal["push.message"]
    messages: list[PushedNotification | UnreadCountMessage | WithdrawnMessage]


class SignInsEndedEvent(TypedDict):
    """What social.push sends to `user_<id>` when every sign-in of the member ended (a password
    change by any path, a deactivation)."""

    type: Literal["auth.sign_ins_ended"]


class SignedOutEvent(TypedDict):
    """What social.push sends to `user_<id>` when one session signed out; `session` is its
    `session_digest`."""

    type: Literal["auth.signed_out"]
    session: str


async def ends_sign_in(sign_in: SignIn, event: SignInsEndedEvent | SignedOutEvent) -> bool:
    """Does this event end a connection opened with `sign_in`? (Shared with the event stream.)"""
    if event["type"] == "auth.signed_out":
        return sign_in.is_session(event["session"])
    # Tokens are not checked against the database, so a token's connection cannot tell whether its
    # own sign-in survived: it ends. A session's asks whether that session still signs the member in.
    return sign_in.session_key is None or not await sign_in.is_current()


class BadMessage(ValueError):
    """A client message the server cannot act on; its text is sent back as the error's detail."""


def parse_client_message(text: str | None) -> ClientMessage:
    if text is None:
        raise BadMessage("Send JSON in text frames, not binary ones.")
    try:
        content: Any = json.loads(text)
    except ValueError:
        raise BadMessage("That is not JSON.") from None
    if not isinstance(content, dict):
        raise BadMessage('Send a JSON object with a "type".')
    kind = content.get("type")
    if kind == "resume":
        after = content.get("after")
        if not is_notification_id(after):
            raise BadMessage(
                '"after" must be the last notification id you saw: an integer, 0 or more.'
            )
        return {"type": "resume", "after": after}
    if kind == "ping":
        return {"type": "ping"}
    if kind == "pong":
        return {"type": "pong"}
    raise BadMessage('Unknown message "type"; expected "resume", "ping" or "pong".')


# --- The consumer ---------------------------------------------------------------------------------

_open_sockets = metrics.realtime_connections.labels(kind="websocket")
_resumes = metrics.realtime_resumes.labels(kind="websocket")


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    """One socket. What it costs while idle is kept small, since a process holds thousands: no
    channel of its own in the layer and no task waiting on it (the process's hub reads the layer
    and hands it this member's events, `deliver`), no task per timer (event-loop timers, which start
    a short task when they fire), and nothing of the handshake kept past `connect`."""

    user_id: int | None = None  # None once closed: nothing more is sent or heard
    sign_in: SignIn | None = None
    delivered: Delivered
    held: Held | None = None  # until the first resume has been answered: nothing goes out live
    # Taken to send notifications: the hub's events, the client's resume and the no-resume timer
    # each run on their own, and must not interleave their sends.
    sending: asyncio.Lock
    resuming: bool = False
    closed: bool = False  # sent the close, or heard the client's: send nothing more
    last_heard: float = 0.0  # event-loop time of the client's last message
    # The hub reads the layer (social.hub), not the socket. (channels' own consumers set it from
    # get_channel_layer(), None without a layer, which the stubs leave out.)
    channel_layer = None  # type: ignore[assignment]
    # The heartbeat, the sign-in watch and the wait for a resume, by name, and the short tasks they
    # started that are still running.
    timers: dict[str, asyncio.TimerHandle] | None = None
    chores: set[asyncio.Task[None]] | None = None
    hub: Hub | None = None
    inbox: Inbox | None = None
    counted: bool = False  # in realtime_connections, from the accept until it is let go

    async def __call__(self, scope, receive, send) -> None:
        """The client's messages, one at a time; the member's events come through `deliver`."""
        self.scope = scope
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            # Also when the server cancels the consumer without a disconnect message.
            self._let_go()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # channels' dispatch also closes the thread's database connections before every message, a
        # hop to the database thread each time: every database call here closes its own instead
        # (closing_database_sync_to_async).
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def send(self, text_data=None, bytes_data=None, close=False) -> None:
        if self.closed:
            return  # an event or a timer that finished after the close has nothing to say
        await super().send(text_data, bytes_data, close)

    async def close(self, code=None, reason=None) -> None:
        if self.closed:
            return
        self.closed = True
        await super().close(code, reason)

    def _let_go(self) -> None:
        """Hear nothing more: leave the hub, stop the timers and whatever they started."""
        if self.counted:
            self.counted = False
            _open_sockets.dec()
        if self.hub is not None:
            # A Listener while in the hub: user_id names the member until after this (`end`).
            self.hub.remove(cast(Listener, self))
            self.hub.sign_ins.forget(self)
            self.hub = None
        if self.inbox is not None:
            self.inbox.close()
        for handle in (self.timers or {}).values():
            handle.cancel()
        self.timers = None
        current = asyncio.current_task()
        for task in self.chores or ():
            if task is not current:
                task.cancel()
        self.chores = None

    # --- Timers -----------------------------------------------------------------------------------

    def _after(self, name: str, delay: float, job: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `job` in `delay` seconds, in a task of its own only then."""
        if self.user_id is None:
            return
        if self.timers is None:
            self.timers = {}
        loop = asyncio.get_running_loop()
        self.timers[name] = loop.call_later(delay, self._start_chore, name, job)

    def _start_chore(self, name: str, job: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if self.timers is not None:
            self.timers.pop(name, None)
        if self.user_id is None:
            return
        if self.chores is None:
            self.chores = set()
        task = asyncio.get_running_loop().create_task(job())
        self.chores.add(task)
        task.add_done_callback(self._chore_done)

    def _chore_done(self, task: asyncio.Task[None]) -> None:
        if self.chores is not None:
            self.chores.discard(task)
            if not self.chores:
                self.chores = None
        if not task.cancelled() and task.exception() is not None:
            logger.error("notification socket chore failed", exc_info=task.exception())

    # --- The connection ---------------------------------------------------------------------------

    async def connect(self) -> None:
        user = self.scope["user"]
        sign_in = self.scope.get("sign_in")
        # Nothing of the handshake is needed from here on (headers, cookies, the user object).
        self.scope = {"type": "websocket"}  # type: ignore[typeddict-item]  # deliberately bare
        # Accept first, then close: a close code reaches the client only on an accepted socket; a refused
        # handshake would look like a network error instead of "sign in again".
        await self.accept()
        # Counted once accepted, however it ends: __call__ lets go of it (`_let_go`) in a finally.
        self.counted = True
        _open_sockets.inc()
        process.update()  # the ws process records its memory and CPU now and then
        if user is None or not user.is_authenticated or not isinstance(sign_in, SignIn):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id = user.pk
        self.sign_in = sign_in
        self.delivered = Delivered()
        self.sending = asyncio.Lock()
        self.inbox = Inbox(self._handle_event)
        # Held from before joining: a push that comes before the count is noted, not sent.
        self.held = Held(since=0)
        # Join before counting, so a change made after the count is pushed to this socket.
        self.hub = hub()
        await self.hub.add(cast(Listener, self))  # user_id is set, until it lets go of the hub
        count, newest = await unread_count_and_newest(user.pk)
        self.held.since = newest
        await self.send_json(payloads.unread_count_message(count))
        self.last_heard = asyncio.get_running_loop().time()
        self._after("beat", HEARTBEAT_SECONDS, self._beat)
        self._watch_sign_in()
        self._after("resume", RESUME_WAIT_SECONDS, self._go_live_without_resume)

    async def disconnect(self, code: int) -> None:
        self.closed = True
        self._let_go()

    async def end(self, code: int, why: str) -> None:
        """Close, and from now on hear and send nothing: stop the timers, leave the hub."""
        logger.info("closing the notification socket of user %s: %s", self.user_id, why)
        # The hub files the socket under its member's id: leave it while the id is still set.
        self._let_go()
        self.user_id = None
        await self.close(code=code)

    # --- From the hub -----------------------------------------------------------------------------

    def deliver(self, event: dict[str, Any]) -> None:
        """An event for this member (social.hub): handled after those before it, not waited for."""
        if self.inbox is not None and self.user_id is not None:
            self.inbox.put(event)

    async def _handle_event(self, event: dict[str, Any]) -> None:
        try:
            await self.dispatch(event)
        except Exception:
            # The client reconnects and resumes: nothing is lost, as the table is the truth.
            logger.exception("a notification socket failed on %s", event.get("type"))
            await self.end(1011, "failed")

    # --- From the client --------------------------------------------------------------------------

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if self.user_id is None:
            return  # closed as anonymous; nothing it says matters
        self.last_heard = asyncio.get_running_loop().time()
        try:
            message = parse_client_message(text_data)
        except BadMessage as error:
            await self.send_json(ErrorMessage(type="error", detail=str(error)))
            return
        if message["type"] == "resume":
            await self.client_resume(message)
        elif message["type"] == "ping":
            await self.client_ping(message)
        else:
            await self.client_pong(message)

    async def client_resume(self, message: ResumeRequest) -> None:
        """Every notification after `after` this connection has not sent, in id order, then the
        unread count; from then on, live. Live messages that arrive meanwhile wait in the channel
        layer until this returns."""
        user_id = self.user_id
        if user_id is None:
            return
        self.resuming = True
        try:
            async with self.sending:
                after = self.delivered.resume_from(message["after"])
                self.delivered.through(after)  # the client has those
                await self._send_missed(user_id, after)
                self.held = None  # whatever was held came from the table just now
                await self.send_json(payloads.unread_count_message(await unread_count(user_id)))
                _resumes.inc()
        finally:
            self.resuming = False
            # The client's own messages waited behind the resume too; don't count that as silence.
            self.last_heard = asyncio.get_running_loop().time()

    async def _send_missed(self, user_id: int, after: int) -> None:
        """Send the notifications after `after` (at or above the floor), in id order."""
        async with aclosing(missed_notifications(user_id, after)) as missed:
            async for item in missed:
                self.delivered.through(item["notification"]["id"])
                await self.send_json(item)

    async def client_ping(self, message: PingRequest) -> None:
        await self.send_json(PongMessage(type="pong"))

    async def client_pong(self, message: PongRequest) -> None:
        """An answer to the heartbeat: receiving it was the point."""

    # --- From the channel layer -------------------------------------------------------------------

    async def push_message(self, event: PushEvent) -> None:
        """Messages sent to the user's group (social.push)."""
        if self.user_id is None:
            return  # closed; a push may still have been waiting in the channel
        async with self.sending:
            if self.held is not None:
                if not self.held.waited:
                    self.held.any = True
                    # A withdrawal is not in the table for the resume to read: the client may show
                    # the notification (the page rendered it), so it is told now. The resume,
                    # which reads after this, does not send the deleted row.
                    for message in event["messages"]:
                        if message["type"] == "withdrawn":
                            await self.send_json(message)
                    return
                self.delivered.through(self.held.since)
                self.held = None
            for message in event["messages"]:
                if message["type"] == "notification":
                    await self.push_notification(message)
                else:  # the unread count, or a withdrawal: sent as they come
                    await self.send_json(message)

    async def push_notification(self, message: PushedNotification) -> None:
        user_id = self.user_id
        if user_id is None:
            return
        async with aclosing(in_turn(user_id, self.delivered, message)) as sendable:
            async for item in sendable:
                await self.send_json(item)
                if not self.closed:
                    count_pushed("websocket", item)

    async def push_catch_up(self, event: dict[str, Any]) -> None:
        """The hub lost the channel layer for a while (social.hub): pushes may be missing, so the
        table answers instead, as for a push that overtook an earlier one."""
        user_id = self.user_id
        if user_id is None:
            return
        async with self.sending:
            if self.held is not None:
                self.held.any = True  # the resume, or the wait for one, reads the table
                return
            await self._send_missed(user_id, self.delivered.floor)
            await self.send_json(payloads.unread_count_message(await unread_count(user_id)))

    async def auth_sign_ins_ended(self, event: SignInsEndedEvent) -> None:
        if self.sign_in is not None and await ends_sign_in(self.sign_in, event):
            await self.end(CLOSE_UNAUTHENTICATED, "sign-ins ended")

    async def auth_signed_out(self, event: SignedOutEvent) -> None:
        if self.sign_in is not None and await ends_sign_in(self.sign_in, event):
            await self.end(CLOSE_UNAUTHENTICATED, "signed out")

    # --- Timers: going live without a resume, the sign-in, the heartbeat -------------------------

    async def _go_live_without_resume(self) -> None:
        """A client that has not resumed in RESUME_WAIT_SECONDS goes live as if it had resumed after
        the newest notification when it connected: what it was held back from is read from the
        table, in id order, then the count."""
        async with self.sending:
            held, user_id = self.held, self.user_id
            if held is None or user_id is None:
                return  # resumed, or closed
            if not held.any:
                held.waited = True
                return
            self.held = None
            self.delivered.through(held.since)
            await self._send_missed(user_id, self.delivered.floor)
            await self.send_json(payloads.unread_count_message(await unread_count(user_id)))

    def _watch_sign_in(self) -> None:
        """4401 when the sign-in ends without a message saying so: a bearer token at its expiry (the
        client reconnects with a fresh one), a session once it has expired or no longer signs the
        member in, found at the next re-check."""
        sign_in = self.sign_in
        if sign_in is None:
            return
        wait = AUTH_RECHECK_SECONDS
        if sign_in.expires_at is not None:
            wait = min(wait, max(0.0, sign_in.expires_at - time.time()))
        if self.timers is None:
            self.timers = {}
        self.timers["sign_in"] = asyncio.get_running_loop().call_later(wait, self._check_sign_in)

    def _check_sign_in(self) -> None:
        # Asked of the hub, which checks every socket that falls due at about the same time in one
        # database call, and answers in `sign_in_checked`.
        if self.sign_in is not None and self.user_id is not None and self.hub is not None:
            self.hub.sign_ins.check(self, self.sign_in)

    def sign_in_checked(self, current: bool) -> None:
        if self.user_id is None:
            return
        if current:
            self._watch_sign_in()
        else:
            self._start_chore("end", self._sign_in_ended)

    async def _sign_in_ended(self) -> None:
        await self.end(CLOSE_UNAUTHENTICATED, "sign-in ended")

    async def _beat(self) -> None:
        interval = HEARTBEAT_SECONDS
        silent_for = asyncio.get_running_loop().time() - self.last_heard
        if silent_for >= 2 * interval and not self.resuming:
            await self.end(CLOSE_SILENT, "silent")
            return
        await self.send_json(PingMessage(type="ping"))
        # Also the ws worker's own figures: one holding only idle sockets would otherwise report
        # the memory and open files it had when its last socket opened.
        process.update()
        self._after("beat", interval, self._beat)
