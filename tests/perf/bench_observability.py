"""What metrics and JSON logs cost the explore page: requests/s with them and without, in one run.

The same build serves the explore page as the Procfile's `web` process does (granian WSGI, 2 workers,
8 threads, production settings) in two ways, restarted for each round:
  without: METRICS_ENABLED=false (no metrics middleware), LOG_FORMAT=plain;
  with:    METRICS_ENABLED=true with PROMETHEUS_MULTIPROC_DIR (figures in files, as in production),
           LOG_FORMAT=json.
Both log at INFO, production's level. Rounds alternate which goes first (without-with, with-without,
...) so that the machine's drift weighs on both alike. After each `with` round /metrics is read to
check the requests were really counted. Prints each round's requests/s and the ratio of the means;
the goal is an overhead of at most 5 %.

Usage (PostgreSQL preferred: a database of its own, seeded once with --users and --workbooks):
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigma_obs .venv/bin/python \\
    tests/perf/bench_observability.py [--rounds 3] [--seconds 10] [--connections 32]
Without DATABASE_URL it seeds an SQLite file (var/bench-observability.sqlite3), which measures the
same middleware on a cheaper database: the overhead's share comes out larger, not smaller.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import socket
import sys
import tempfile
import urllib.request
from pathlib import Path

from harness import ROOT, manage, production_env, require_wrk, serve, wrk_load

PAGE = "/explore/"
VIEW = "workbooks:explore"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def counted(base: str, token: str) -> float:
    """The explore page's requests /metrics reports (every worker's, added up)."""
    request = urllib.request.Request(  # noqa: S310 - our local server
        f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        text = response.read().decode()
    pattern = rf'^http_requests_total\{{[^}}]*view="{re.escape(VIEW)}"[^}}]*\}} ([\d.e+]+)$'
    return sum(float(value) for value in re.findall(pattern, text, re.M))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs, alternating")
    parser.add_argument("--seconds", type=int, default=10, help="of load per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--workbooks", type=int, default=5_000)
    options = parser.parse_args()
    require_wrk()
    (ROOT / "var").mkdir(exist_ok=True)
    database = os.environ.setdefault(
        "DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench-observability.sqlite3'}"
    )
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))
    manage("migrate", "--noinput", "-v0")
    manage("seed", "--users", str(options.users), "--workbooks", str(options.workbooks))
    manage("collectstatic", "--noinput", "-v0")

    token = secrets.token_urlsafe(32)
    metrics_root = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    # As the Procfile's web process: 8 threads per worker, each worker a pool of as many connections.
    common = production_env(DATABASE_POOL_SIZE="8", LOG_LEVEL="INFO")
    variants = {
        "without": {**common, "METRICS_ENABLED": "false", "LOG_FORMAT": "plain"},
        "with": {
            **common,
            "METRICS_ENABLED": "true",
            "LOG_FORMAT": "json",
            "METRICS_TOKEN": token,
        },
    }
    rates: dict[str, list[float]] = {name: [] for name in variants}
    print(
        f"{PAGE} on {database.split(':', 1)[0]}, granian WSGI 2 workers x 8 threads, "
        f"wrk {options.connections} connections, {options.seconds} s a run"
    )
    try:
        for round_ in range(options.rounds):
            order = ["without", "with"] if round_ % 2 == 0 else ["with", "without"]
            line = []
            for name in order:
                env = dict(variants[name])
                if name == "with":  # a fresh directory per run, as after a deploy
                    directory = metrics_root / f"round-{round_}"
                    env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
                port = free_port()
                with serve("wsgi", port, env=env, blocking_threads=8) as base:
                    load = wrk_load(f"{base}{PAGE}", options.seconds, options.connections)
                    if name == "with" and counted(base, token) < load.rate * options.seconds / 2:
                        sys.exit("/metrics did not count the load: the middleware is not on")
                log = ROOT / "var" / f"bench-server-{port}.log"
                lines = len(log.read_text().splitlines())
                log.unlink()
                rates[name].append(load.rate)
                line.append(
                    f"{name} {load.rate:7.0f} req/s (p50 {load.p50:.1f} ms, {lines} log lines)"
                )
            print(f"round {round_ + 1}: " + ";  ".join(line))
    finally:
        shutil.rmtree(metrics_root, ignore_errors=True)

    without = sum(rates["without"]) / len(rates["without"])
    with_ = sum(rates["with"]) / len(rates["with"])
    overhead = 1 - with_ / without
    print(
        f"mean: without {without:.0f} req/s, with {with_:.0f} req/s; ratio {with_ / without:.3f}, "
        f"overhead {overhead:.1%} ({'within' if overhead <= 0.05 else 'above'} the 5 % goal)"
    )


if __name__ == "__main__":
    main()
