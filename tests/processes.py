"""Real processes the tests start beside themselves: a Celery worker, and the test database's URL
that such a process (or a Daphne server) needs to share the test's rows."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import kombu.pools
import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def test_database_url() -> str:
    """The database this test run uses (test_<name>), as a URL for another process's settings."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{quote(db['NAME'], safe='')}"


test_database_url.__test__ = False  # a helper, not a test


def run_with_a_replica(code: str) -> dict:
    """Run `code` in a site's own process (tests.settings) whose primary and replica are both the test
    database, not inheriting this run's DATABASE_URL, REDIS_URL or DATABASE_REPLICA_URL; what it
    printed last, as JSON."""
    url = test_database_url()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "DATABASE_REPLICA_URL")
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **env,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": url,
            "DATABASE_REPLICA_URL": url,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@dataclass
class Worker:
    queue: str
    process: subprocess.Popen
    log: Path

    def wait_for(self, done: Callable[[], bool], what: str, seconds: float = 60) -> None:
        """Poll `done` until it is true; fail with the worker's log if it is not in time."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if done():
                return
            assert self.process.poll() is None, self.log.read_text()
            time.sleep(0.2)
        pytest.fail(f"the worker did not {what} in {seconds:.0f} s:\n{self.log.read_text()}")


@contextmanager
def celery_worker(
    log_dir: Path, *, queues: str | None = None, prefork: bool = False, **env: str
) -> Iterator[Worker]:
    """`celery -A sigma_playground worker` on Redis, consuming a queue of its own (or `queues`, on a
    Redis of the test's own); `env` adds to the project's settings (DEBUG on, tasks not eager).
    `prefork` runs the production pool (one process) instead of running tasks in the worker itself.
    Its output goes to a file, never a pipe nobody reads (which would block a chatty worker)."""
    queue = queues or f"test-{uuid.uuid4().hex[:8]}"
    log = log_dir / f"worker-{uuid.uuid4().hex[:8]}.log"
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sigma_playground.settings",
        "DEBUG": "true",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **env,
    }
    command = [sys.executable, "-m", "celery", "-A", "sigma_playground", "worker", "-Q", queue]
    pool = ["--pool", "prefork", "--concurrency", "1"] if prefork else ["--pool", "solo"]
    options = [*pool, "--loglevel", "INFO", "--without-heartbeat", "--without-gossip"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, *options],
            cwd=ROOT,
            env=environ,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Worker(queue=queue, process=process, log=log)
    finally:
        stop(process)


def pool_processes(worker: Worker) -> list[int]:
    """The ids of a prefork worker's pool processes (the children of its main process)."""
    pid = worker.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


@contextmanager
def site_broker(url: str) -> Iterator[None]:
    """The site's own queueing (`task.delay()` in services and tasks) goes to the broker at `url`,
    a Redis of the test's own, instead of running the task in the test."""
    from sigma_playground.celery import app

    def forget_connections() -> None:
        # The producer pools are made from the broker URL once, on first use; kombu keeps them in
        # a registry of its own, which reset() closes and empties.
        kombu.pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    forget_connections()
    app.conf.update(broker_url=url, task_always_eager=False)
    try:
        yield
    finally:
        forget_connections()
        app.conf.update(saved)


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM, and SIGKILL if it has not ended within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def procfile_command(process_type: str, port: int, **variables: str) -> list[str]:
    """The Procfile's command for `process_type`, as production runs it, on 127.0.0.1:`port`.

    `${NAME:-default}` takes `variables[NAME]`, else the default; the program is this virtualenv's.
    Variables the line sets before its program are passed through `env`."""
    line = next(
        line
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.startswith(f"{process_type}:")
    )
    variables = {"PORT": str(port), "WS_PORT": str(port), **variables}
    expanded = re.sub(
        r"\$\{(\w+):-([^}]*)\}",
        lambda match: variables.get(match.group(1), match.group(2)),
        line.split(":", 1)[1],
    )
    command = shlex.split(expanded)
    # A line may start with variables for its process alone (`DATABASE_POOL_SIZE=8 granian ...`),
    # which the shell that runs a Procfile line sets: `env` does the same here.
    assignments = []
    while re.fullmatch(r"\w+=\S*", command[0]):
        assignments.append(command.pop(0))
    command[0] = str(Path(sys.executable).with_name(command[0]))
    command[command.index("--host") + 1] = "127.0.0.1"
    return ["/usr/bin/env", *assignments, *command] if assignments else command


@contextmanager
def web_server(log_dir: Path, port: int, *, variables: dict[str, str], **env: str) -> Iterator[str]:
    """The Procfile's `web` process (granian, WSGI) on the test database and test settings; its base
    URL. `variables` fill the Procfile's `${...}`; `env` adds to the environment."""
    with procfile_server("web", log_dir, port, variables=variables, **env) as base:
        yield base


@contextmanager
def ws_server(log_dir: Path, port: int, *, variables: dict[str, str], **env: str) -> Iterator[str]:
    """The Procfile's `ws` process (granian, ASGI: websockets, event streams and Django's HTTP) on
    the test database and test settings; its base URL, as web_server's."""
    with procfile_server("ws", log_dir, port, variables=variables, **env) as base:
        yield base


@contextmanager
def procfile_server(
    process_type: str, log_dir: Path, port: int, *, variables: dict[str, str], **env: str
) -> Iterator[str]:
    """A Procfile process that serves HTTP, started once its /healthz answers; its base URL. Its
    output goes to `log_dir`/<type>-<port>.log."""
    log = log_dir / f"{process_type}-{port}.log"
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": test_database_url(),
        **env,
    }
    base = f"http://127.0.0.1:{port}"
    command = procfile_command(process_type, port, **variables)
    with serving(command, log, f"{base}/healthz", f"the {process_type} process", env=environ):
        yield base


@contextmanager
def serving(
    command: list[str], log: Path, ready_url: str, what: str, *, env=None, seconds: float = 30
) -> Iterator[subprocess.Popen]:
    """`command` running (its output in `log`), once `ready_url` answers 200; stopped after. Fails
    with the log when it exits or does not answer within `seconds`."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + seconds
        while not _answers(ready_url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{what} did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield process
    finally:
        stop(process)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own server
            return response.status == 200
    except OSError:
        return False
