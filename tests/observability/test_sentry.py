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

from sigma_playground.observability import logs, sentry
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


# The start of a script run in a site process of its own, so that Sentry is set up there and nowhere
# else: Django set up, and the member "reporter" signed in on a test client that requests the views of
# tests/observability/sentry_site.py inside the `with` block the script goes on with.
SIGNED_IN = """
import django
django.setup()
from django.test import Client, override_settings
from accounts.models import User

client = Client(raise_request_exception=False)
client.force_login(User.objects.get(username="reporter"))
with override_settings(ROOT_URLCONF="tests.observability.sentry_site"):
"""

SITE = (
    SIGNED_IN
    + """    failed = client.post(
        "/broken/?token={query_token}&page=2",
        {{"password": "{password}", "note": "kept"}},
        HTTP_AUTHORIZATION="Bearer {bearer}",
        HTTP_X_REQUEST_ID="edge-request-1",
    )
    scheduled = client.get("/schedule/", HTTP_X_REQUEST_ID="edge-request-2")
print(failed.status_code, scheduled.status_code, client.cookies["{cookie}"].value)
"""
)


def run_site(script: str, server, **env: str) -> str:
    """What `script` printed, run as a site's own process (tests.settings on the test database)
    reporting to the Sentry stand-in `server`; `env` adds to its environment."""
    host, port = server.server_address
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": test_database_url(),
            "SENTRY_DSN": f"http://public@{host}:{port}/1",
            "ALLOWED_HOSTS": "testserver",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.django_db(transaction=True)
def test_a_failing_view_and_a_failing_task_each_send_one_scrubbed_event():
    member = UserFactory(username="reporter", email="reporter@example.com")
    with sentry_stand_in() as server:
        printed = run_site(
            SITE.format(
                query_token=QUERY_TOKEN,
                password=POSTED_PASSWORD,
                bearer=BEARER,
                cookie=SESSION_COOKIE,
            ),
            server,
            REDIS_URL="",
            SENTRY_ENVIRONMENT="test",
            TRUST_REQUEST_ID_HEADER="true",
        )
        view_status, task_status, session_key = printed.split()[-3:]
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
        "new_password1": logs.FILTERED,
        "otp": logs.FILTERED,
        "nested": {"refresh": logs.FILTERED},
        "note": "kept",
    }
    assert request["query_string"] == "token=%5BFiltered%5D&page=2"
    assert scrubbed["extra"] == {"api_key": logs.FILTERED, "count": 3}
    assert "user" not in scrubbed
    # No frame's variables are sent: the scrubbers match names, and a value can be a secret.
    (frame,) = scrubbed["exception"]["values"][0]["stacktrace"]["frames"]
    assert "vars" not in frame


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


# A signed-in member's session (read from Redis: its key is in each command's text), a failing view
# holding a serializer of what was posted, one whose path is a credential, and a request for a
# host the site does not serve.
SECRETS_SITE = (
    SIGNED_IN
    + """    from types import SimpleNamespace
    from wsgiref.util import setup_testing_defaults
    from django.core.wsgi import get_wsgi_application

    held = client.post(
        "/serializer/", {{"username": "reporter", "password": "{password}"}}, REMOTE_ADDR="{ip}"
    )
    # Through the WSGI application, as served (the test client skips what names the request's URL).
    environ = {{}}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO="/reset/MQ/{path_token}/", HTTP_HOST="testserver")
    statuses = []
    b"".join(get_wsgi_application()(environ, lambda status, *rest: statuses.append(status)))
    reset = SimpleNamespace(status_code=int(statuses[0].split()[0]))
    foreign = client.get("/", HTTP_HOST="scanner.example")
print(held.status_code, reset.status_code, foreign.status_code, client.cookies["{cookie}"].value)
"""
)
PATH_TOKEN = "reset-token-5c1e9a"
ADDRESS = "192.0.2.77"


_reported: list = []  # SECRETS_SITE is run once for the tests that read what it reported


