"""Shared by the benchmarks: run the site under granian with production settings, load it with wrk."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GRANIAN = str(Path(sys.executable).with_name("granian"))


def production_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def manage(*args: str) -> None:
    """A manage.py command with the benchmarks' production settings."""
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=production_env(), check=True)


def setup_django(**extra: str) -> None:
    """Django in this process, with the benchmarks' production settings (plus `extra`)."""
    os.environ.update(production_env(**extra))
    os.environ["DJANGO_SETTINGS_MODULE"] = "sigma_playground.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def free_port() -> int:
    """A port nothing listens on now (as tests.private_services's, which needs Django's settings)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def require_wrk() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")


def wait_until_up(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our local server
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not come up")


@contextmanager
def serve(
    interface: str,
    port: int,
    workers: int = 2,
    env: dict[str, str] | None = None,
    blocking_threads: int | None = None,
) -> Iterator[str]:
    """`blocking_threads`: granian's `--blocking-threads` per worker, as the Procfile sets it."""
    target = {
        "wsgi": "sigma_playground.wsgi:application",
        "asgi": "sigma_playground.asgi:application",
    }
    log = open(ROOT / "var" / f"bench-server-{port}.log", "w")  # noqa: SIM115 - closed with the server
    if interface == "daphne":  # one process, for comparison with granian's ASGI interface
        command = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            target["asgi"],
        ]
    else:
        command = [
            GRANIAN,
            "--interface",
            interface,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            *(["--blocking-threads", str(blocking_threads)] if blocking_threads else []),
            target[interface],
        ]
    server = subprocess.Popen(
        command,
        cwd=ROOT, env=env or production_env(),
        stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/healthz")
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # ASGI workers may wait on idle keep-alive sockets
            server.kill()
            server.wait()
        log.close()


def wrk(url: str, seconds: int = 10, connections: int = 32) -> float:
    """Requests per second, after a short warm-up."""
    return wrk_load(url, seconds, connections).rate


@dataclass(frozen=True)
class Load:
    rate: float  # requests per second
    p50: float  # latency, ms
    p99: float


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _latency_ms(output: str, percent: int) -> float:
    value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M).groups()
    return float(value) * _UNITS_MS[unit]


def wrk_load(
    url: str, seconds: int = 10, connections: int = 32, headers: dict[str, str] | None = None
) -> Load:
    """Requests per second and latency percentiles, after a short warm-up; `headers` are sent with
    every request (a session cookie, a bearer token). Any answer but a 2xx stops the benchmark."""
    sent = [arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")]
    subprocess.run(["wrk", "-t2", "-c8", "-d2s", *sent, url], capture_output=True, check=True)
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", *sent, url],
        capture_output=True,
        text=True,
        check=True,
    )
    if "Non-2xx" in result.stdout:
        raise RuntimeError(f"{url} answered errors under load:\n{result.stdout}")
    return Load(
        rate=float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1)),
        p50=_latency_ms(result.stdout, 50),
        p99=_latency_ms(result.stdout, 99),
    )
