"""Search and the explore page at volume, on PostgreSQL.

Seeds 10,000 members and 50,000 published workbooks (bulk inserts, once), then prints:
- search time at the database (EXPLAIN ANALYZE execution time) over a mix of queries: p50, p95;
- the explore page's requests/s next to /healthz's, on the same WSGI server in one run.

Usage (a database of its own, it is filled with seed data):
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigma_perf .venv/bin/python tests/perf/bench_search.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from harness import ROOT, production_env, require_wrk, serve, wrk

QUERIES = [
    "revenue", "churn cohort", "forec", "energy weather", "pipeline quota margin",
    "seed member 12", "finance", "attribution growth", "supply demand risk", "pay",
]  # fmt: skip


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=production_env(), check=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def search_times(repeat: int) -> tuple[list[float], list[float]]:
    os.environ.update(production_env())
    os.environ["DJANGO_SETTINGS_MODULE"] = "sigma_playground.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    from workbooks import selectors

    database, wall = [], []
    for _ in range(repeat):
        for query in QUERIES:
            for tag in ("", "finance"):
                queryset = selectors.search(selectors.Search(query=query, tag=tag))[:24]
                sql, params = queryset.query.sql_with_params()
                with connection.cursor() as cursor:
                    cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
                    plan = cursor.fetchone()[0]
                plan = json.loads(plan) if isinstance(plan, str) else plan
                database.append(plan[0]["Execution Time"])
                started = time.perf_counter()
                list(selectors.search(selectors.Search(query=query, tag=tag))[:24])
                wall.append((time.perf_counter() - started) * 1000)
    return database, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--workbooks", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=10)
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of its own.")
    require_wrk()

    started = time.perf_counter()
    manage("migrate", "--noinput", "-v0")
    manage("seed", "--users", str(options.users), "--workbooks", str(options.workbooks))
    manage("collectstatic", "--noinput", "-v0")
    print(f"seeded in {time.perf_counter() - started:.0f} s")

    database, wall = search_times(options.repeat)
    print(f"search, {len(database)} queries ({len(QUERIES)} texts, with and without a tag filter):")
    print(f"  at the database: p50 {statistics.median(database):6.2f} ms   p95 {percentile(database, 0.95):6.2f} ms")
    print(f"  through the ORM: p50 {statistics.median(wall):6.2f} ms   p95 {percentile(wall, 0.95):6.2f} ms")

    with serve("wsgi", 8702) as base:
        health = wrk(f"{base}/healthz", options.seconds)
        explore = wrk(f"{base}/explore/", options.seconds)
        searched = wrk(f"{base}/explore/?q=revenue+gro", options.seconds)
    print(f"granian WSGI, 2 workers: /healthz {health:,.0f} req/s")
    print(f"  /explore/            {explore:8,.0f} req/s  ({explore / health:.0%} of /healthz)")
    print(f"  /explore/?q=...      {searched:8,.0f} req/s  ({searched / health:.0%} of /healthz)")


if __name__ == "__main__":
    main()
