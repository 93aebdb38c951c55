"""What metrics and logging cost the explore page: requests/s with them and without, in one run.

The same build serves the explore page as the Procfile's `web` process does (granian WSGI, 2 workers,
8 threads, production settings) in two ways, two servers side by side for the whole run:
  without: none of the metrics and request-id logging (tests/perf/settings_without_observability.py:
           no metrics, scrape or request-id middleware, no request-id log filter, every metric's
           recording a no-op), LOG_FORMAT=plain;
  with:    production: METRICS_ENABLED=true with PROMETHEUS_MULTIPROC_DIR (figures in files),
           LOG_FORMAT=json.
Both log at INFO, production's level. Each round loads one, then the other, alternating which goes first
(without-with, with-without, ...) so that the machine's drift weighs on both alike. At the end /metrics
is read to check the requests were really counted. Prints each round's requests/s and the ratio of the
means; the goal is an overhead of at most 5 %. On a machine shared with other work, rounds of the same
arm can differ by more than the arms do, so two steadier figures follow: the servers' own CPU time per
request, and the instructions one explore request takes through Django's WSGI handler in each arm's
settings, counted by valgrind's callgrind (`--requests` of them after a warm-up; the same count
whatever else the machine does). The instructions leave out granian's own work per request, so the
observability's share of them is larger than its share of a served request: an upper bound.

Usage (PostgreSQL preferred: a database of its own, seeded once with --users and --workbooks):
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigma_obs .venv/bin/python \\
    tests/perf/bench_observability.py [--rounds 3] [--seconds 10] [--connections 32] [--requests 100]
Without DATABASE_URL it seeds an SQLite file (var/bench-observability.sqlite3), which measures the
same middleware on a cheaper database: the overhead's share comes out larger, not smaller.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from harness import (
    ROOT,
    free_port,
    manage,
    production_env,
    require_wrk,
    serve,
    wrk_load,
)

PAGE = "/explore/"
VIEW = "workbooks:explore"
BASELINE_SETTINGS = "tests.perf.settings_without_observability"
WARM_REQUESTS = 30


def counted(base: str, token: str) -> float:
    """The explore page's requests /metrics reports (every worker's, added up)."""
    request = urllib.request.Request(  # noqa: S310 - our local server
        f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        text = response.read().decode()
    pattern = rf'^http_requests_total\{{[^}}]*view="{re.escape(VIEW)}"[^}}]*\}} ([\d.e+]+)$'
    return sum(float(value) for value in re.findall(pattern, text, re.M))


def _process_tree(pid: int) -> list[int]:
    """`pid` and every process below it (granian's workers under its main process)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += _process_tree(int(child))
    return found


def server_cpu_seconds(port: int) -> float:
    """User and system CPU time the server on `port` (its main process and workers) has spent."""
    needle = f"--port\0{port}\0".encode()
    main = next(
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and needle in _read(entry / "cmdline")
    )
    ticks = 0
    for pid in _process_tree(main):
        fields = _read(Path(f"/proc/{pid}/stat")).rsplit(b")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # a process that ended meanwhile
        return b""


def measured_load(url: str, seconds: int, connections: int) -> tuple[float, int]:
    """wrk's requests/s and the number of requests it made (no warm-up: the servers are warm)."""
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url],
        capture_output=True,
        text=True,
        check=True,
    )
    if "Non-2xx" in result.stdout:
        sys.exit(f"{url} answered errors under load:\n{result.stdout}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))
    return rate, int(re.search(r"(\d+) requests in", result.stdout).group(1))


def instructions_per_request(name: str, env: dict[str, str], requests: int) -> float:
    """Instructions an explore request takes in-process with `env`'s settings (callgrind)."""
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as scratch:
        out = Path(scratch) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                # Only what runs inside functools.reduce, which the counted loop is: not Python's
                # and Django's start, nor the warm-up.
                "--collect-atstart=no",
                "--toggle-collect=functools_reduce",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--count-requests",
                str(requests),
            ],
            cwd=ROOT,
            env={**env, "PYTHONHASHSEED": "0"},
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        totals = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.M)
    if totals is None:
        sys.exit(f"callgrind counted nothing for {name}")
    return int(totals.group(1)) / requests


