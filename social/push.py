"""Hints to connected clients, sent after the rows they describe are committed.

Each member has one channel-layer group, `user_<id>`, which each process holding their connections is
in (social.hub); every such process is also in `hub.BROADCAST_GROUP`, through which a push to many
members goes as one message. Nothing depends on a message arriving: a client
that missed one asks for everything after its last id (`resume`), and a socket that missed the end of
its sign-in finds out at its next re-check (consumers.AUTH_RECHECK_SECONDS).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connections, router

from sigma_playground.observability import metrics
from sigma_playground.websocket import session_digest
from workbooks.models import Workbook

from . import payloads, selectors
from .hub import BROADCAST_GROUP, user_group
from .models import Notification, Verb
from .payloads import PushMessage

logger = logging.getLogger(__name__)

# A push to many members travels as one message per this many members (a fan-out batch is 1,000).
BATCH_MEMBERS = 1000
# A push takes milliseconds. Past this deadline (plus a millisecond a member) Redis is stalled: the
# request or task that committed the rows stops waiting, and clients catch up with `resume`.
PUSH_TIMEOUT_SECONDS = 1.0
LOCK_NAMESPACE = 4_401  # advisory lock class for "notifications of one recipient"


def _envelope(messages: list[PushMessage]) -> dict[str, Any]:
    # One member's messages travel together, in order: a notification, then the new count.
    return {"type": "push.message", "messages": messages}


def _batches(per_user: dict[int, list[PushMessage]]) -> list[tuple[str, dict[str, Any]]]:
    """(group, message) pairs carrying every member's messages: one member's go to their own group,
    reaching only the processes that hold their connections; many members' go as one message a
    batch to every process with connections (social.hub), not one `group_send` per member: a
    fan-out to 10,000 followers was 10,000 of them, each several Redis round trips."""
    if len(per_user) == 1:
        [(uid, queue)] = per_user.items()
        return [(user_group(uid), _envelope(queue))]
    pushes = [[uid, queue] for uid, queue in per_user.items()]
    return [
        (BROADCAST_GROUP, {"type": "push.batch", "pushes": pushes[start : start + BATCH_MEMBERS]})
        for start in range(0, len(pushes), BATCH_MEMBERS)
    ]


def _send_all(messages: list[tuple[int, PushMessage]]) -> None:
    layer = get_channel_layer()
    if layer is None or not messages:
        return

    per_user: dict[int, list[PushMessage]] = {}
    for uid, message in messages:
        per_user.setdefault(uid, []).append(message)

    batches = _batches(per_user)
    # Notifications not yet handed to the layer: what a failure leaves unpushed.
    unsent = sum(1 for _, message in messages if message.get("type") == "notification")

    async def send() -> None:
        nonlocal unsent
        try:
            async with asyncio.timeout(PUSH_TIMEOUT_SECONDS + len(per_user) / 1000):
                for group, message in batches:
                    await layer.group_send(group, message)
                    unsent -= _notifications_in(message)
        except TimeoutError:
            logger.warning("could not push to %d members in time: Redis is slow", len(per_user))
            metrics.notification_push_failures.inc(unsent)
        except Exception as error:  # the rows are saved; clients will catch up with `resume`
            logger.warning("could not push to %d members: %r", len(per_user), error)
            metrics.notification_push_failures.inc(unsent)

    async_to_sync(send)()


def _notifications_in(message: dict[str, Any]) -> int:
    """How many notifications one group message of `_batches` carries."""
    if message["type"] == "push.batch":
        queues = [queue for _, queue in message["pushes"]]
    else:
        queues = [message["messages"]]
    return sum(1 for queue in queues for item in queue if item.get("type") == "notification")


def notifications(ids: Iterable[int]) -> None:
    """Push saved notifications to their recipients, then each recipient's new unread count.

    Each carries the id of its recipient's notification before it: pushes from two processes can
    reach a connection out of id order, and that is how it notices one is still on its way."""
    _send_all(notification_messages(ids))


def notification_messages(ids: Iterable[int]) -> list[tuple[int, PushMessage]]:
    """(recipient, message) pairs that `notifications` pushes, read now, to `send` later."""
    items = selectors.notifications_by_id(list(ids))
    if not items:
        return []
    recipients = {item.recipient_id for item in items}
    counts = selectors.unread_counts(recipients)
    messages: list[tuple[int, PushMessage]] = [
        (item.recipient_id, payloads.pushed_notification(item)) for item in items
    ]
    messages += [(uid, payloads.unread_count_message(counts.get(uid, 0))) for uid in recipients]
    return messages


def send(messages: list[tuple[int, PushMessage]]) -> None:
    """Push (recipient, message) pairs read before (`notification_messages`)."""
    _send_all(messages)


def published_messages(
    workbook: Workbook, created_at: datetime, rows: Iterable[Sequence[int]]
) -> list[tuple[int, PushMessage]]:
    """(recipient, message) pairs pushing one fan-out batch of `published`, given as stored: (id,
    recipient, previous, unread count) each, all by the workbook's author (loaded with it) at
    `created_at`. The notification is the same for every follower but its id, so it is made once,
    not read back and made a thousand times; then the new counts. Reads nothing from the database:
    the workbook is as the batch read it, published, just before storing (`shown_only` checks it
    still is, just before sending)."""
    rows = list(rows)
    if not rows:
        return []
    item = Notification(
        id=0,
        recipient_id=0,
        actor=workbook.author,
        verb=Verb.PUBLISHED,
        workbook=workbook,
        created_at=created_at,
        read=False,
    )
    shared, row = payloads.notification(item), payloads.shared_row(item)
    messages: list[tuple[int, PushMessage]] = [
        (
            recipient_id,
            {
                "type": "notification",
                "notification": {**shared, "id": pk, "html": payloads.with_id(row, pk)},
                "previous": previous,
            },
        )
        for pk, recipient_id, previous, _ in rows
    ]
    messages += [
        (recipient_id, payloads.unread_count_message(unread)) for _, recipient_id, _, unread in rows
    ]
    return messages


def published(workbook: Workbook, created_at: datetime, rows: Iterable[Sequence[int]]) -> None:
    """Push one fan-out batch of `published` (`published_messages`), less its notifications if
    the workbook is no longer shown to followers (`shown_only`)."""
    _send_all(shown_only(workbook.pk, published_messages(workbook, created_at, rows)))


def shown_only(
    workbook_id: int, messages: list[tuple[int, PushMessage]]
) -> list[tuple[int, PushMessage]]:
    """A fan-out batch's messages, less its notifications if followers may no longer see the
    workbook: made a draft, deleted, or its author deactivated since the batch read it (its push
    may wait behind earlier batches' on a thread of its own). One query, on the primary, just
    before sending; the new unread counts are sent either way (the rows are stored, and the
    notification shows no workbook that is not published: Notification.shown_workbook)."""
    if not messages:
        return messages
    shown = (
        Workbook.objects.using(router.db_for_write(Workbook))
        .filter(pk=workbook_id)
        .listed()
        .exists()
    )
    if shown:
        return messages
    return [(uid, message) for uid, message in messages if message.get("type") != "notification"]


def _run(job: Callable[[], None]) -> None:
    try:
        job()
    except Exception:  # the rows are saved; clients catch up with `resume`
        logger.exception("a push failed")


class InOrder:
    """Jobs (fan-out batches' pushes, say) run one at a time, in the order given, on a
    thread of their own, while the caller goes on (stores the next batch): a fan-out then takes
    about as long as its storing, not its storing plus its pushing. Leaving the `with` block waits
    for the jobs given, then closes the thread's database connection; a job given after that, or
    outside it, runs at once. A job that reads the database (`shown_only`) reads it on the
    thread's own connection: only what is committed, none of the caller's transaction (nor its
    test's)."""

    def __init__(self) -> None:
        self._thread: ThreadPoolExecutor | None = None

    def __enter__(self) -> InOrder:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="push")
        return self

    def __exit__(self, *exc_info: object) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.submit(connections.close_all)  # the thread's own, opened by a job
            thread.shutdown(wait=True)

    def put(self, job: Callable[[], None]) -> None:
        if self._thread is None:
            _run(job)
        else:
            self._thread.submit(_run, job)


def unread_count(user_id: int) -> None:
    count = selectors.unread_count(user_id)
    _send_all([(user_id, payloads.unread_count_message(count))])


def withdrawn(ids_by_recipient: dict[int, list[int]]) -> None:
    """Tell each recipient's connections which of their notifications were deleted (an action
    undone, a comment deleted, a block), then their new unread count: a page showing one takes it
    away. A hint like the count: a connection that misses it is not told again (the rows are gone;
    the page is right at its next load)."""
    if not ids_by_recipient:
        return
    counts = selectors.unread_counts(ids_by_recipient)
    messages: list[tuple[int, PushMessage]] = [
        (uid, payloads.withdrawn_message(pk)) for uid, ids in ids_by_recipient.items() for pk in ids
    ]
    messages += [
        (uid, payloads.unread_count_message(counts.get(uid, 0))) for uid in ids_by_recipient
    ]
    _send_all(messages)


# --- The end of a sign-in: the member's sockets and streams check theirs ---------------------------


def _tell(user_id: int, event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(user_group(user_id), event)
    except Exception as error:
        # The change is committed and must not fail its request (Redis down, say); the sockets'
        # periodic re-check closes them anyway.
        logger.warning("could not tell the sockets of member %s: %r", user_id, error)


def sign_ins_ended(user_id: int) -> None:
    """Every sign-in of the member ended (accounts.signals.sign_ins_ended)."""
    _tell(user_id, {"type": "auth.sign_ins_ended"})


def signed_out(user_id: int, session_key: str) -> None:
    """One session of the member signed out: the sockets and streams opened with it close."""
    _tell(user_id, {"type": "auth.signed_out", "session": session_digest(session_key)})
