"""PostgreSQL connections held by the Procfile's `web` process under load, against its budget, with a
pool per worker (the Procfile) and with one persistent connection per thread (before it).

For each: requests/s of `/healthz`, `/readyz` (one query) and the API's workbook list, each as a share
of `/healthz` on the same server in the same run, with p50/p99; the most connections held during the
load; then bursts separated by idle spells longer than granian's blocking-thread idle timeout (set to
5 s here, 30 s by default), and the connections held after each.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigma_conn_bench \\
    .venv/bin/python tests/perf/bench_connections.py [--seconds 8] [--connections 32] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from harness import production_env, require_wrk, wait_until_up  # noqa: E402

from tests.pg_connections import connections_held, peak_connections  # noqa: E402
from tests.processes import procfile_command  # noqa: E402

WORKERS, THREADS = 2, 8
BUDGET = WORKERS * THREADS
PORT = 8760


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of the benchmark's own.")
    return url


def seed(env: dict[str, str]) -> None:
    """Migrate, collect the static files (/readyz checks their manifest), and 200 published
    workbooks the first time."""
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    script = (
        "from workbooks.models import Workbook\n"
        "if not Workbook.objects.exists():\n"
        "    from tests.factories import WorkbookFactory\n"
        "    WorkbookFactory.create_batch(200)\n"
    )
    subprocess.run([*manage, "shell", "-c", script], cwd=ROOT, env=env, check=True)


def wrk(url: str, seconds: int, connections: int) -> tuple[float, float, float, int]:
    """Requests/s, p50 and p99 in ms, and how many answers were not 2xx or 3xx."""
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def percentile(name: str) -> float:
        value, unit = re.search(rf"{name}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, percentile("50%"), percentile("99%"), int(errors.group(1)) if errors else 0


@contextmanager
def web(mode: str, env: dict[str, str]) -> Iterator[str]:
    command = procfile_command("web", PORT, WEB_CONCURRENCY=str(WORKERS), WEB_THREADS=str(THREADS))
    if mode == "persistent":  # the Procfile before pools: no DATABASE_POOL_SIZE
        command = [part for part in command if not part.startswith("DATABASE_POOL_SIZE=")]
    log = (ROOT / "var" / f"bench-connections-{mode}.log").open("w")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{PORT}"
    try:
        wait_until_up(f"{base}/healthz")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def run(mode: str, env: dict[str, str], url: str, seconds: int, connections: int) -> None:
    print(f"\n{mode}: {WORKERS} workers x {THREADS} threads (budget {BUDGET} connections)")
    with web(mode, env) as base:
        subprocess.run(["wrk", "-t2", "-c8", "-d2s", f"{base}/readyz"], capture_output=True)
        healthz = None
        for path in ("/healthz", "/readyz", "/api/v1/workbooks/"):
            with peak_connections(url, every=0.05) as most:
                rate, p50, p99, errors = wrk(base + path, seconds, connections)
            healthz = healthz or rate
            print(
                f"  {path:22} {rate:8,.0f} req/s ({rate / healthz:6.1%} of /healthz)"
                f"  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  non-2xx {errors}"
                f"  peak connections {most[0]}"
            )
        after = []
        for _ in range(3):
            wrk(f"{base}/readyz", 2, connections)
            time.sleep(7)  # longer than the threads' idle timeout: granian stops them
            after.append(connections_held(url))
        print(f"  connections after bursts with 7 s idle spells: {after} (budget {BUDGET})")


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="each mode, alternating")
    options = parser.parse_args()
    require_wrk()
    url = database_url()
    env = production_env(
        DJANGO_SETTINGS_MODULE="sigma_playground.settings",
        DATABASE_URL=url,
        REDIS_URL="",
        GRANIAN_BLOCKING_THREADS_IDLE_TIMEOUT="5",
        PYTHONPATH=str(ROOT),
    )
    seed(env)
    print(f"wrk -c{options.connections} -d{options.seconds}s, {os.cpu_count()} cores")
    for _ in range(options.rounds):  # alternating, so a change in the machine's load hits both
        for mode in ("persistent", "pool"):
            run(mode, env, url, options.seconds, options.connections)


if __name__ == "__main__":
    main()
