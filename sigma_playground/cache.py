"""A Redis cache that fails open: Redis stopped, stalled or full makes pages render uncached, never fail.

The cache is an optimisation, so no request may fail because it does. Every call has a short socket
timeout (CACHE_TIMEOUT_MS), and after a connection error or timeout this process leaves Redis alone
for RETRY_SECONDS: a stalled Redis costs one timeout per process per interval, not one per call, and
the web workers stay free for requests (and /healthz). While Redis fails, reads miss, writes do
nothing, `add()` stores nothing (False) and `incr()` behaves as for a key that has expired
(ValueError), which every caller already handles. Failures are logged once per interval.

Callers that count something they must not lose track of (the sign-in and sign-up guards, the view
de-duplication) use `counted()`: the shared cache while it answers, this process's own memory while
it does not. `cache_recovered` is sent when Redis answers again after failing, so
what was written meanwhile (the gallery's version) can be put right.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache import BaseCache, cache
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.dispatch import Signal
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .observability import metrics
from .observability.batch import Tally

logger = logging.getLogger(__name__)

# Long enough that a stalled Redis costs each process one timeout per interval, short enough that
# the cache is back in use seconds after Redis is.
RETRY_SECONDS = 5.0

cache_recovered = Signal()

_READS = frozenset({"get", "get_many", "has_key"})

# Reads, by whether the key was there (a read while Redis fails is a miss: the page goes without).
_hits = Tally(metrics.cache_requests.labels(result="hit"))
_misses = Tally(metrics.cache_requests.labels(result="miss"))
_MISSING = object()  # what get() answers for a key that is not there, whatever default was asked

T = TypeVar("T")


class _Circuit:
    """The state of one Redis location in this process, shared by every thread's backend instance
    (Django makes one cache object per thread)."""

    def __init__(self) -> None:
        self.open_until = 0.0  # monotonic time before which Redis is not tried
        self.failed = False  # failed since it last answered
        self.last_logged = 0.0
        self.lock = threading.Lock()

    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def trip(self, error: Exception, operation: str, *, unreachable: bool) -> None:
        now = time.monotonic()
        with self.lock:
            self.failed = True
            if unreachable:
                self.open_until = now + RETRY_SECONDS
            if now - self.last_logged < RETRY_SECONDS:
                return
            self.last_logged = now
        logger.warning(
            "cache unavailable (%s: %r); serving without it for %.0f s",
            operation,
            error,
            RETRY_SECONDS if unreachable else 0,
        )

    def answered(self) -> bool:
        """Redis answered; True the first time after it had failed."""
        if not self.failed:
            return False
        with self.lock:
            recovered, self.failed = self.failed, False
        if recovered:
            logger.warning("cache available again")
        return recovered


_circuits: dict[str, _Circuit] = {}
_circuits_lock = threading.Lock()


def _circuit_for(location: str) -> _Circuit:
    with _circuits_lock:
        return _circuits.setdefault(location, _Circuit())


class _ReusedClient(RedisCacheClient):
    """Django's client, keeping one `redis.Redis` per connection pool instead of making one per call:
    each one built its table of about 170 reply callbacks, about half a millisecond of CPU for every
    cache call (a page served whole from the cache spent more on that than on anything else). A
    `redis.Redis` holds no connection of its own (each command takes one from the pool), so reusing
    it changes nothing else."""

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # Django's, unstubbed
        clients = self.__dict__.setdefault("_clients", {})
        client = clients.get(pool)
        if client is None:
            client = clients[pool] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class FailOpenRedisCache(RedisCache):
    """Django's RedisCache, answering a miss or doing nothing when Redis fails (module docstring)."""

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ReusedClient
        self._circuit = _circuit_for(",".join(self._servers))  # type: ignore[attr-defined]

    @property
    def available(self) -> bool:
        """False while this process is leaving Redis alone after a failure."""
        return not self._circuit.is_open()

    def _call(self, operation: str, call: Callable[[], T], fallback: Callable[[], T]) -> T:
        # Django makes one backend object per thread, so this is the caller's own last call.
        self.last_call_failed = True
        if self._circuit.is_open():
            return fallback()
        try:
            result = call()
        except (RedisConnectionError, RedisTimeoutError) as error:
            self._circuit.trip(error, operation, unreachable=True)
            return fallback()
        except RedisError as error:  # answering, but refusing: out of memory, read-only replica
            self._circuit.trip(error, operation, unreachable=False)
            return fallback()
        self.last_call_failed = False
        if self._circuit.answered():
            cache_recovered.send(sender=type(self), alias=self)
            if operation in _READS:  # read again what the receivers may just have changed
                return self._call(operation, call, fallback)
        return result

    def add(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> bool:
        return self._call(
            "add", lambda: super(FailOpenRedisCache, self).add(key, value, timeout, version), _false
        )

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        value = self._call(
            "get",
            lambda: super(FailOpenRedisCache, self).get(key, _MISSING, version),
            lambda: _MISSING,
        )
        if value is _MISSING:
            _misses.inc()
            return default
        _hits.inc()
        return value

    def set(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> None:
        self._call(
            "set", lambda: super(FailOpenRedisCache, self).set(key, value, timeout, version), _none
        )

    def touch(
        self, key: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return self._call(
            "touch", lambda: super(FailOpenRedisCache, self).touch(key, timeout, version), _false
        )

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._call(
            "delete", lambda: super(FailOpenRedisCache, self).delete(key, version), _false
        )

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        keys = list(keys)
        found = self._call(
            "get_many", lambda: super(FailOpenRedisCache, self).get_many(keys, version), dict
        )
        # A read per key, as for get(): a page reading its parts in one call reads several.
        if found:
            _hits.inc(len(found))
        if len(keys) > len(found):
            _misses.inc(len(keys) - len(found))
        return found

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._call(
            "has_key", lambda: super(FailOpenRedisCache, self).has_key(key, version), _false
        )

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        def missing() -> int:
            # As for a key that expired: every caller already starts its count again then.
            raise ValueError(f"Key {key!r} not found (the cache is unavailable).")

        return self._call(
            "incr", lambda: super(FailOpenRedisCache, self).incr(key, delta, version), missing
        )

    def set_many(
        self,
        data: dict[Any, Any],
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> list[Any]:
        return self._call(
            "set_many",
            lambda: super(FailOpenRedisCache, self).set_many(data, timeout, version),
            lambda: list(data),  # the keys that were not stored, as the API says
        )

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        self._call(
            "delete_many", lambda: super(FailOpenRedisCache, self).delete_many(keys, version), _none
        )

    # Django's Redis backend answers whether Redis flushed (its base class's stub says None).
    def clear(self) -> bool:  # type: ignore[override]
        flushed = self._call("clear", lambda: super(FailOpenRedisCache, self).clear(), _false)
        return bool(flushed)


def _false() -> bool:
    return False


def _none() -> None:
    return None


def last_call_failed(backend: BaseCache) -> bool:
    """Whether this thread's last call to `backend` did not reach Redis (never, for other backends):
    for a caller that must know a write or delete did not happen (accounts.sessions)."""
    return getattr(backend, "last_call_failed", False)


def is_available(backend: BaseCache) -> bool:
    """Whether `backend` is answering, as far as this process knows (always, for other backends)."""
    return getattr(backend, "available", True)


def counted(name: str, use: Callable[[BaseCache], T]) -> T:
    """`use(shared_or_local(name))`, done again on the local memory if Redis failed during it, so
    that the count Redis dropped is kept where the next check will look."""
    store = shared_or_local(name)
    result = use(store)
    if store is cache and not is_available(cache):
        result = use(shared_or_local(name))
    return result


def shared_or_local(name: str) -> BaseCache:
    """The shared cache while it answers; while it does not, this process's own memory named `name`.

    For counts that should go on being kept, per process, rather than forgotten while Redis is down.
    Counts kept locally are not carried over when Redis is back, and are forgotten with the process.
    """
    if is_available(cache):
        return cache
    return LocMemCache(f"fallback-{name}", {"OPTIONS": {"MAX_ENTRIES": 10_000}})
