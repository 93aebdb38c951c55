"""Hints to connected clients, sent after the rows they describe are committed.

Each member has one channel-layer group, `user_<id>`. Nothing depends on a message arriving: a client
that missed one asks for everything after its last id (`resume`), and a socket that missed the end of
its sign-in finds out at its next re-check (consumers.AUTH_RECHECK_SECONDS).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from sigma_playground.websocket import session_digest

from . import payloads, selectors

logger = logging.getLogger(__name__)

PUSH_CONCURRENCY = 32
# A push to a few members takes milliseconds. Past this deadline (plus a millisecond a member) Redis
# is stalled: the request or task that committed the rows stops waiting, and clients catch up with
# `resume`.
PUSH_TIMEOUT_SECONDS = 1.0
LOCK_NAMESPACE = 4_401  # advisory lock class for "notifications of one recipient"


def user_group(user_id: int) -> str:
    return f"user_{user_id}"


def _envelope(messages: list[dict]) -> dict:
    # One channel-layer message per member per push: half the Redis traffic of a fan-out.
    return {"type": "push.message", "messages": messages}


def _send_all(messages: list[tuple[int, dict]]) -> None:
    layer = get_channel_layer()
    if layer is None or not messages:
        return

    per_user: dict[int, list[dict]] = {}
    for uid, message in messages:
        per_user.setdefault(uid, []).append(message)
    # A few dozen sends at a time reuse the pool's connections; thousands at once would each open
    # one. Each member's messages travel together, in order: a notification, then the new count.
    limit = asyncio.Semaphore(PUSH_CONCURRENCY)

    async def send_to(uid: int, queue: list[dict]) -> None:
        async with limit:
            await layer.group_send(user_group(uid), _envelope(queue))

    async def send() -> None:
        try:
            results = await asyncio.wait_for(
                asyncio.gather(
                    *(send_to(uid, queue) for uid, queue in per_user.items()),
                    return_exceptions=True,
                ),
                timeout=PUSH_TIMEOUT_SECONDS + len(per_user) / 1000,
            )
        except TimeoutError:
            logger.warning("could not push to %d members in time: Redis is slow", len(per_user))
            return
        failed = [r for r in results if isinstance(r, Exception)]
        if failed:  # the rows are saved; clients will catch up with `resume`
            logger.warning(
                "could not push to %d of %d members: %r", len(failed), len(results), failed[0]
            )

    async_to_sync(send)()


def notifications(ids: Iterable[int]) -> None:
    """Push saved notifications to their recipients, then each recipient's new unread count.

    Each carries the id of its recipient's notification before it: pushes from two processes can
    reach a connection out of id order, and that is how it notices one is still on its way."""
    items = selectors.notifications_by_id(list(ids))
    if not items:
        return
    recipients = {item.recipient_id for item in items}
    counts = selectors.unread_counts(recipients)
    messages = [(item.recipient_id, payloads.pushed_notification(item)) for item in items]
    messages += [(uid, payloads.unread_count_message(counts.get(uid, 0))) for uid in recipients]
    _send_all(messages)


def unread_count(user_id: int) -> None:
    count = selectors.unread_count(user_id)
    _send_all([(user_id, payloads.unread_count_message(count))])


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
