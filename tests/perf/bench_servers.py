"""Requests per second of one trivial view through WSGI and through ASGI, measured in one run.

Why production sends HTTP to WSGI processes: Django runs sync views on one shared thread per ASGI process.
Usage: .venv/bin/python tests/perf/bench_servers.py [--seconds 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import os

from harness import require_wrk, serve, wrk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    options = parser.parse_args()
    require_wrk()
    print(
        f"/healthz, 2 workers, wrk -c{options.connections} -d{options.seconds}s, {os.cpu_count()} cores"
    )
    figures = {}
    for port, interface in [(8700, "wsgi"), (8701, "asgi")]:
        with serve(interface, port) as base:
            figures[interface] = wrk(f"{base}/healthz", options.seconds, options.connections)
        print(f"granian {interface.upper()}  {figures[interface]:10,.0f} requests/s")
    print(f"WSGI serves {figures['wsgi'] / figures['asgi']:.1f}x the requests of ASGI")


if __name__ == "__main__":
    main()
