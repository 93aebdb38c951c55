"""The Procfile's `web` process never holds more PostgreSQL connections than its budget, and a request
that can get none answers 503, on a private cluster with max_connections = 20.

granian stops a blocking thread idle for 30 s (5 s here, through its own environment variable, so the
test takes seconds) and starts new ones under the next burst. With one persistent connection per
thread, a stopped thread's connection stayed open (Django's connection objects hold reference cycles,
so only a garbage collection closes them): every burst after a quiet spell added connections (8, then
14 here; 16, 30, 44 at 2 x 8 in tests/perf/bench_connections.py) until PostgreSQL refused them. Each
worker now has a pool of WEB_THREADS connections.
"""

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import psycopg
import pytest
import requests
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken

from tests.factories import UserFactory, WorkbookFactory
from tests.pg_connections import connections_held, peak_connections
from tests.private_services import free_port, private_postgres
from tests.processes import ROOT, procfile_command, stop, test_database_url, web_server
from tests.social.realtime import notify

pytestmark = pytest.mark.postgres

MAX_CONNECTIONS = 20
WORKERS, THREADS = 2, 4
BUDGET = WORKERS * THREADS
CLIENTS = 16  # concurrent requests: twice the threads
PATHS = ("/api/v1/workbooks/", "/explore/", "/readyz", "/api/v1/tags/")


@pytest.fixture
def small_postgres(transactional_db):
    """A private cluster with max_connections = 20 holding a copy of the test database (schema and
    rows, three workbooks among them); its URL for the app's database."""
    WorkbookFactory.create_batch(3)
    with private_postgres() as server:
        with psycopg.connect(server.url(), autocommit=True) as admin:
            admin.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}")
            admin.execute("CREATE DATABASE app")
        server.restart()
        dump = subprocess.run(
            ["pg_dump", "--no-owner", "--no-privileges", test_database_url()],
            capture_output=True,
            check=True,
            timeout=60,
        )
        subprocess.run(
            ["psql", "--quiet", "-v", "ON_ERROR_STOP=1", server.url("app")],
            input=dump.stdout,
            capture_output=True,
            check=True,
            timeout=60,
        )
        yield server.url("app")


def burst(base: str, rounds: int = 2) -> list[int]:
    """CLIENTS clients at once, each asking for every path `rounds` times; every status."""
    statuses: list[int] = []

    def client() -> None:
        with requests.Session() as session:
            for _ in range(rounds):
                for path in PATHS:
                    statuses.append(session.get(base + path, timeout=20).status_code)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def take_every_connection(url: str) -> list[psycopg.Connection]:
    """Connections opened until PostgreSQL refuses one for having too many clients."""
    taken: list[psycopg.Connection] = []
    while True:
        try:
            taken.append(psycopg.connect(url, autocommit=True))
        except psycopg.OperationalError as refused:
            if "too many clients" not in str(refused):
                raise
            return taken


def server_env(url: str, **env: str) -> dict[str, str]:
    # The cache and channel layer in memory: this test is about the database alone.
    return {"DATABASE_URL": url, "REDIS_URL": "", **env}


def test_bursts_after_idle_spells_stay_within_workers_times_threads_with_no_5xx(
    tmp_path, small_postgres
):
    port = free_port()
    variables = {"WEB_CONCURRENCY": str(WORKERS), "WEB_THREADS": str(THREADS)}
    env = server_env(small_postgres, GRANIAN_BLOCKING_THREADS_IDLE_TIMEOUT="5")
    with web_server(tmp_path, port, variables=variables, **env) as base:
        for spell in range(2):
            if spell:
                time.sleep(6.5)  # every blocking thread has been idle long enough to be stopped
            with peak_connections(small_postgres) as peak:
                statuses = burst(base)
            assert len(statuses) == CLIENTS * 2 * len(PATHS)
            assert {status for status in statuses if status >= 500} == set(), spell
            assert set(statuses) == {200}
            assert peak[0] <= BUDGET, f"{peak[0]} connections after {spell} idle spells"
        assert connections_held(small_postgres) <= BUDGET


