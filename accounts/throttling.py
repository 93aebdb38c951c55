"""Brute-force guards, counted in the cache (Redis in production, so every process sees the same counts).

- `SignInThrottle`: failed sign-ins and wrong codes, per username and per client address, in a fixed window.
  Once either count reaches its limit, every check of that account's secrets (password, TOTP or recovery
  code, on any path) or from that address answers 429 with Retry-After until the window ends.
- `SignUpThrottle`: account-creation attempts per client address, one budget for the page and the API.

While Redis is down they neither lock everyone out nor let everyone through: each web process counts
in its own memory (sigma_playground.cache.counted), so a limit holds per process, and an
attacker gets at most the number of web processes times the limit until Redis is back.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.core.cache import BaseCache

from sigma_playground.cache import counted

T = TypeVar("T")


def _counted(use: Callable[[BaseCache], T]) -> T:
    return counted("accounts-throttling", use)


@dataclass(frozen=True)
class _Counter:
    key: str
    limit: int

    @property
    def until_key(self) -> str:
        return f"{self.key}:until"


class _FixedWindows:
    """Counters that each start a window at their first hit and refuse once they reach their limit,
    until that window ends."""

    def __init__(self, counters: tuple[_Counter, ...], window: int) -> None:
        self._counters = counters
        self.window = window

    def retry_after(self) -> int | None:
        """Seconds until the guarded action may be tried again, or None when it may be tried now."""
        now = time.time()
        keys = [key for c in self._counters for key in (c.key, c.until_key)]
        values = _counted(lambda cache: cache.get_many(keys))
        waits = [
            math.ceil(values.get(c.until_key, now + 1) - now)
            for c in self._counters
            if values.get(c.key, 0) >= c.limit
        ]
        # A window is over at its `until`, even if the cache has not dropped its keys yet.
        waits = [wait for wait in waits if wait > 0]
        return max(waits) if waits else None

    def _hit(self) -> None:
        _counted(self._hit_in)

    def _hit_in(self, cache: BaseCache) -> None:
        until = time.time() + self.window
        for counter in self._counters:
            # add() only sets a key that is absent, so the window starts at the first hit.
            cache.add(counter.until_key, until, timeout=self.window)
            cache.add(counter.key, 0, timeout=self.window)
            try:
                cache.incr(counter.key)
            except ValueError:  # expired between add() and incr()
                cache.set(counter.key, 1, timeout=self.window)


class SignInThrottle(_FixedWindows):
    def __init__(self, username: str, address: str) -> None:
        digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
        self._username_counter = _Counter(
            f"signin:user:{digest}", settings.SIGNIN_MAX_FAILURES_PER_USERNAME
        )
        super().__init__(
            (
                self._username_counter,
                _Counter(f"signin:addr:{address}", settings.SIGNIN_MAX_FAILURES_PER_ADDRESS),
            ),
            int(settings.SIGNIN_FAILURE_WINDOW.total_seconds()),
        )

    def record_failure(self) -> None:
        self._hit()

    def record_success(self) -> None:
        """A correct sign-in clears the username's count (not the address's: it may be shared)."""
        keys = [self._username_counter.key, self._username_counter.until_key]
        _counted(lambda cache: cache.delete_many(keys))


class SignUpThrottle(_FixedWindows):
    """Every attempt counts, refused or not: a refused sign-up still says whether a name is taken."""

    def __init__(self, address: str) -> None:
        super().__init__(
            (_Counter(f"signup:addr:{address}", settings.SIGNUP_MAX_PER_ADDRESS),),
            int(settings.SIGNUP_WINDOW.total_seconds()),
        )

    def record_attempt(self) -> None:
        self._hit()


class VerificationEmailThrottle(_FixedWindows):
    """Verification emails a member asks for (a new link, a new address), per member per hour:
    each one is mail to an address that may not be theirs."""

    def __init__(self, member_pk: int) -> None:
        super().__init__(
            (
                _Counter(
                    f"verify-email:user:{member_pk}", settings.EMAIL_VERIFICATION_EMAILS_PER_HOUR
                ),
            ),
            3600,
        )

    def record_email(self) -> None:
        self._hit()
