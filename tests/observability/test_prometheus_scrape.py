"""A real Prometheus scrapes the running site: every process kind's /metrics, added up across workers.

The Procfile's `web` process (granian, WSGI, 2 workers), its `ws` process (granian, ASGI) and a
Celery worker (prefork, its metrics on CELERY_METRICS_PORT) run on the test database with a private
Redis as cache, channel layer and broker, each kind keeping its figures in a directory of its own
(PROMETHEUS_MULTIPROC_DIR). Debian's `prometheus` scrapes the three every second with the bearer
token, and its HTTP API is asked what an operator's dashboard would ask: the requests both web
workers answered add up, the websockets the test holds open are counted, and the task a worker ran
is in the task metrics.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from rest_framework_simplejwt.tokens import AccessToken
from websockets.sync.client import connect

from tests.conftest import require
from tests.factories import UserFactory
from tests.private_services import free_port, private_redis
from tests.processes import (
    celery_worker,
    serving,
    site_broker,
    test_database_url,
    web_server,
    ws_server,
)
from workbooks.tasks import flush_views

pytestmark = pytest.mark.django_db(transaction=True)

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
VIEW = "workbooks:explore"
PAGE = "/explore/"
SOCKETS = 3
TASK = "workbooks.tasks.flush_views"
BATCH = 16  # requests sent at once, each on a connection of its own, so both workers take some
BATCHES = 10  # at most, until both workers have answered
SECONDS = 30  # for Prometheus to have scraped what the test did


@contextmanager
def prometheus(folder: Path, targets: dict[str, int], token: str) -> Iterator[str]:
    """`prometheus` scraping each job's 127.0.0.1:port every second with the bearer token; the
    address of its HTTP API."""
    folder.mkdir()
    jobs = [
        {
            "job_name": job,
            "authorization": {"type": "Bearer", "credentials": token},
            "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
        }
        for job, port in targets.items()
    ]
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": jobs,
    }
    (folder / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    port = free_port()
    command = [
        PROMETHEUS,
        f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    base = f"http://127.0.0.1:{port}"
    with serving(command, folder / "prometheus.log", f"{base}/-/ready", "prometheus", seconds=20):
        yield base


def query(base: str, expression: str) -> float | None:
    """The value of an instant query that yields one series (a sum, a count); None for none."""
    answer = requests.get(f"{base}/api/v1/query", params={"query": expression}, timeout=5)
    answer.raise_for_status()
    result = answer.json()["data"]["result"]
    assert len(result) <= 1, f"{expression} gave several series: {result}"
    return float(result[0]["value"][1]) if result else None


def requests_per_process(directory: Path) -> dict[int, float]:
    """The requests to VIEW each process of a multiprocess directory counted, read from its own
    counter file (what /metrics adds up)."""
    counts = {}
    for path in directory.glob("counter_*.db"):
        own = directory / "by-process" / path.stem
        own.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, own / path.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(own))
        counts[int(path.stem.rsplit("_", 1)[1])] = sum(
            sample.value
            for metric in registry.collect()
            for sample in metric.samples
            if sample.name == "http_requests_total" and sample.labels.get("view") == VIEW
        )
    return counts


def wait_for(checks: dict[str, Callable[[], bool]], logs: list[Path], seconds: float) -> None:
    """Until every check holds; else fail saying which did not, with the processes' logs."""
    deadline = time.monotonic() + seconds
    while True:
        failing = [what for what, check in checks.items() if not check()]
        if not failing:
            return
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
            pytest.fail(f"not seen by Prometheus in {seconds} s: {failing}\n{tails}")
        time.sleep(0.5)


def test_prometheus_scrapes_web_workers_ws_and_celery_worker(tmp_path):
    require("Prometheus", Path(PROMETHEUS).exists(), "apt-get install prometheus")
    token = secrets.token_urlsafe(32)
    metrics = tmp_path / "metrics"
    member = UserFactory(username="listener")
    access = str(AccessToken.for_user(member))

    with ExitStack() as stack:
        redis = stack.enter_context(private_redis(tmp_path / "redis"))
        uses = ("REDIS_URL", "CACHE_REDIS_URL", "CHANNEL_LAYER_REDIS_URL", "CELERY_BROKER_URL")
        env = {name: redis.url for name in uses}
        env["METRICS_TOKEN"] = token
        ports = {"web": free_port(), "ws": free_port(), "worker": free_port()}
        variables = {"WEB_CONCURRENCY": "2", "METRICS_DIR": str(metrics)}
        web = stack.enter_context(web_server(tmp_path, ports["web"], variables=variables, **env))
        ws = stack.enter_context(ws_server(tmp_path, ports["ws"], variables=variables, **env))
        worker = stack.enter_context(
            celery_worker(
                tmp_path,
                prefork=True,
                DATABASE_URL=test_database_url(),
                PROMETHEUS_MULTIPROC_DIR=str(metrics / "worker"),
                CELERY_METRICS_PORT=str(ports["worker"]),
                **env,
            )
        )
        api = stack.enter_context(prometheus(tmp_path / "prometheus", ports, token))
        logs = [
            tmp_path / f"web-{ports['web']}.log",
            tmp_path / f"ws-{ports['ws']}.log",
            worker.log,
            tmp_path / "prometheus" / "prometheus.log",
        ]

        # Requests until both web workers have answered some.
        sent = 0

        def counted() -> dict[int, float]:
            """Each worker's count, once all that was sent is written (a worker writes its
            requests' figures about once a second)."""
            deadline = time.monotonic() + 10
            while True:
                per_process = requests_per_process(metrics / "web")
                if sum(per_process.values()) >= sent or time.monotonic() > deadline:
                    return per_process
                time.sleep(0.2)

        with ThreadPoolExecutor(BATCH) as pool:
            for _ in range(BATCHES):
                answers = list(
                    pool.map(lambda _: requests.get(web + PAGE, timeout=10), range(BATCH))
                )
                assert all(answer.status_code == 200 for answer in answers)
                sent += BATCH
                if len([n for n in counted().values() if n]) >= 2:
                    break
        per_process = counted()
        assert len([n for n in per_process.values() if n]) == 2, per_process
        assert sum(per_process.values()) == sent, per_process

        for _ in range(SOCKETS):
            socket = stack.enter_context(
                connect(
                    f"ws://{ws.removeprefix('http://')}/ws/notifications/",
                    additional_headers={"Authorization": f"Bearer {access}"},
                )
            )
            assert json.loads(socket.recv(timeout=10))["type"] == "unread_count"

        with site_broker(redis.url):
            flush_views.apply_async(queue=worker.queue)

        def equals(expression: str, expected: float) -> Callable[[], bool]:
            return lambda: query(api, expression) == expected

        def at_least(expression: str, expected: float) -> Callable[[], bool]:
            return lambda: (query(api, expression) or 0) >= expected

        wait_for(
            {
                **{f"{job} scraped": equals(f'up{{job="{job}"}}', 1) for job in ports},
                f"{sent} requests to {VIEW}": equals(
                    f'sum(http_requests_total{{job="web",view="{VIEW}"}})', sent
                ),
                f"{SOCKETS} websockets": equals(
                    'sum(realtime_connections{job="ws",kind="websocket"})', SOCKETS
                ),
                f"{TASK} run": at_least(
                    f'sum(celery_tasks_total{{job="worker",task="{TASK}",outcome="succeeded"}})',
                    1,
                ),
            },
            logs,
            SECONDS,
        )