def test_no_connection_to_be_had_is_a_503_with_retry_after_then_service_resumes(
    tmp_path, small_postgres
):
    port = free_port()
    variables = {"WEB_CONCURRENCY": "1", "WEB_THREADS": "2"}
    env = server_env(small_postgres, DATABASE_POOL_TIMEOUT="1")
    with web_server(tmp_path, port, variables=variables, **env) as base:
        # Other clients take every connection PostgreSQL has (the pool has opened none yet: /healthz,
        # which the start waits for, does not query).
        taken = take_every_connection(small_postgres)
        assert len(taken) >= MAX_CONNECTIONS - 3
        try:
            started = time.monotonic()
            api = requests.get(base + "/api/v1/workbooks/", timeout=20)
            page = requests.get(base + "/explore/", timeout=20)
            elapsed = time.monotonic() - started

            assert api.status_code == 503
            assert api.headers["Content-Type"] == "application/json"
            assert api.json() == {
                "detail": "The site is busy. Try again in a few seconds.",
                "code": "database_busy",
            }
            assert api.headers["Retry-After"] == "5"
            assert page.status_code == 503
            assert page.headers["Content-Type"].startswith("text/html")
            assert "The site is busy" in page.text
            assert page.headers["Retry-After"] == "5"
            assert elapsed < 8, "each request waited about the pool's timeout (1 s), no longer"
        finally:
            for held in taken:
                held.close()
        # Once PostgreSQL has room again, the pool connects and requests are answered.
        deadline = time.monotonic() + 20
        while requests.get(base + "/api/v1/workbooks/", timeout=20).status_code != 200:
            assert time.monotonic() < deadline, "the pool did not connect again within 20 s"
            time.sleep(0.2)


STREAMS = 40
WS_POOL = 3


@contextmanager
def ws_server(tmp_path, port: int, url: str) -> Iterator[None]:
    """The Procfile's `ws` process (granian, ASGI) with a pool of WS_POOL, on `url`."""
    log = tmp_path / "ws.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **server_env(url)}
    command = procfile_command("ws", port, WS_DATABASE_CONNECTIONS=str(WS_POOL))
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, f"granian did not start:\n{log.read_text()}"
                time.sleep(0.1)
        yield
    finally:
        stop(process)


def open_stream(port: int, token: str) -> tuple[socket.socket, bytes]:
    """An event stream, read until its first unread count; the socket and what it read."""
    stream = socket.create_connection(("127.0.0.1", port), timeout=20)
    stream.sendall(
        f"GET /api/v1/notifications/stream/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    received = b""
    while b"event: unread_count" not in received:
        chunk = stream.recv(4096)
        if not chunk:
            break
        received += chunk
    return stream, received


@pytest.mark.django_db(transaction=True)
def test_forty_event_streams_opening_at_once_share_the_ws_process_pool(tmp_path):
    """Each stream runs its queries on a thread of its own: opened together, they once took a
    connection each; the pool makes them take turns on WS_DATABASE_CONNECTIONS."""
    members = UserFactory.create_batch(4)
    notify(members[0], members[1])
    tokens = [str(AccessToken.for_user(member)) for member in members]
    url = test_database_url()
    connection.close()  # the test's own: only the ws process's are counted
    port = free_port()
    with ws_server(tmp_path, port, url), ExitStack() as streams:
        opened: list[bytes] = []

        def listen(n: int) -> None:
            stream, received = open_stream(port, tokens[n % len(tokens)])
            streams.callback(stream.close)
            opened.append(received)

        with peak_connections(url) as peak:
            threads = [threading.Thread(target=listen, args=(n,)) for n in range(STREAMS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)

        assert len(opened) == STREAMS
        assert all(received.startswith(b"HTTP/1.1 200") for received in opened)
        assert all(b"event: unread_count" in received for received in opened)
        assert peak[0] <= WS_POOL, f"{peak[0]} connections for {STREAMS} streams"
