"""Per-member rate limits: at most settings.SOCIAL_RATE_LIMITS[action] of an action per member per
clock minute, for every write a member can repeat (follows, comments, reports, provider links...).

Counted in the shared cache, so every process counts together. The cache fails open
(sigma_playground.cache): while Redis is down nothing is refused here, which is the right way to
fail for limits that keep the site pleasant rather than guard a secret (those are
accounts.throttling's, which count in the process meanwhile).
"""

from __future__ import annotations

import time
from typing import Protocol

from django.conf import settings
from django.core.cache import cache

from .errors import RetryLater


class RateLimited(RetryLater):
    """Too many of an action for now: a 429 with Retry-After. `message` says which, if it helps
    the member more than "Too many requests."."""

    def __init__(self, retry_after: int, message: str = "Too many requests.") -> None:
        super().__init__(f"{message} Try again in {retry_after} seconds.")
        self.retry_after = retry_after


class _HasPk(Protocol):
    @property
    def pk(self) -> int | None: ...


def check_rate(member: _HasPk | int, action: str) -> None:
    """Count one `action` of `member` (a member or their id) in this minute; RateLimited, until
    the minute ends, past the action's limit. One account cannot flood others with
    notifications, reports or mail."""
    member_id = member if isinstance(member, int) else member.pk
    limit = settings.SOCIAL_RATE_LIMITS[action]
    key = f"rate:{action}:{member_id}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=120)
        count = 1
    if count > limit:
        raise RateLimited(retry_after=60 - int(time.time()) % 60 or 1)
