"""Request ids: answered, written on every log line of the request and of the tasks it schedules,
in the plain and the JSON format."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from datetime import datetime
from types import SimpleNamespace

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client
from django.utils.module_loading import import_string

from sigma_playground.observability import logs, task_context
from sigma_playground.observability.logs import JsonFormatter, RequestIdFilter, logging_config
from tests.private_services import private_redis
from tests.processes import ROOT, celery_worker, site_broker

RESET_URL = "/accounts/password-reset/"


@contextmanager
def log_lines(log_format: str):
    """The lines the site's console handler, configured for `log_format`, writes meanwhile."""
    config = logging_config(log_format, "INFO", mail_admins=False)
    options = dict(config["formatters"][log_format])
    make = options.pop("()", None)
    formatter = make(**options) if make else logging.Formatter(options["format"])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    for name in config["handlers"]["console"]["filters"]:  # the console handler's, as configured
        make = config["filters"][name]["()"]
        handler.addFilter((import_string(make) if isinstance(make, str) else make)())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # Tasks run in the test's process, where the settings quiet Celery's line per task; a worker
    # writes it, and these tests read it as a worker's.
    traces = logging.getLogger("celery.app.trace")
    traces_level = traces.level
    traces.setLevel(logging.INFO)
    lines: list[str] = []
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        traces.setLevel(traces_level)
        lines.extend(stream.getvalue().splitlines())


def test_every_answer_carries_a_new_request_id(client):
    first = client.get("/healthz")
    second = client.get("/healthz")

    assert re.fullmatch(r"[0-9a-f]{32}", first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.parametrize(
    ("trusted", "given", "kept"),
    [
        pytest.param(True, "edge-7f3a.b_9", True, id="trusted-and-sane"),
        pytest.param(False, "edge-7f3a.b_9", False, id="not-trusted"),
        pytest.param(True, "a b", False, id="a-space"),
        pytest.param(True, "x" * 129, False, id="too-long"),
        pytest.param(True, "id\u00e9", False, id="not-ascii"),
        pytest.param(True, "", False, id="empty"),
    ],
)
def test_the_proxys_request_id_is_taken_only_when_trusted_and_sane(
    client, settings, trusted, given, kept
):
    settings.TRUST_REQUEST_ID_HEADER = trusted

    answered = client.get("/healthz", HTTP_X_REQUEST_ID=given)["X-Request-ID"]

    if kept:
        assert answered == given
    else:
        assert answered != given
        assert re.fullmatch(r"[0-9a-f]{32}", answered)


def test_the_plain_format_shows_the_request_id(client, user):
    with log_lines("plain") as lines:
        response = client.post("/accounts/login/", {"username": "owner", "password": "wrong"})

    request_id = response["X-Request-ID"]
    signin_lines = [line for line in lines if " sigma_playground.audit " in line]
    assert signin_lines
    assert all(f"[{request_id}]" in line for line in signin_lines)


def test_json_lines_of_a_request_and_of_the_task_it_schedules_carry_its_id(client, user):
    with log_lines("json") as lines:
        response = client.post(RESET_URL, {"email": "owner@example.com"})

    assert response.status_code == 302
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    by_logger = {record["logger"]: record for record in records}
    task_line = by_logger["accounts.tasks"]  # the email task, run eagerly here
    assert task_line["message"].startswith("email sent")
    assert task_line["request_id"] == response["X-Request-ID"]
    assert task_line["level"] == "INFO"
    assert datetime.fromisoformat(task_line["time"]).utcoffset().total_seconds() == 0
    assert all(record["request_id"] == response["X-Request-ID"] for record in records)


def test_json_lines_keep_extra_fields_and_the_exception():
    formatter = JsonFormatter(
        **{
            key: value
            for key, value in logging_config("json", "INFO", mail_admins=False)["formatters"][
                "json"
            ].items()
            if key != "()"
        }
    )
    try:
        raise ValueError("broken")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, "f", 1, "failed %s", ("here",), sys.exc_info(), extra={"n": 3}
        )
    RequestIdFilter().filter(record)

    line = json.loads(formatter.format(record))

    assert line["message"] == "failed here"
    assert line["n"] == 3
    assert line["request_id"] == "-"
    assert "ValueError: broken" in line["exc_info"]