@pytest.fixture
def secrets_reported(tmp_path, transactional_db):
    """What a local stand-in for Sentry got from SECRETS_SITE: the statuses, the session key,
    the events and the raw envelopes."""
    if _reported:
        return _reported[0]
    from tests.private_services import private_redis

    UserFactory(username="reporter", email="reporter@example.com")
    with private_redis(tmp_path / "redis") as redis, sentry_stand_in() as server:
        printed = run_site(
            SECRETS_SITE.format(
                password=POSTED_PASSWORD,
                ip=ADDRESS,
                path_token=PATH_TOKEN,
                cookie=SESSION_COOKIE,
            ),
            server,
            REDIS_URL=redis.url,
        )
    *statuses, session_key = printed.split()[-4:]
    _reported.append(
        (statuses, session_key, events_in(server.envelopes), b"".join(server.envelopes))
    )
    return _reported[0]


def test_an_event_holds_no_frame_variable_nor_posted_secret(secrets_reported):
    statuses, _, events, raw = secrets_reported

    assert statuses == ["500", "500", "400"]
    (held,) = [e for e in events if e["tags"].get("route") == "observability-serializer"]
    frames = held["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames
    assert not any("vars" in frame for frame in frames)
    assert POSTED_PASSWORD.encode() not in raw


def test_an_event_holds_no_session_key_and_no_address(secrets_reported):
    _, session_key, events, raw = secrets_reported

    (held,) = [e for e in events if e["tags"].get("route") == "observability-serializer"]
    crumbs = held["breadcrumbs"]["values"]
    assert any(crumb["category"] == "redis" for crumb in crumbs)  # the session was read there
    assert any(crumb["category"] == "sigma_playground.audit" for crumb in crumbs)
    assert session_key.encode() not in raw
    assert ADDRESS.encode() not in raw


def test_an_events_url_holds_no_token_of_its_path(secrets_reported):
    _, _, events, raw = secrets_reported

    (reset,) = [e for e in events if e["tags"].get("route") == "observability-reset"]
    assert reset["request"]["url"] == "http://testserver/reset/MQ/[Filtered]/"
    assert PATH_TOKEN.encode() not in raw


def test_a_request_for_another_host_is_no_event(secrets_reported):
    statuses, _, events, raw = secrets_reported

    assert statuses[2] == "400"
    assert b"scanner.example" not in raw
    assert len(events) == 2


def test_a_redis_breadcrumb_and_span_keep_the_command_but_not_the_key():
    key = "sp:1:accounts.session:qz8kSESSIONKEYxyz"
    crumb = {
        "category": "redis",
        "message": f"GET '{key}'",
        "data": {"redis.command": "GET", "redis.key": key},
    }
    transaction = {
        "spans": [
            {
                "op": "db.redis",
                "description": f"GET '{key}'",
                "tags": {"redis.key": key, "redis.command": "GET"},
                "data": {"db.redis.key": key},
            },
            {"op": "db", "description": "SELECT 1"},
        ]
    }

    kept = sentry.before_breadcrumb(crumb, {})
    sent = sentry.before_send_transaction(transaction, {})

    assert kept["message"] == "GET"
    assert "SESSIONKEY" not in json.dumps([kept, sent])
    assert sent["spans"][0]["description"] == "GET"
    assert sent["spans"][1]["description"] == "SELECT 1"


def _event_with_a_member(request) -> dict:
    from sigma_playground.observability import logs

    token = logs.enter(logs.RequestContext("edge-9", request=request))
    try:
        return sentry.before_send({"request": {"query_string": "token=t"}}, {})
    finally:
        logs.leave(token)


@pytest.mark.django_db
def test_an_event_is_sent_when_looking_the_member_up_fails(rf):
    from django.db import OperationalError
    from django.utils.functional import SimpleLazyObject

    def lookup():
        raise OperationalError("the database is down")

    request = rf.get("/")
    request.user = SimpleLazyObject(lookup)

    event = _event_with_a_member(request)

    assert event["tags"]["request_id"] == "edge-9"
    assert "user" not in event
    assert event["request"]["query_string"] == "token=%5BFiltered%5D"


@pytest.mark.django_db
def test_an_event_from_async_code_is_sent_without_looking_the_member_up(rf, user):
    from asgiref.sync import async_to_sync
    from django.utils.functional import SimpleLazyObject

    from accounts.models import User

    request = rf.get("/")
    request.user = SimpleLazyObject(lambda: User.objects.get(pk=user.pk))

    async def report() -> dict:
        return _event_with_a_member(request)

    event = async_to_sync(report)()

    assert event["tags"]["request_id"] == "edge-9"
    assert "user" not in event
    # Once the request has looked its member up, the event names them.
    request.user.get_username()
    assert async_to_sync(report)()["user"] == {"id": str(user.pk), "username": "owner"}


@pytest.mark.django_db
def test_a_task_sent_from_async_code_carries_the_request_id_without_a_lookup(rf, user):
    from asgiref.sync import async_to_sync
    from django.utils.functional import SimpleLazyObject

    from accounts.models import User
    from sigma_playground.observability import logs, task_context

    request = rf.get("/")
    request.user = SimpleLazyObject(lambda: User.objects.get(pk=user.pk))
    headers: dict = {}

    async def publish() -> None:
        token = logs.enter(logs.RequestContext("edge-10", request=request))
        try:
            task_context.add_request_headers(headers=headers)
        finally:
            logs.leave(token)

    async_to_sync(publish)()

    assert headers[task_context.REQUEST_ID_HEADER] == "edge-10"
    assert headers[task_context.USER_ID_HEADER] is None


@pytest.fixture
def mailed_500(settings):
    settings.DEBUG = False
    settings.ADMINS = [("Ops", "ops@example.com")]
    return settings


@pytest.mark.django_db
def test_a_mailed_500_holds_no_setting_and_no_sensitive_value(mailed_500):
    mailed_500.ROOT_URLCONF = "tests.observability.sentry_site"
    mailed_500.REDIS_URL = "redis://:redis-secret-4d1@cache.internal:6379/0"
    mailed_500.CELERY_BROKER_URL = "redis://:broker-secret-8aa@cache.internal:6379/1"

    response = Client(raise_request_exception=False).post(
        "/reset/MQ/path-token-77/?token=query-token-9&page=2",
        {"code": "654321", "new_password": "posted-secret-1", "note": "kept-note"},
    )

    assert response.status_code == 500
    (message,) = mail.outbox
    for secret in (
        "redis-secret-4d1",
        "broker-secret-8aa",
        "path-token-77",
        "query-token-9",
        "654321",
        "posted-secret-1",
    ):
        assert secret not in message.subject + message.body, secret
    assert "/reset/MQ/[Filtered]/" in message.body
    assert "kept-note" in message.body  # what is not secret still helps


@pytest.mark.django_db
def test_a_mailed_500_of_the_two_factor_page_holds_no_code(mailed_500, client, user, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("accounts.services.disable_mfa", fail)
    user.mfa_enabled = True
    user.save(update_fields=["mfa_enabled"])
    client.force_login(user)
    client.raise_request_exception = False

    response = client.post("/settings/two-factor/", {"action": "disable", "code": "314159"})

    assert response.status_code == 500
    (message,) = mail.outbox
    assert "the database went away" in message.body
    assert "314159" not in message.body


@pytest.mark.django_db
def test_a_request_for_another_host_is_mailed_to_nobody(mailed_500):
    response = Client().get("/", HTTP_HOST="scanner.example")

    assert response.status_code == 400
    assert mail.outbox == []


def test_celerys_lines_reach_sentry_without_the_tasks_arguments():
    link = "https://site/accounts/reset/MQ/cjx1a2-token/"
    data = {"id": "t1", "name": "accounts.tasks.send_email", "args": f"['{link}']", "kwargs": "{}"}
    event = {"logger": "celery.app.trace", "extra": {"data": dict(data)}}
    crumb = {
        "category": "celery.worker.strategy",
        "message": "Task received",
        "data": {"data": dict(data)},
    }

    sent = sentry.before_send(event, {})
    kept = sentry.before_breadcrumb(crumb, {})

    assert sent["extra"]["data"] == {"id": "t1", "name": "accounts.tasks.send_email"}
    assert link not in json.dumps(kept)
