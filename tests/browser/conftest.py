"""A real Chromium, driven by Playwright's sync API, against pytest-django's live server.

Chromium is the system's (tests.conftest.CHROMIUM); Playwright never downloads a browser here.
Tests in this folder are marked `browser`: without Chromium they skip, under CI=true they fail
(tests/conftest.py checks that before any fixture runs, so launching in a fixture is safe).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import CHROMIUM

ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run browser tests last. The session's Chromium, once started, leaves Playwright's loop
    running in the main thread until the session ends, and async_to_sync refuses such a thread."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an asyncio loop running in the test thread, and Django refuses
    # ORM calls (factories, assertions, the database flush) from a thread with a running loop
    # unless told it is safe. It is: the live server runs in its own thread. Set only while
    # Playwright runs: child processes inherit it, and `manage.py check --deploy` rightly fails on
    # it (async.E001).
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser profile per test: no cookies carried over."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(os.environ.get("ARTIFACTS_DIR") or PROJECT_ROOT / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path
