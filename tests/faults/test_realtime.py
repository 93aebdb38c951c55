"""Long-lived connections against PostgreSQL's connection limit: listeners must not hold connections.

Before, each open event stream kept a PostgreSQL connection (its own thread's, persistent for
CONN_MAX_AGE) while it listened and after it hung up: 110 listeners reached `max_connections`, and
everything else on the site then failed with "too many clients". Here the ASGI process of production
(granian) serves 50 event streams and 10 sockets on the test database, and pg_stat_activity counts
the connections it holds while they listen and after they have gone.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken
from websockets.sync.client import connect

from tests.factories import UserFactory
from tests.private_services import free_port
from tests.processes import stop, test_database_url
from tests.social.realtime import notify

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
GRANIAN = Path(sys.executable).with_name("granian")
STREAMS = 50
SOCKETS = 10


@pytest.fixture
def asgi_server(tmp_path) -> Iterator[str]:
    """granian's ASGI interface, as the Procfile's `ws` process runs it, on the test database and
    the in-memory channel layer; its address (host:port)."""
    port = free_port()
    log_path = tmp_path / "granian.log"
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(DJANGO_SETTINGS_MODULE="tests.settings", DATABASE_URL=test_database_url())
    command = [str(GRANIAN), "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "sigma_playground.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not _answers(port):
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, f"granian did not start:\n{log_path.read_text()}"
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        stop(process)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def server_connections() -> int:
    """Connections to the test database other than this test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def settled_connections(seconds: float = 3) -> int:
    """The count once it stops falling (a query in flight finishes, a closed socket is seen)."""
    deadline = time.monotonic() + seconds
    count = server_connections()
    while count and time.monotonic() < deadline:
        time.sleep(0.1)
        count = server_connections()
    return count


def open_stream(address: str, token: str) -> socket.socket:
    """An event stream, read until its first unread count: it is listening."""
    host, port = address.split(":")
    stream = socket.create_connection((host, int(port)), timeout=10)
    stream.sendall(
        f"GET /api/v1/notifications/stream/ HTTP/1.1\r\nHost: {address}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    received = b""
    while b"event: unread_count" not in received:
        chunk = stream.recv(4096)
        assert chunk, received
        received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received
    return stream


def test_fifty_event_streams_and_ten_sockets_hold_no_database_connection(asgi_server):
    members = [UserFactory(username=f"listener{n}") for n in range(5)]
    notify(members[0], members[1])
    tokens = [str(AccessToken.for_user(member)) for member in members]

    with ExitStack() as listening:
        for n in range(STREAMS):
            listening.callback(open_stream(asgi_server, tokens[n % len(tokens)]).close)
        for n in range(SOCKETS):
            ws = listening.enter_context(
                connect(
                    f"ws://{asgi_server}/ws/notifications/",
                    additional_headers={"Authorization": f"Bearer {tokens[n % len(tokens)]}"},
                )
            )
            assert json.loads(ws.recv(timeout=10))["type"] == "unread_count"
            ws.send(json.dumps({"type": "resume", "after": 0}))
            while json.loads(ws.recv(timeout=10))["type"] != "unread_count":
                pass  # the resume's notifications, then its count
        while_listening = settled_connections()
    after_hanging_up = settled_connections()

    assert while_listening == 0
    assert after_hanging_up == 0
