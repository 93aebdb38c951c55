"""/metrics as production runs it: the Procfile's web process with two workers answers for both,
whichever of them is asked; the ASGI application serves it as the WSGI one does; METRICS_ENABLED
decides whether requests are measured at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from tests.observability.conftest import BEARER, TOKEN, parse, total
from tests.private_services import free_port
from tests.processes import ROOT, procfile_command, web_server

MIDDLEWARE = "sigma_playground.observability.middleware.MetricsMiddleware"
SCRAPE = "sigma_playground.observability.middleware.ScrapeMiddleware"


@pytest.mark.django_db(transaction=True)
def test_the_figures_of_two_web_workers_add_up_whichever_answers(tmp_path):
    directory = tmp_path / "metrics"
    variables = {"WEB_CONCURRENCY": "2", "METRICS_DIR": str(directory)}
    env = {"METRICS_TOKEN": TOKEN, "REDIS_URL": ""}
    with web_server(tmp_path, free_port(), variables=variables, **env) as base:

        def get(_: int) -> int:
            # A connection each: the two workers share the port and each takes some of them.
            return requests.get(f"{base}/robots.txt", timeout=10).status_code

        def workers(read: list) -> set[str]:
            return {
                sample.labels["pid"]
                for sample in read
                if sample.name == "process_resident_memory_bytes" and sample.value > 0
            }

        # The port answers once one worker is up; the other may still be starting (slowly, on a
        # busy machine), and until it is, the first takes every connection. Ask until both have
        # answered some and written their figures (each does about once a second).
        requests_made = 0
        deadline = time.monotonic() + 60
        with ThreadPoolExecutor(8) as pool:
            while True:
                assert set(pool.map(get, range(100))) == {200}
                requests_made += 100
                time.sleep(1.5)
                scrape = requests.get(f"{base}/metrics", headers=BEARER, timeout=10)
                if len(workers(parse(scrape.text))) == 2 or time.monotonic() > deadline:
                    break

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            scrape = requests.get(f"{base}/metrics", headers=BEARER, timeout=10)
            if total(parse(scrape.text), "http_requests_total", view="robots") >= requests_made:
                break
            time.sleep(0.2)
        scrapes = [requests.get(f"{base}/metrics", headers=BEARER, timeout=10) for _ in range(4)]
        refused = requests.get(f"{base}/metrics", timeout=10)

    assert refused.status_code == 404
    for scrape in scrapes:
        assert scrape.status_code == 200
        read = parse(scrape.text)
        served = total(read, "http_requests_total", view="robots")
        assert served == requests_made  # every worker's count, whichever worker answered
        assert len(workers(read)) == 2, workers(read)
    assert list((directory / "web").glob("counter_*.db"))


def test_the_asgi_application_serves_metrics_as_the_wsgi_one_does(settings, db):
    settings.METRICS_TOKEN = TOKEN

    healthz = {"view": "healthz", "method": "GET", "status": "2xx"}

    async def scrape():
        client = AsyncClient()
        before = await client.get("/metrics", headers=BEARER)
        await client.get("/healthz")
        return before, await client.get("/metrics", headers=BEARER), await client.get("/metrics")

    before, after, refused = async_to_sync(scrape)()
    assert before.status_code == after.status_code == 200
    assert refused.status_code == 404
    # The request served through the ASGI application is counted, once.
    served = total(parse(after.content.decode()), "http_requests_total", **healthz)
    assert served - total(parse(before.content.decode()), "http_requests_total", **healthz) == 1


@pytest.mark.parametrize("process_type", ["web", "ws"])
def test_each_kind_of_server_keeps_its_figures_in_a_directory_of_its_own(process_type):
    command = procfile_command(process_type, 8000, METRICS_DIR="/srv/metrics")
    assert f"PROMETHEUS_MULTIPROC_DIR=/srv/metrics/{process_type}" in command
    default = procfile_command(process_type, 8000)
    assert f"PROMETHEUS_MULTIPROC_DIR=var/metrics/{process_type}" in default


# What the settings process is given by each test alone, not by the suite's own services.
_OWN_VARIABLES = {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "METRICS_ENABLED"}


def middleware(**env: str) -> list[str]:
    environ = {key: value for key, value in os.environ.items() if key not in _OWN_VARIABLES}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from sigma_playground import settings; print(json.dumps(settings.MIDDLEWARE))",
        ],
        cwd=ROOT,
        env={**environ, "DEBUG": "true", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_requests_are_measured_outermost_unless_metrics_are_switched_off():
    assert middleware()[0] == MIDDLEWARE
    assert middleware(METRICS_ENABLED="true")[0] == MIDDLEWARE
    # Off, the scrape is still answered first (at any address), and nothing is measured.
    off = middleware(METRICS_ENABLED="false")
    assert MIDDLEWARE not in off
    assert off == [SCRAPE, *middleware()[1:]]