def test_an_unknown_log_format_stops_the_site_at_start():
    result = subprocess.run(
        [sys.executable, "-c", "import sigma_playground.settings"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "true", "LOG_FORMAT": "xml"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "LOG_FORMAT must be one of plain, json; got 'xml'" in result.stderr


def test_a_real_workers_json_lines_for_a_task_carry_the_scheduling_requests_id(
    client, user, tmp_path
):
    outbox = tmp_path / "outbox"
    with private_redis(tmp_path / "redis") as redis, site_broker(redis.url):
        env = {
            "REDIS_URL": redis.url,
            "CELERY_BROKER_URL": redis.url,
            "EMAIL_URL": f"filemail://{outbox}",
            "LOG_FORMAT": "json",
        }
        with celery_worker(tmp_path, queues="email", **env) as worker:
            worker.wait_for(lambda: b"ready." in worker.log.read_bytes(), "start", 30)

            response = client.post(RESET_URL, {"email": "owner@example.com"})

            request_id = response["X-Request-ID"]
            worker.wait_for(lambda: b"email sent" in worker.log.read_bytes(), "send it", 30)

    # Celery prints its banner itself; everything logged is one JSON object a line.
    lines = worker.log.read_text().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(record["message"].endswith("ready.") for record in records)
    sent = [record for record in records if record["logger"] == "accounts.tasks"]
    assert [record["request_id"] for record in sent] == [request_id]
    # Celery's own lines of the task ("Received task", "succeeded") hold neither the reset link
    # nor the address it went to.
    assert any(record["logger"].startswith("celery") and "data" in record for record in records)
    assert "/accounts/reset/" not in worker.log.read_text()
    assert "owner@example.com" not in worker.log.read_text()


def test_a_task_sent_by_a_request_carries_its_id_and_member_and_runs_under_them(rf, user):
    request = rf.get("/")
    request.user = user
    headers: dict = {}
    token = logs.enter(logs.RequestContext("edge-1", request=request))
    try:
        task_context.add_request_headers(headers=headers)
    finally:
        logs.leave(token)
    assert headers == {
        task_context.REQUEST_ID_HEADER: "edge-1",
        task_context.USER_ID_HEADER: user.pk,
        task_context.USERNAME_HEADER: "owner",
    }

    # On a worker, custom headers are attributes of the task's request.
    task = SimpleNamespace(name="accounts.tasks.send_email", request=SimpleNamespace(**headers))
    task_context.enter_task(task_id="t1", task=task)
    try:
        context = logs.current()
        assert (context.request_id, context.user(), context.view_name()) == (
            "edge-1",
            (user.pk, "owner"),
            "accounts.tasks.send_email",
        )
    finally:
        task_context.leave_task(task_id="t1")
    assert logs.current() is None


def test_an_asgi_streams_lines_carry_its_request_id(settings, caplog):
    settings.ROOT_URLCONF = "tests.observability.sentry_site"
    caplog.set_level(logging.INFO, logger="tests.observability.stream")

    async def stream() -> tuple[str, list[bytes]]:
        response = await AsyncClient().get("/stream/")
        return response["X-Request-ID"], [chunk async for chunk in response.streaming_content]

    request_id, chunks = async_to_sync(stream)()

    assert chunks == [b"data: 0\n\n", b"data: 1\n\n"]
    lines = [r for r in caplog.records if r.name == "tests.observability.stream"]
    assert len(lines) == 2
    assert all(RequestIdFilter().filter(r) and r.request_id == request_id for r in lines)


def test_a_wsgi_stream_left_unread_leaves_no_request_id_behind(client, settings):
    settings.ROOT_URLCONF = "tests.observability.sentry_site"

    response = client.get("/stream/")  # a WSGI thread goes on to the next request

    assert response.streaming
    assert logs.current() is None


@pytest.mark.parametrize(
    ("trusted", "given", "kept"),
    [
        pytest.param(True, "edge-41.b", True, id="trusted"),
        pytest.param(False, "edge-41.b", False, id="not-trusted"),
        pytest.param(True, None, False, id="none-given"),
    ],
)
def test_a_sockets_lines_carry_its_handshakes_request_id(settings, trusted, given, kept):
    from channels.testing import WebsocketCommunicator

    from sigma_playground.websocket import websocket_auth

    settings.TRUST_REQUEST_ID_HEADER = trusted
    seen: list[str] = []

    async def consumer(scope, receive, send):
        record = logging.LogRecord("social.consumers", logging.INFO, __file__, 1, "line", (), None)
        RequestIdFilter().filter(record)
        seen.append(record.request_id)
        await receive()
        await send({"type": "websocket.close"})

    headers = [(b"x-request-id", given.encode())] if given else []

    async def handshake() -> None:
        communicator = WebsocketCommunicator(websocket_auth(consumer), "/ws/x/", headers=headers)
        await communicator.connect()
        await communicator.disconnect()

    async_to_sync(handshake)()

    assert len(seen) == 1
    if kept:
        assert seen == [given]
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", seen[0])
    assert logs.current() is None


def test_a_password_resets_json_lines_hold_neither_the_link_nor_the_address(client, user):
    with log_lines("json") as lines:
        client.post(RESET_URL, {"email": "owner@example.com"})

    records = [json.loads(line) for line in lines]
    (traced,) = [record for record in records if record["logger"] == "celery.app.trace"]
    assert traced["data"]["name"] == "accounts.tasks.send_email"  # Celery's line, without args
    assert not {"args", "kwargs"} & set(traced["data"])
    assert "/accounts/reset/" not in "".join(lines)
    assert "owner@example.com" not in "".join(lines)


def test_a_line_django_writes_after_the_answer_carries_the_requests_id(client, db):
    with log_lines("plain") as lines:
        response = client.get("/no-such-page/")

    assert response.status_code == 404
    (line,) = [line for line in lines if "Not Found: /no-such-page/" in line]
    assert f"[{response['X-Request-ID']}]" in line


def test_a_json_line_names_its_request_without_the_query_or_a_token_of_its_path(settings):
    settings.ROOT_URLCONF = "tests.observability.sentry_site"
    with log_lines("json") as lines:
        Client(raise_request_exception=False).get("/reset/MQ/path-token-77/?token=query-token-9")

    (record,) = [json.loads(line) for line in lines if '"django.request"' in line]
    assert record["request"] == "GET /reset/MQ/[Filtered]/"
    assert record["message"] == "Internal Server Error: /reset/MQ/[Filtered]/"
    assert "path-token-77" not in "".join(lines)
    assert "query-token-9" not in "".join(lines)


def test_the_proxy_gives_every_request_its_own_id_in_place_of_the_clients():
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    locations = re.findall(r"location [^{]*\{[^}]*\}", config)
    proxied = [block for block in locations if "proxy_pass" in block]

    assert len(proxied) == 3  # the websockets, the event stream and everything else
    for block in proxied:
        assert "proxy_set_header X-Request-ID $request_id;" in block, block
    assert "TRUST_REQUEST_ID_HEADER=true" in config
