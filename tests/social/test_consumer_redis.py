"""The notifications websocket (and the event stream) end to end: a real ASGI server (Daphne, in a
subprocess) on Redis and PostgreSQL, and a real websocket client.

The server reads the test database, so these tests commit (transaction=True) and need PostgreSQL:
the test run's SQLite database lives in its own process's memory.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework_simplejwt.tokens import AccessToken
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from social.consumers import CLOSE_UNAUTHENTICATED
from tests.factories import UserFactory
from tests.processes import stop, test_database_url
from tests.social.realtime import notify

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 30
DAPHNE = [sys.executable, "-m", "daphne"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    """`python -m daphne` on the test database and Redis; its base URL (http://127.0.0.1:port)."""
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.fail("needs PostgreSQL and Redis")  # the markers skip it first, outside CI
    port = free_port()
    log_path = tmp_path_factory.mktemp("daphne") / "daphne.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*DAPHNE, "-b", "127.0.0.1", "-p", str(port), "sigma_playground.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"daphne exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"daphne not ready in {READY_TIMEOUT} s:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        stop(process)


@pytest.fixture
def socket_url(server) -> str:
    return server.replace("http://", "ws://") + "/ws/notifications/"


@pytest.fixture
def follower(db):
    return UserFactory(username="follower")


def bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


def receive(ws, timeout: float = 5) -> dict:
    return json.loads(ws.recv(timeout=timeout))


def receive_all(ws, quiet: float = 0.5) -> list[dict]:
    """Every message until none arrives for `quiet` seconds (so duplicates would show up)."""
    messages = []
    while True:
        try:
            messages.append(json.loads(ws.recv(timeout=quiet)))
        except TimeoutError:
            return messages


def notification_ids(messages: list[dict]) -> list[int]:
    return [m["notification"]["id"] for m in messages if m["type"] == "notification"]


def notifications(messages: list[dict]) -> list[dict]:
    return [m["notification"] for m in messages if m["type"] == "notification"]


# social.push sends a notification and the count it changes at the same time, so over Redis either
# may come first: these tests look for each, not at their order.


def test_it_closes_an_anonymous_socket_with_4401(socket_url):
    with connect(socket_url, open_timeout=5) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd.code == CLOSE_UNAUTHENTICATED


def test_it_closes_a_socket_with_a_bad_token_with_4401(socket_url, owner):
    bad = str(AccessToken.for_user(owner))[:-4] + "AAAA"
    headers = {"Authorization": f"Bearer {bad}"}
    with (
        connect(socket_url, additional_headers=headers, open_timeout=5) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=5)
    assert closed.value.rcvd.code == CLOSE_UNAUTHENTICATED


def test_it_refuses_the_handshake_from_a_foreign_origin(socket_url, owner):
    with pytest.raises(InvalidStatus) as refused:
        connect(socket_url, origin="https://evil.example", additional_headers=bearer(owner))
    assert refused.value.response.status_code == 403


def test_it_refuses_the_handshake_from_another_port_of_its_own_host(server, socket_url, owner):
    with pytest.raises(InvalidStatus) as refused:
        connect(socket_url, origin="http://127.0.0.1:1", additional_headers=bearer(owner))
    assert refused.value.response.status_code == 403


def signed_in_browser(user) -> tuple[Client, dict[str, str]]:
    browser = Client()
    browser.force_login(user)
    return browser, {"Cookie": f"sessionid={browser.cookies['sessionid'].value}"}


def test_signing_out_here_closes_that_sessions_socket_on_the_server(server, socket_url, owner):
    browser, cookie = signed_in_browser(owner)
    with connect(socket_url, origin=server, additional_headers=cookie, open_timeout=5) as ws:
        assert receive(ws) == {"type": "unread_count", "count": 0}
        browser.post(reverse("accounts:logout"))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd.code == CLOSE_UNAUTHENTICATED


def test_a_password_change_here_closes_the_members_sockets_on_the_server(server, socket_url, owner):
    _, cookie = signed_in_browser(owner)
    with (
        connect(socket_url, origin=server, additional_headers=cookie, open_timeout=5) as by_session,
        connect(socket_url, additional_headers=bearer(owner), open_timeout=5) as by_token,
    ):
        receive(by_session), receive(by_token)
        owner.set_password("a-brand-new-passphrase")
        owner.save()
        codes = []
        for ws in (by_session, by_token):
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
            codes.append(closed.value.rcvd.code)
    assert codes == [CLOSE_UNAUTHENTICATED, CLOSE_UNAUTHENTICATED]


def test_a_notification_committed_here_arrives_through_redis(socket_url, owner, follower):
    with connect(socket_url, additional_headers=bearer(owner), open_timeout=5) as ws:
        assert receive(ws) == {"type": "unread_count", "count": 0}
        ws.send(json.dumps({"type": "resume", "after": 0}))  # live once it is answered
        assert receive(ws) == {"type": "unread_count", "count": 0}
        notification_id = notify(owner, follower)
        messages = receive_all(ws)

    assert notification_ids(messages) == [notification_id]
    assert notifications(messages)[0]["actor"]["username"] == "follower"
    assert {"type": "unread_count", "count": 1} in messages


def test_a_resume_after_a_gap_delivers_every_notification_once_in_order(
    socket_url, owner, outsider, follower
):
    with connect(socket_url, additional_headers=bearer(owner), open_timeout=5) as ws:
        receive(ws)
        ws.send(json.dumps({"type": "resume", "after": 0}))  # live once it is answered
        receive(ws)
        seen = notify(owner, follower)
        assert notification_ids(receive_all(ws)) == [seen]

    missed = []
    for _ in range(3):  # while away
        missed.append(notify(owner, follower))
        notify(outsider, follower)

    with connect(socket_url, additional_headers=bearer(owner), open_timeout=5) as ws:
        receive(ws)
        ws.send(json.dumps({"type": "resume", "after": seen}))
        # More while the resume is on its way: in it, or live after it, but once.
        missed += [notify(owner, follower) for _ in range(2)]
        messages = receive_all(ws)

    assert notification_ids(messages) == missed
    assert {"type": "unread_count", "count": 6} in messages  # pushed with the last one at least


def read_events(response, until) -> list[dict[str, str]]:
    """Server-Sent Events from a streaming response, up to the first one for which `until` is true."""
    events: list[dict[str, str]] = []
    fields: dict[str, str] = {}
    while not events or not until(events[-1]):
        line = response.readline().decode()
        assert line, "the stream ended"
        line = line.rstrip("\n")
        if line:
            name, _, value = line.partition(":")
            fields[name or "comment"] = value.removeprefix(" ")
        elif fields:
            events.append(fields)
            fields = {}
    return events


def test_the_event_stream_replays_then_goes_live_through_redis(server, owner, follower):
    seen, missed = notify(owner, follower), notify(owner, follower)
    url = f"{server}/api/v1/notifications/stream/?after={seen}"  # http://127.0.0.1, our server
    request = urllib.request.Request(url, headers=bearer(owner))  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert response.headers["Content-Type"] == "text/event-stream"
        events = read_events(response, until=lambda event: event.get("event") == "unread_count")
        live = notify(owner, follower)
        events += read_events(response, until=lambda event: event.get("event") == "notification")

    assert [int(e["id"]) for e in events if e.get("event") == "notification"] == [missed, live]
    assert events[1] == {"event": "unread_count", "data": '{"count":2}'}  # the replay's own
