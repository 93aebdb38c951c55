"""The notifications event stream, `GET /api/v1/notifications/stream/` (docs/realtime.md).

Server-Sent Events for clients that cannot or would rather not hold a websocket: the same messages,
the same promise (every notification exactly once, in id order, across reconnects). `Last-Event-ID`
(sent by the browser's EventSource when it reconnects) or `?after=` plays the part of `resume`.

It ends when the sign-in it was opened with ends, as the socket closes (consumers.py): a bearer
token's expiry, a sign-out of its session, a password change or deactivation, a session that expired.
A foreign page cannot read it with the member's cookie: the session cookie is SameSite=Lax (not sent
on another site's requests), and CORS never allows credentials, so the browser hides the response.

It is an async view holding the request open, so it must be served by the ASGI processes: served by
a WSGI worker it would hold that worker for as long as the client listens. Held open, it holds no
database connection: each of its calls closes the one its thread used (closing_database_sync_to_async),
and it hears its member's events through the process's hub, as a socket does (social.hub).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from sigma_playground.http import error_response
from sigma_playground.observability import metrics, process
from sigma_playground.websocket import SignIn, bearer_user, release_database_connections

from . import consumers
from .consumers import (
    Delivered,
    count_pushed,
    ends_sign_in,
    in_turn,
    is_notification_id,
    missed_notifications,
    unread_count,
    unread_count_and_newest,
)
from .hub import INBOX_CAPACITY, hub

logger = logging.getLogger(__name__)

# A comment line this often keeps proxies and load balancers from closing an idle stream, and lets
# the server notice a client that went away. Read at run time, so tests can shorten it.
KEEPALIVE_SECONDS: float = 15

KEEPALIVE = ": keepalive\n\n"

_open_streams = metrics.realtime_connections.labels(kind="stream")
_resumes = metrics.realtime_resumes.labels(kind="stream")


def event(name: str, data: Any, event_id: int | None = None) -> str:
    """One Server-Sent Event. JSON escapes newlines, so `data` is always a single line."""
    lines = [f"event: {name}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")  # what EventSource sends back as Last-Event-ID
    lines.append(f"data: {json.dumps(data, separators=(',', ':'))}")
    return "\n".join(lines) + "\n\n"


def notification_event(notification: dict[str, Any]) -> str:
    return event("notification", notification, event_id=notification["id"])


def unread_count_event(count: int) -> str:
    return event("unread_count", {"count": count})


def withdrawn_event(notification_id: int) -> str:
    # No `id:` line: Last-Event-ID stays the last notification sent, the place to resume from.
    return event("withdrawn", {"id": notification_id})


# --- Who is asking, and from where --------------------------------------------------------------


class BadResumePoint(ValueError):
    pass


def resume_point(request: HttpRequest) -> int | None:
    """The last notification id the client has: `Last-Event-ID` (what EventSource sends when it
    reconnects, so it is newer than the URL's) or else `?after=`. None: the client has nothing."""
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after")
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    # An id fits a bigint (19 digits); int() refuses a very long string outright.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19) or not is_notification_id(int(raw)):
        raise BadResumePoint
    return int(raw)


@csrf_exempt  # it only reads, so a POST is told 405 rather than failing the CSRF check first
@require_GET
async def notification_stream(request: HttpRequest) -> HttpResponseBase:
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        # A token, when given, decides: a bad one is not rescued by a session cookie.
        user, ends_at = await bearer_user(authorization)
        if user is None:
            return error_response(
                401, "Given token not valid for any token type", "token_not_valid"
            )
        sign_in = SignIn(user.pk, expires_at=ends_at)
    else:
        user = await request.auser()
        # Reading the session kept a connection on this request's thread (CONN_MAX_AGE): let it go,
        # or it would stay open for as long as the client listens, and after.
        await release_database_connections()
        if not user.is_authenticated:
            return error_response(
                401, "Authentication credentials were not provided.", "not_authenticated"
            )
        sign_in = SignIn(user.pk, session_key=request.session.session_key)
    try:
        after = resume_point(request)
    except BadResumePoint:
        return error_response(
            400,
            "Last-Event-ID (or after) must be a notification id: an integer, 0 or more.",
            "invalid",
        )
    response = StreamingHttpResponse(events(sign_in, after), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on as it comes
    return response


class StreamListener:
    """An event stream as the process's hub sees it (social.hub): its member's events, queued until
    the stream reads them; past the hub's inbox capacity they are dropped, and the next push reads
    the table (consumers.in_turn)."""

    __slots__ = ("events", "user_id")

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue(INBOX_CAPACITY)

    def deliver(self, event: dict[str, Any]) -> None:
        try:
            self.events.put_nowait(event)
        except asyncio.QueueFull:
            logger.warning("an event stream is %d events behind; dropping one", INBOX_CAPACITY)


# --- The stream -----------------------------------------------------------------------------------


async def events(sign_in: SignIn, after: int | None) -> AsyncIterator[str]:
    """Missed notifications (when the client said where it was), the unread count, then live
    events until the client goes away, or until the sign-in it was opened with ends (a token's
    expiry: the client reconnects with a fresh one and Last-Event-ID). Same rules as the
    websocket's resume and its sign-in checks (consumers.py)."""
    user_id, ends_at = sign_in.user_id, sign_in.expires_at
    listener = StreamListener(user_id)
    live = hub()
    _open_streams.inc()
    process.update()  # the ws process records its memory and CPU now and then
    try:
        # Join before reading, so whatever commits while we read waits in the inbox for us.
        await live.add(listener)
        if after is None:
            # A client that has nothing is sent what is new from now on.
            count, newest = await unread_count_and_newest(user_id)
            delivered = Delivered(newest)
        else:
            delivered = Delivered(after)
            async with aclosing(missed_notifications(user_id, after)) as missed:
                async for message in missed:
                    delivered.through(message["notification"]["id"])
                    yield notification_event(message["notification"])
            count = await unread_count(user_id)
            _resumes.inc()
        yield unread_count_event(count)

        loop = asyncio.get_running_loop()
        next_check = loop.time() + consumers.AUTH_RECHECK_SECONDS
        while True:
            timeout = min(KEEPALIVE_SECONDS, max(0.0, next_check - loop.time()))
            if ends_at is not None:
                left = ends_at - time.time()
                if left <= 0:
                    return
                timeout = min(timeout, left)
            # Waiting on the queue's own getter: nothing is taken off it unless it is returned.
            try:
                received = await asyncio.wait_for(listener.events.get(), timeout=timeout)
            except TimeoutError:
                received = None
            if loop.time() >= next_check:
                if not await sign_in.is_current():
                    return
                next_check = loop.time() + consumers.AUTH_RECHECK_SECONDS
            if received is None:
                if ends_at is None or time.time() < ends_at:
                    yield KEEPALIVE
                continue
            if received.get("type", "").startswith("auth."):
                if await ends_sign_in(sign_in, received):  # type: ignore[arg-type]
                    return
                continue
            if received.get("type") == "push.catch_up":
                # The hub lost the layer for a while: the table answers for what was missed.
                async with aclosing(missed_notifications(user_id, delivered.floor)) as missed:
                    async for item in missed:
                        delivered.through(item["notification"]["id"])
                        yield notification_event(item["notification"])
                yield unread_count_event(await unread_count(user_id))
                continue
            for message in received.get("messages") or []:
                if message.get("type") == "notification":
                    # In id order with no gap, as the socket sends them (consumers.in_turn).
                    async with aclosing(in_turn(user_id, delivered, message)) as sendable:
                        async for item in sendable:
                            yield notification_event(item["notification"])
                            count_pushed("stream", item)
                elif message.get("type") == "unread_count":
                    yield unread_count_event(message["count"])
                elif message.get("type") == "withdrawn":
                    yield withdrawn_event(message["id"])
    finally:
        # The client went away (Django cancels the response) or the server is stopping.
        live.remove(listener)
        _open_streams.dec()
