"""Fixtures and rules for the whole suite.

Tests marked `postgres`, `redis`, `browser` or `axe` need the real thing. Without it they skip,
saying what to install; under CI=true they fail instead, so a green CI run always means the real
parts were exercised.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import PASSWORD, CuratorFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# axe-core, installed from npm by `make test` next to the browser tests (tests/browser/axe/).
AXE_SCRIPT = Path(__file__).parent / "browser" / "axe" / "node_modules" / "axe-core" / "axe.min.js"


def require(what: str, available: bool, how: str) -> None:
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but is not available: {how}", pytrace=False)
    pytest.skip(f"needs {what}: {how}")


def redis_answers() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres"):
        require(
            "PostgreSQL",
            connection.vendor == "postgresql",
            "set DATABASE_URL=postgres://user@host:5432/dbname",
        )
    if item.get_closest_marker("redis"):
        require(
            "Redis", redis_answers(), "set REDIS_URL=redis://127.0.0.1:6379/0 to a running Redis"
        )
    if item.get_closest_marker("browser"):
        require(
            "Chromium",
            bool(shutil.which(CHROMIUM)),
            "install it (apt-get install chromium) or set CHROMIUM_PATH",
        )
    if item.get_closest_marker("axe"):
        require(
            "axe-core",
            AXE_SCRIPT.is_file(),
            "install Node.js and npm, then `make test` (or `npm ci --prefix tests/browser/axe`)",
        )


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_UPLOAD_ROOT = tmp_path / "uploads"


@pytest.fixture(autouse=True)
def _clean_cache():
    """Each test starts with an empty cache (throttle counters live there)."""
    _clear_cache()
    yield
    _clear_cache()


def _clear_cache() -> None:
    if settings.REDIS_URL:
        # Only this suite's keys: FLUSHDB would also drop the channel layer's and broker's.
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*"))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db):
    return UserFactory(username="owner")


@pytest.fixture
def other_user(db):
    return UserFactory(username="outsider")


@pytest.fixture
def author(db):
    """A member whose workbooks a test reads or acts on; username "author"."""
    return UserFactory(username="author")


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def auth_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def curator(db):
    """Staff (to enter the admin), but only to curate: never to change someone's workbook."""
    return CuratorFactory(username="curator")


@pytest.fixture
def admin_client(client, superuser):
    """The test client signed in as `superuser` (in place of pytest-django's `admin_client`)."""
    client.force_login(superuser)
    return client
