"""Errors reach Sentry (a local stand-in here) with the route, method, member and request id, and
without cookies, tokens or passwords; without Sentry, a 500 is mailed to ADMINS."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.test import Client

from sigma_playground.observability import sentry
from tests.factories import PASSWORD, UserFactory
from tests.processes import ROOT, test_database_url

SESSION_COOKIE = "sessionid"
BEARER = "bearer-secret-7f3a9c"
QUERY_TOKEN = "query-secret-51d0"
POSTED_PASSWORD = "posted-secret-e8b2"


class StandIn(BaseHTTPRequestHandler):
    """Sentry's ingest endpoint: keeps each envelope's raw body."""

    envelopes: list[bytes]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        if self.path.startswith("/api/1/envelope/"):
            self.server.envelopes.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        pass


@contextmanager
def sentry_stand_in() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    server.envelopes = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def events_in(envelopes: list[bytes]) -> list[dict]:
    """The error events: an envelope is JSON lines, an item's header followed by its payload."""
    events = []
    for envelope in envelopes:
        lines = envelope.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    return events


# Runs in a site process of its own, so that Sentry is set up there and nowhere else.
SITE = """
import django
django.setup()
from django.test import Client, override_settings
from accounts.models import User

client = Client(raise_request_exception=False)
client.force_login(User.objects.get(username="reporter"))
with override_settings(ROOT_URLCONF="tests.observability.sentry_site"):
    failed = client.post(
        "/broken/?token={query_token}&page=2",
        {{"password": "{password}", "note": "kept"}},
        HTTP_AUTHORIZATION="Bearer {bearer}",
        HTTP_X_REQUEST_ID="edge-request-1",
    )
    scheduled = client.get("/schedule/", HTTP_X_REQUEST_ID="edge-request-2")
print(failed.status_code, scheduled.status_code, client.cookies["{cookie}"].value)
"""


@pytest.mark.django_db(transaction=True)
def test_a_failing_view_and_a_failing_task_each_send_one_scrubbed_event():
    member = UserFactory(username="reporter", email="reporter@example.com")
    with sentry_stand_in() as server:
        host, port = server.server_address
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                SITE.format(
                    query_token=QUERY_TOKEN,
                    password=POSTED_PASSWORD,
                    bearer=BEARER,
                    cookie=SESSION_COOKIE,
                ),
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "tests.settings",
                "DATABASE_URL": test_database_url(),
                "REDIS_URL": "",
                "SENTRY_DSN": f"http://public@{host}:{port}/1",
                "SENTRY_ENVIRONMENT": "test",
                "TRUST_REQUEST_ID_HEADER": "true",
                "ALLOWED_HOSTS": "testserver",
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        view_status, task_status, session_key = result.stdout.split()[-3:]
        raw = b"".join(server.envelopes)

    assert (view_status, task_status) == ("500", "202")
    events = events_in(server.envelopes)
    assert len(events) == 2, [event.get("exception") for event in events]
    view_event, task_event = sorted(events, key=lambda event: event["tags"]["request_id"])

    assert view_event["tags"]["route"] == "observability-broken"
    assert view_event["tags"]["method"] == "POST"
    assert view_event["tags"]["request_id"] == "edge-request-1"
    assert view_event["user"] == {"id": str(member.pk), "username": "reporter"}
    assert view_event["environment"] == "test"
    assert view_event["exception"]["values"][-1]["value"] == "the view failed"

    assert task_event["tags"]["request_id"] == "edge-request-2"
    assert task_event["tags"]["route"] == "observability-schedule"
    assert task_event["user"]["id"] == str(member.pk)
    assert task_event["exception"]["values"][-1]["value"] == "the task failed"

    for secret in (session_key, BEARER, QUERY_TOKEN, POSTED_PASSWORD, PASSWORD, "reporter@"):
        assert secret.encode() not in raw, secret


def test_a_release_is_the_deployed_commit_or_else_the_version(tmp_path):
    git = tmp_path / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text("a" * 40 + "\n")

    assert sentry.default_release(tmp_path) == "a" * 40
    assert sentry.default_release(tmp_path / "elsewhere").startswith("sigma-playground@")


def test_scrubbing_drops_secrets_anywhere_in_the_request_and_extra():
    event = {
        "request": {
            "cookies": {"sessionid": "s"},
            "headers": {
                "Cookie": "c",
                "Authorization": "Bearer t",
                "X-Csrftoken": "x",
                "Accept": "*/*",
            },
            "data": {"new_password1": "p", "otp": "1", "nested": {"refresh": "r"}, "note": "kept"},
            "query_string": "token=t&page=2",
        },
        "extra": {"api_key": "k", "count": 3},
        "exception": {
            "values": [
                {
                    "stacktrace": {
                        "frames": [{"vars": {"request": "<WSGIRequest: GET '/x/?otp=1&page=2'>"}}]
                    }
                }
            ]
        },
        "user": {"email": "e@example.com", "ip_address": "192.0.2.1"},
    }

    scrubbed = sentry.before_send(event, {})

    request = scrubbed["request"]
    assert "cookies" not in request
    assert request["headers"] == {"Accept": "*/*"}
    assert request["data"] == {
        "new_password1": sentry.FILTERED,
        "otp": sentry.FILTERED,
        "nested": {"refresh": sentry.FILTERED},
        "note": "kept",
    }
    assert request["query_string"] == "token=%5BFiltered%5D&page=2"
    assert scrubbed["extra"] == {"api_key": sentry.FILTERED, "count": 3}
    assert "user" not in scrubbed
    (frame,) = scrubbed["exception"]["values"][0]["stacktrace"]["frames"]
    assert frame["vars"]["request"] == "<WSGIRequest: GET '/x/?otp=[Filtered]&page=2'>"


@pytest.mark.django_db
def test_without_sentry_a_500_is_mailed_to_the_admins(settings):
    settings.DEBUG = False
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.ROOT_URLCONF = "tests.observability.sentry_site"

    response = Client(raise_request_exception=False).get("/broken/")

    assert response.status_code == 500
    (message,) = mail.outbox
    assert message.to == ["ops@example.com"]
    assert "the view failed" in message.body
    assert response["X-Request-ID"] in message.body
