"""The Redis cache fails open: a stopped or stalled Redis reads as a miss, costs milliseconds, and the
limits counted in it keep counting in the process's own memory.

Redis here is a port nothing listens on (stopped) or a socket that accepts and never answers
(stalled); tests/faults/test_redis_down.py stops a real one under a running server.
"""

import logging
import socket
import time
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache.backends.locmem import LocMemCache
from django.test import RequestFactory

from accounts.throttling import SignInThrottle, SignUpThrottle
from sigma_playground import cache as fail_open
from sigma_playground.cache import FailOpenRedisCache
from social import services as social_services
from tests.factories import BROWSER, UserFactory, WorkbookFactory
from tests.private_services import free_port
from workbooks import services as workbook_services

TIMEOUT = 0.2


def backend(location: str) -> FailOpenRedisCache:
    options = {"socket_connect_timeout": TIMEOUT, "socket_timeout": TIMEOUT}
    return FailOpenRedisCache(location, {"KEY_PREFIX": "t", "OPTIONS": options})


@pytest.fixture
def stopped_redis() -> str:
    """The URL of a Redis that is not running (connection refused)."""
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture
def stalled_redis() -> Iterator[str]:
    """The URL of a Redis that accepts connections and never answers (as under SIGSTOP)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


@pytest.fixture
def redis_down(settings, stopped_redis):
    """The site's cache is a stopped Redis."""
    settings.CACHES = {
        "default": {
            "BACKEND": "sigma_playground.cache.FailOpenRedisCache",
            "LOCATION": stopped_redis,
            "OPTIONS": {"socket_connect_timeout": TIMEOUT, "socket_timeout": TIMEOUT},
        }
    }
    for name in ("accounts-throttling", "views"):
        LocMemCache(f"fallback-{name}", {}).clear()
    return stopped_redis


def test_a_stopped_redis_reads_as_a_miss_and_writes_do_nothing(stopped_redis):
    cache = backend(stopped_redis)

    started = time.monotonic()
    answers = (
        cache.get("k", "default"),
        cache.get_many(["k", "l"]),
        cache.has_key("k"),
        cache.add("k", 1),
        cache.set("k", 1),
        cache.set_many({"k": 1, "l": 2}),
        cache.delete("k"),
        cache.delete_many(["k"]),
        cache.touch("k"),
        cache.get_or_set("k", "computed"),
    )
    with pytest.raises(ValueError, match="not found"):  # as for a key that expired
        cache.incr("k")
    elapsed = time.monotonic() - started

    assert answers == (
        "default",
        {},
        False,
        False,
        None,
        ["k", "l"],
        False,
        None,
        False,
        "computed",
    )
    assert elapsed < 0.5
    assert not cache.available


def test_a_stalled_redis_costs_one_short_timeout_then_nothing(stalled_redis):
    cache = backend(stalled_redis)

    started = time.monotonic()
    first = cache.get("k")
    first_took = time.monotonic() - started
    started = time.monotonic()
    rest = [cache.get("k") for _ in range(50)]
    rest_took = time.monotonic() - started

    assert first is None
    assert set(rest) == {None}
    assert first_took < 3 * TIMEOUT
    assert rest_took < 0.05, "calls after a timeout should not wait on Redis again"


def test_another_thread_s_cache_object_skips_redis_too(stalled_redis):
    # Django makes one cache object per thread; what one learned serves the others.
    backend(stalled_redis).get("k")

    started = time.monotonic()
    backend(stalled_redis).get("k")

    assert time.monotonic() - started < 0.05


def test_redis_is_tried_again_after_the_retry_interval(stopped_redis, monkeypatch):
    cache = backend(stopped_redis)
    cache.get("k")
    assert not cache.available

    monkeypatch.setattr(fail_open.time, "monotonic", lambda: time.time() + 10 * 3600)

    assert cache.available


def test_a_failing_redis_is_logged_once_per_interval(stopped_redis, caplog):
    cache = backend(stopped_redis)

    with caplog.at_level(logging.WARNING, logger="sigma_playground.cache"):
        for _ in range(20):
            cache.get("k")
            cache.set("k", 1)

    assert len(caplog.records) == 1
    assert "cache unavailable" in caplog.records[0].getMessage()


@pytest.mark.django_db
def test_sign_in_lockout_still_holds_in_the_process_while_redis_is_down(redis_down, settings):
    throttle = SignInThrottle("Ada", "203.0.113.7")

    for _ in range(settings.SIGNIN_MAX_FAILURES_PER_USERNAME):
        assert throttle.retry_after() is None
        throttle.record_failure()

    assert throttle.retry_after() is not None
    assert SignInThrottle("ada", "198.51.100.1").retry_after() is not None  # the username's count


@pytest.mark.django_db
def test_sign_up_limit_still_holds_in_the_process_while_redis_is_down(redis_down, settings):
    settings.SIGNUP_MAX_PER_ADDRESS = 2
    throttle = SignUpThrottle("203.0.113.8")

    throttle.record_attempt()
    throttle.record_attempt()

    assert throttle.retry_after() is not None


@pytest.mark.django_db
def test_social_rate_limits_fail_open_while_redis_is_down(redis_down, settings):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "comment": 2}
    member = UserFactory()

    for _ in range(5):
        social_services.check_rate(member, "comment")  # never RateLimited


@pytest.mark.django_db
def test_a_reader_is_counted_once_while_redis_is_down(redis_down):
    workbook = WorkbookFactory()
    request = RequestFactory().get("/", HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="203.0.113.9")
    request.user = AnonymousUser()
    request.session = type("Session", (), {"session_key": None})()

    counted = [workbook_services.record_view(request, workbook) for _ in range(3)]

    assert counted == [True, False, False]


def test_the_redis_client_is_made_once_per_connection_pool_not_per_call(stopped_redis, monkeypatch):
    # Making a redis.Redis builds its table of reply callbacks: about half a millisecond of CPU that
    # every cache call paid, more than a page served whole from the cache cost otherwise.
    import redis

    made = []
    real = redis.Redis.__init__

    def counting(self, *args, **kwargs):
        made.append(self)
        real(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting)
    cache = backend(stopped_redis)

    clients = {id(cache._cache.get_client(write=write)) for write in (True, False, True, False)}

    assert len(clients) == 1
    assert len(made) == 1
