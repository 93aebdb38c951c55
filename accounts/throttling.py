"""Brute-force guard for sign-in, shared by the HTML form and the token endpoint.

Failures are counted in the cache (Redis in production, so every process sees the same counts) per
username and per client address, in a fixed window. Once either count reaches its limit, sign-in for that
username or from that address answers 429 with Retry-After until the window ends, whatever the password.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's IP, trusting X-Forwarded-For only as far as NUM_PROXIES proxies we run ourselves."""
    remote = request.META.get("REMOTE_ADDR", "")
    num_proxies = settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if num_proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(num_proxies, len(hops))]
    return remote


@dataclass(frozen=True)
class _Counter:
    key: str
    limit: int

    @property
    def until_key(self) -> str:
        return f"{self.key}:until"


class SignInThrottle:
    def __init__(self, username: str, address: str) -> None:
        digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
        self._counters = (
            _Counter(f"signin:user:{digest}", settings.SIGNIN_MAX_FAILURES_PER_USERNAME),
            _Counter(f"signin:addr:{address}", settings.SIGNIN_MAX_FAILURES_PER_ADDRESS),
        )
        self._username_counter = self._counters[0]

    @property
    def window(self) -> int:
        return int(settings.SIGNIN_FAILURE_WINDOW.total_seconds())

    def retry_after(self) -> int | None:
        """Seconds until sign-in may be tried again, or None when it may be tried now."""
        now = time.time()
        values = cache.get_many([key for c in self._counters for key in (c.key, c.until_key)])
        waits = [
            math.ceil(values.get(c.until_key, now + 1) - now)
            for c in self._counters
            if values.get(c.key, 0) >= c.limit
        ]
        # A window is over at its `until`, even if the cache has not dropped its keys yet.
        waits = [wait for wait in waits if wait > 0]
        return max(waits) if waits else None

    def record_failure(self) -> None:
        until = time.time() + self.window
        for counter in self._counters:
            # add() only sets a key that is absent, so the window starts at the first failure.
            cache.add(counter.until_key, until, timeout=self.window)
            cache.add(counter.key, 0, timeout=self.window)
            try:
                cache.incr(counter.key)
            except ValueError:  # expired between add() and incr()
                cache.set(counter.key, 1, timeout=self.window)

    def record_success(self) -> None:
        """A correct sign-in clears the username's count (not the address's: it may be shared)."""
        cache.delete_many([self._username_counter.key, self._username_counter.until_key])
