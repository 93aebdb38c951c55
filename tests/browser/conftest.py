"""A real Chromium, driven by Playwright's sync API, against pytest-django's live server (WSGI), or
against the project's ASGI application where a test needs websockets (`asgi_live_server`).

Chromium is the system's (tests.conftest.CHROMIUM); Playwright never downloads a browser here.
Tests in this folder are marked `browser`: without Chromium they skip, under CI=true they fail
(tests/conftest.py checks that before any fixture runs, so launching in a fixture is safe).
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.conftest import CHROMIUM
from tests.processes import stop

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


@pytest.fixture
def quiet_push(monkeypatch):
    """For content made in the test's thread (factories, services, `seed_demo`), where Playwright's
    loop runs: telling live sockets (there are none in the live server) would fail there, noisily."""
    from social import push

    monkeypatch.setattr(push, "_send_all", lambda messages: None)
    monkeypatch.setattr(push, "_tell", lambda user_id, event: None)


# --- Sigma frames, offline --------------------------------------------------------------------------

SIGMA_LOAD_TIMEOUT_SECONDS = 2


@pytest.fixture
def sigma_standin(settings):
    """Frames show the site's own stand-in for Sigma (/_standin/sigma/<id>/), never Sigma, and give
    up waiting for `workbook:loaded` after 2 seconds. The frame's src and the CSP are computed per
    request, so the live server sees these settings."""
    settings.SIGMA_EMBED_STANDIN = True
    settings.SIGMA_EMBED_LOAD_TIMEOUT = SIGMA_LOAD_TIMEOUT_SECONDS
    return settings


@dataclass
class Traffic:
    """Every request the browser made and every console message it logged, across the contexts
    opened by `new_page`."""

    origin: str  # the live server's, e.g. http://localhost:41234
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def is_local(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            return True  # never leaves the browser
        return f"{parts.scheme}://{parts.netloc}" == self.origin

    def outside(self) -> list[str]:
        return [url for url in self.requests if not self.is_local(url)]

    def csp_violations(self) -> list[str]:
        return [text for text in self.console if "Content Security Policy" in text]

    def watch(self, context: BrowserContext) -> None:
        context.on("request", lambda request: self.requests.append(request.url))
        context.on(
            "console", lambda message: self.console.append(f"{message.type}: {message.text}")
        )
        # Recorded above, then refused: a failing test must not reach Sigma or anyone else either.
        context.route(lambda url: not self.is_local(url), lambda route: route.abort())

    def assert_clean(self) -> None:
        assert self.outside() == [], f"requests left the live server: {self.outside()}"
        assert self.csp_violations() == [], f"CSP violations: {self.csp_violations()}"


@pytest.fixture
def traffic(live_server) -> Traffic:
    return Traffic(origin=live_server.url)


@pytest.fixture
def new_page(browser: Browser, traffic: Traffic, sigma_standin) -> Iterator[Callable[..., Page]]:
    """Opens a page in a fresh browser profile (no cookies shared with other pages), on a site whose
    Sigma frames show the stand-in. Every request and console message is recorded in `traffic`;
    requests to any host but the live server are refused. When the test ends, none may have been
    made and no Content Security Policy may have been violated.

    `init_scripts` run in every frame before the page's own scripts.
    """
    yield from _page_opener(browser, traffic)


def _page_opener(browser: Browser, traffic: Traffic) -> Iterator[Callable[..., Page]]:
    contexts: list[BrowserContext] = []

    def open_page(*, width: int = 1280, height: int = 800, init_scripts: tuple[str, ...] = ()):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
        context.set_default_timeout(10_000)
        contexts.append(context)
        traffic.watch(context)
        for script in init_scripts:
            context.add_init_script(script)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
    traffic.assert_clean()


# --- The ASGI application, websockets included ------------------------------------------------------

ASGI_SERVER_START_SECONDS = 60


@dataclass(frozen=True)
class AsgiLiveServer:
    url: str  # e.g. http://127.0.0.1:41234
    log: Path  # the server's stderr: read it when a test fails
    media_root: Path  # where the server stores and serves /media/ from (never the project's var/)


@pytest.fixture(scope="session")
def asgi_live_server(
    django_db_setup, django_db_blocker, tmp_path_factory
) -> Iterator[AsgiLiveServer]:
    """The project's ASGI application, pages and websockets, served by Daphne in a process of its own
    on the test database (pytest-django's `live_server` speaks WSGI: no websockets).

    Being another process, it sees only committed rows (mark tests `django_db(transaction=True)`), on
    a database in a file (tests/settings.py gives SQLite's test database one), with the test settings
    as the environment makes them plus the Sigma stand-in: a test's `settings` fixture does not reach
    it. Its in-memory channel layer and cache are its own, so whatever should reach a socket is done
    through the server, the browser acting as a member would. (Nor can the test call a service that
    pushes: Playwright's loop in the test's thread makes async_to_sync refuse. Factories and the ORM
    are fine.)
    """
    with django_db_blocker.unblock():
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            pytest.fail(
                "The ASGI live server needs the test database in a file (tests/settings.py).",
                pytrace=False,
            )
        database = str(connection.settings_dict["NAME"])
    log_path = tmp_path_factory.mktemp("asgi-server") / "server.log"
    media = tmp_path_factory.mktemp("asgi-media")
    environ = {key: value for key, value in os.environ.items() if key != ASYNC_UNSAFE}
    environ.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        SIGMA_EMBED_STANDIN="true",
        SIGMA_EMBED_LOAD_TIMEOUT=str(SIGMA_LOAD_TIMEOUT_SECONDS),
        MEDIA_ROOT=str(media / "media"),
        MEDIA_UPLOAD_ROOT=str(media / "uploads"),
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.browser.asgi_server", database],
            cwd=PROJECT_ROOT,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=log,
        )
    try:
        port = _read_port(process, log_path)
        yield AsgiLiveServer(
            url=f"http://127.0.0.1:{port}", log=log_path, media_root=media / "media"
        )
    finally:
        stop(process)
        if process.stdout is not None:
            process.stdout.close()


def _read_port(process: subprocess.Popen, log_path: Path) -> int:
    deadline = time.monotonic() + ASGI_SERVER_START_SECONDS
    assert process.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline().decode()
            if line.startswith("PORT "):
                return int(line.split()[1])
        if process.poll() is not None:
            break
    raise RuntimeError(f"the ASGI server did not start:\n{log_path.read_text()}")


@pytest.fixture
def asgi_traffic(asgi_live_server: AsgiLiveServer) -> Traffic:
    return Traffic(origin=asgi_live_server.url)


@pytest.fixture
def new_asgi_page(browser: Browser, asgi_traffic: Traffic) -> Iterator[Callable[..., Page]]:
    """`new_page`, on the ASGI live server: each page in a browser profile of its own, nothing leaving
    the server, no CSP violation."""
    yield from _page_opener(browser, asgi_traffic)
