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

# The most frequent words of the seed vocabulary: each matches a large share of all workbooks.
BROAD_QUERIES = ["revenue", "churn cohort", "forec", "energy weather", "finance", "pay"]
SAMPLED_QUERIES = (
    40  # plus this many typed by "readers": words and prefixes taken from random titles
)


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=production_env(), check=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def sampled_queries(count: int) -> list[str]:
    """Queries like a reader's: one or two words of an existing title, the last one half-typed."""
    import random

    from workbooks.models import Workbook

    rng = random.Random(1)  # noqa: S311 - benchmark input
    titles = list(Workbook.objects.order_by("?").values_list("title", flat=True)[:count])
    queries = []
    for title in titles:
        words = title.lower().split()
        picked = rng.sample(words, min(len(words), rng.choice([1, 2])))
        picked[-1] = picked[-1][: max(3, len(picked[-1]) - rng.randint(0, 3))]
        queries.append(" ".join(picked))
    return queries


def time_query(query: str, tag: str) -> tuple[float, float]:
    """(execution time reported by EXPLAIN ANALYZE, wall time through the ORM), in ms."""
    from django.db import connection

    from workbooks import selectors

    queryset = selectors.search(selectors.Search(query=query, tag=tag))[:24]
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    started = time.perf_counter()
    list(selectors.search(selectors.Search(query=query, tag=tag))[:24])
    return plan[0]["Execution Time"], (time.perf_counter() - started) * 1000


def report(label: str, figures: list[tuple[float, float]]) -> None:
    database = [f[0] for f in figures]
    wall = [f[1] for f in figures]
    print(
        f"  {label:34} database p50 {statistics.median(database):6.2f} ms  p95 "
        f"{percentile(database, 0.95):6.2f} ms | ORM p50 {statistics.median(wall):6.2f} ms  p95 "
        f"{percentile(wall, 0.95):6.2f} ms"
    )


def search_times(repeat: int) -> dict[str, list[tuple[float, float]]]:
    os.environ.update(production_env())
    os.environ["DJANGO_SETTINGS_MODULE"] = "sigma_playground.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    typed = sampled_queries(SAMPLED_QUERIES)
    figures: dict[str, list[tuple[float, float]]] = {"typed": [], "broad": []}
    for _ in range(repeat):
        for kind, queries in (("typed", typed), ("broad", BROAD_QUERIES)):
            for query in queries:
                for tag in ("", "finance"):
                    figures[kind].append(time_query(query, tag))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
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

    figures = search_times(options.repeat)
    print("search (each query with and without a tag filter):")
    report(f"{SAMPLED_QUERIES} typed by readers", figures["typed"])
    report(f"{len(BROAD_QUERIES)} broad (the commonest words)", figures["broad"])

    with serve("wsgi", 8702) as base:
        health = wrk(f"{base}/healthz", options.seconds)
        explore = wrk(f"{base}/explore/", options.seconds)
        searched = wrk(f"{base}/explore/?q=revenue+gro", options.seconds)
    print(f"granian WSGI, 2 workers: /healthz {health:,.0f} req/s")
    print(f"  /explore/            {explore:8,.0f} req/s  ({explore / health:.0%} of /healthz)")
    print(f"  /explore/?q=...      {searched:8,.0f} req/s  ({searched / health:.0%} of /healthz)")


if __name__ == "__main__":
    main()
