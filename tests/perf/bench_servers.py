"""Requests per second of one trivial view through WSGI and through ASGI, measured in one run.

Why production sends HTTP to WSGI processes: Django runs sync views on one shared thread per ASGI process.
Usage: .venv/bin/python tests/perf/bench_servers.py [--seconds 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GRANIAN = str(Path(sys.executable).with_name("granian"))

SERVERS = {
    "granian WSGI": ["--interface", "wsgi", "sigma_playground.wsgi:application"],
    "granian ASGI": ["--interface", "asgi", "sigma_playground.asgi:application"],
}


def wait_until_up(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own local server
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not come up")


def measure(name: str, args: list[str], port: int, seconds: int, connections: int) -> float:
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            GRANIAN,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--log-level",
            "warning",
            *args,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        wait_until_up(url)
        subprocess.run(
            ["wrk", "-t2", "-c8", "-d2s", url], capture_output=True, check=True
        )  # warm up
        result = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url],
            capture_output=True,
            text=True,
            check=True,
        )
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))
        print(f"{name:14} {rps:10,.0f} requests/s")
        return rps
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    options = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    print(
        f"/healthz, 2 workers, wrk -t2 -c{options.connections} -d{options.seconds}s, {os.cpu_count()} cores"
    )
    figures = {
        name: measure(name, args, 8700 + i, options.seconds, options.connections)
        for i, (name, args) in enumerate(SERVERS.items())
    }
    wsgi, asgi = figures["granian WSGI"], figures["granian ASGI"]
    print(f"WSGI serves {wsgi / asgi:.1f}x the requests of ASGI")


if __name__ == "__main__":
    main()