def count_requests(requests: int) -> None:
    """Run by instructions_per_request under callgrind: serve the explore page through Django's
    WSGI handler, warm first, then `requests` times inside functools.reduce (what is counted)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigma_playground.settings")
    import functools
    import gc
    import io

    import django
    from django.core.handlers.wsgi import WSGIHandler

    django.setup()
    handler = WSGIHandler()

    def answered(status: str, headers: list, exc_info=None) -> None:
        if not status.startswith("200"):
            sys.exit(f"{PAGE} answered {status}")

    def serve(_done=None, _n=None) -> None:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": PAGE,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr,
        }
        b"".join(handler(environ, answered))

    for _ in range(WARM_REQUESTS):  # templates, the kept page, connections
        serve()
    # What start-up and the warm-up made is left out of the collector's full passes: one of them
    # falling inside one arm's counted requests and not the other's would outweigh the difference.
    gc.collect()
    gc.freeze()
    functools.reduce(serve, range(requests), None)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs, alternating")
    parser.add_argument("--seconds", type=int, default=10, help="of load per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--workbooks", type=int, default=5_000)
    parser.add_argument(
        "--requests", type=int, default=100, help="counted by callgrind in each arm (0: none)"
    )
    parser.add_argument("--count-requests", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.count_requests is not None:
        count_requests(options.count_requests)
        return
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
        "without": {
            **common,
            "DJANGO_SETTINGS_MODULE": BASELINE_SETTINGS,
            "METRICS_ENABLED": "false",
            "LOG_FORMAT": "plain",
        },
        "with": {
            **common,
            "METRICS_ENABLED": "true",
            "LOG_FORMAT": "json",
            "METRICS_TOKEN": token,
        },
    }
    rates: dict[str, list[float]] = {name: [] for name in variants}
    # The servers' own CPU time per request (main process and workers, from /proc): what their
    # requests/s would be on a machine of their own, far less disturbed by the machine's other work
    # (the load generator included) than requests/s.
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    print(
        f"{PAGE} on {database.split(':', 1)[0]}, granian WSGI 2 workers x 8 threads, "
        f"wrk {options.connections} connections, {options.seconds} s a run"
    )
    try:
        # Both servers run side by side for the whole run, only the one being loaded busy: a round
        # loads each in turn, so the machine's drift (other work beside it) weighs on both alike,
        # and neither pays a start-up the other does not.
        with ExitStack() as servers:
            bases, ports = {}, {}
            for name, env in variants.items():
                ports[name] = free_port()
                if name == "with":
                    env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_root / "served")}
                bases[name] = servers.enter_context(
                    serve("wsgi", ports[name], env=env, blocking_threads=8)
                )
            for base in bases.values():  # warm: templates, the kept page, connections
                wrk_load(f"{base}{PAGE}", 2, 8)
            for round_ in range(options.rounds):
                order = ["without", "with"] if round_ % 2 == 0 else ["with", "without"]
                line = []
                for name in order:
                    before = server_cpu_seconds(ports[name])
                    rate, made = measured_load(
                        f"{bases[name]}{PAGE}", options.seconds, options.connections
                    )
                    spent = (server_cpu_seconds(ports[name]) - before) / made
                    rates[name].append(rate)
                    cpu[name].append(spent)
                    line.append(
                        f"{name} {rate:7.0f} req/s, server CPU {spent * 1e6:.0f} us/request"
                    )
                print(f"round {round_ + 1}: " + ";  ".join(line))
            served = sum(rates["with"]) * options.seconds
            if options.rounds and counted(bases["with"], token) < served / 2:
                sys.exit("/metrics did not count the load: the middleware is not on")
        for name, port in ports.items():
            log = ROOT / "var" / f"bench-server-{port}.log"
            print(f"{name}: {len(log.read_text().splitlines())} log lines")
            log.unlink()
        if options.rounds:
            without = sum(rates["without"]) / len(rates["without"])
            with_ = sum(rates["with"]) / len(rates["with"])
            overhead = 1 - with_ / without
            print(
                f"mean: without {without:.0f} req/s, with {with_:.0f} req/s; ratio "
                f"{with_ / without:.3f}, overhead {overhead:.1%} "
                f"({'within' if overhead <= 0.05 else 'above'} the 5 % goal)"
            )
            cpu_without = sum(cpu["without"]) / len(cpu["without"])
            cpu_with = sum(cpu["with"]) / len(cpu["with"])
            extra = cpu_with / cpu_without - 1
            print(
                f"server CPU per request: without {cpu_without * 1e6:.0f} us, with "
                f"{cpu_with * 1e6:.0f} us: {extra:.1%} more, requests/s "
                f"{1 - cpu_without / cpu_with:.1%} fewer for a server of its own "
                f"({'within' if 1 - cpu_without / cpu_with <= 0.05 else 'above'} the 5 % goal)"
            )
        if options.requests and not shutil.which("valgrind"):
            print("instructions: not counted, valgrind is needed (apt-get install valgrind)")
        elif options.requests:
            with ThreadPoolExecutor() as pool:  # both at once: callgrind counts, it does not time
                counting = {
                    name: pool.submit(
                        instructions_per_request,
                        name,
                        {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_root / "counted")},
                        options.requests,
                    )
                    for name, env in variants.items()
                }
                counts = {name: future.result() for name, future in counting.items()}
            extra = counts["with"] / counts["without"] - 1
            print(
                f"instructions per request in Django (callgrind, {options.requests} requests): "
                f"without {counts['without']:,.0f}, with {counts['with']:,.0f}: {extra:.1%} more "
                f"({'within' if extra <= 0.05 else 'above'} the 5 % goal)"
            )
    finally:
        shutil.rmtree(metrics_root, ignore_errors=True)


if __name__ == "__main__":
    main()
