"""The workbook page's own costs at volume, on PostgreSQL: related workbooks and the view count.

Seeds 10,000 members and 50,000 published workbooks as bench_search.py does (once; the seed also
computes the related lists), then prints:
- the related query at the database (EXPLAIN ANALYZE execution time and rows read) over a sample of
  workbooks: ranking every workbook that shares a tag, as the page did per view, against reading the
  list kept for the workbook's set of tags; and what recomputing after one change costs (the task);
- recording a view on one popular workbook from 8 connections at once, with and without a foreign key
  constraint on the pending views (its check locks the workbook row), and while the row is held;
- the workbook page's requests/s next to /healthz's on the same WSGI server in one run: one page
  again and again, and a different page each request (every one a counted view, rendered afresh).

Usage (a database of its own, it is filled with seed data):
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigma_related .venv/bin/python tests/perf/bench_related.py
`--pages-only` measures only the pages (to run the same load against an older checkout).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from harness import manage, percentile, require_wrk, serve, setup_django, wrk

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
# A different page each request: wrk runs this in each of its threads.
ROTATE_LUA = """
local paths = {}
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
  counter = math.random(#paths)
end
request = function()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter])
end
"""


def per_view_query(workbook):
    """The related query as the page ran it on every view before lists were kept."""
    from django.db.models import Count

    from workbooks import selectors

    tag_ids = [tag.pk for tag in workbook.tags.all()]
    return (
        selectors.cards(selectors.published().filter(tags__in=tag_ids).exclude(pk=workbook.pk))
        .annotate(shared=Count("tags"))
        .order_by("-shared", "-trending_score", "-published_at")[:4]
    )


def explain(queryset) -> tuple[float, int]:
    """(execution time in ms, rows read by every scan) from EXPLAIN ANALYZE."""
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def rows(node) -> int:
        own = node["Actual Rows"] * node["Actual Loops"] if "Relation Name" in node else 0
        return own + sum(rows(child) for child in node.get("Plans", []))

    return plan[0]["Execution Time"], rows(plan[0]["Plan"])


def related_figures(sample: int, repeat: int) -> None:
    from django.contrib.auth.models import AnonymousUser

    from workbooks import selectors, services
    from workbooks.models import Workbook

    slugs = list(Workbook.objects.published().order_by("?").values_list("slug", flat=True)[:sample])
    workbooks = [selectors.detail(slug, AnonymousUser()) for slug in slugs]
    figures: dict[str, list[tuple[float, int]]] = {"per view": [], "kept": []}
    same = 0
    for workbook in workbooks:  # warm both once
        list(per_view_query(workbook))
        list(selectors.related_queryset(workbook))
    for _ in range(repeat):
        for workbook in workbooks:
            figures["per view"].append(explain(per_view_query(workbook)))
            figures["kept"].append(explain(selectors.related_queryset(workbook)))
    for workbook in workbooks:
        old = [w.pk for w in per_view_query(workbook)]
        new = [w.pk for w in selectors.related_queryset(workbook)]
        same += old == new
    print(f"related query at the database ({len(workbooks)} workbooks x {repeat}):")
    for label, values in figures.items():
        times = [v[0] for v in values]
        print(
            f"  {label:9} p50 {statistics.median(times):7.2f} ms  p95 {percentile(times, 0.95):7.2f}"
            f" ms  rows read p50 {statistics.median(v[1] for v in values):8,.0f}"
        )
    ratio = statistics.median(v[0] for v in figures["per view"]) / statistics.median(
        v[0] for v in figures["kept"]
    )
    print(
        f"  kept lists: {ratio:,.0f}x faster at p50; same 4 as ranking per view: {same} of {len(workbooks)}"
    )

    changes = []
    for workbook in workbooks[:10]:
        started = time.perf_counter()
        services.refresh_related([workbook.pk])
        changes.append((time.perf_counter() - started) * 1000)
    print(
        f"  the task after one change (its lists recomputed, others entered): p50"
        f" {statistics.median(changes):.0f} ms, max {max(changes):.0f} ms"
    )


def view_figures(threads: int, per_thread: int) -> None:
    """Counted views as the page records them (one INSERT each, autocommit) on one workbook."""
    import psycopg
    from django.db import connection

    from workbooks.models import Workbook

    settings = connection.settings_dict
    dsn = (
        f"host={settings['HOST'] or '127.0.0.1'} port={settings['PORT'] or 5432}"
        f" user={settings['USER']} dbname={settings['NAME']}"
    )
    hot = Workbook.objects.published().order_by("-trending_score").values_list("pk", flat=True)[0]
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("DROP TABLE IF EXISTS bench_view_fk, bench_view_plain")
        admin.execute(
            "CREATE TABLE bench_view_fk (id bigserial PRIMARY KEY, workbook_id bigint NOT NULL"
            " REFERENCES workbooks_workbook (id) DEFERRABLE INITIALLY DEFERRED,"
            " viewed_at timestamptz NOT NULL DEFAULT now())"
        )
        admin.execute(
            "CREATE TABLE bench_view_plain (id bigserial PRIMARY KEY, workbook_id bigint NOT NULL,"
            " viewed_at timestamptz NOT NULL DEFAULT now())"
        )
        for table in ("bench_view_fk", "bench_view_plain"):
            admin.execute(f"CREATE INDEX ON {table} (workbook_id)")

        def load(table: str) -> float:
            barrier = threading.Barrier(threads)

            def run() -> None:
                with psycopg.connect(dsn, autocommit=True) as own:
                    barrier.wait()
                    for _ in range(per_thread):
                        own.execute(f"INSERT INTO {table} (workbook_id) VALUES (%s)", [hot])  # noqa: S608

            workers = [threading.Thread(target=run) for _ in range(threads)]
            started = time.perf_counter()
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            return threads * per_thread / (time.perf_counter() - started)

        def held(table: str, seconds: float = 1.0) -> float:
            """ms one view waits while another transaction holds the row (a delete, say)."""
            with psycopg.connect(dsn) as holder, psycopg.connect(dsn, autocommit=True) as viewer:
                holder.execute("SELECT id FROM workbooks_workbook WHERE id = %s FOR UPDATE", [hot])
                release = threading.Timer(seconds, holder.rollback)
                release.start()
                started = time.perf_counter()
                viewer.execute(f"INSERT INTO {table} (workbook_id) VALUES (%s)", [hot])  # noqa: S608
                waited = (time.perf_counter() - started) * 1000
                release.join()
                return waited

        # Alternately, three times each: the machine is shared, so one run alone says little.
        runs: dict[str, list[float]] = {"bench_view_fk": [], "bench_view_plain": []}
        for _ in range(3):
            for table in runs:
                runs[table].append(load(table))
        rates = {table: statistics.median(values) for table, values in runs.items()}
        waits = {table: held(table) for table in ("bench_view_fk", "bench_view_plain")}
        admin.execute("DROP TABLE bench_view_fk, bench_view_plain")
    print(
        f"recording views of one workbook, {threads} connections x {per_thread} INSERTs"
        " (median of 3 runs each, alternating):"
    )
    print(
        f"  with the foreign key  {rates['bench_view_fk']:8,.0f} views/s; waits"
        f" {waits['bench_view_fk']:6.0f} ms while the row is held for 1 s"
    )
    print(
        f"  without (as now)      {rates['bench_view_plain']:8,.0f} views/s; waits"
        f" {waits['bench_view_plain']:6.0f} ms  ({rates['bench_view_plain'] / rates['bench_view_fk']:.2f}x)"
    )


def rotating_wrk(base: str, paths: list[str], seconds: int, connections: int = 32) -> float:
    """Requests/s over a different page each request, every one from a browser (so counted)."""
    with tempfile.TemporaryDirectory() as folder:
        script = os.path.join(folder, "rotate.lua")
        listing = os.path.join(folder, "paths.txt")
        with open(script, "w") as out:
            out.write(ROTATE_LUA)
        with open(listing, "w") as out:
            out.write("\n".join(paths) + "\n")
        result = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-H", f"User-Agent: {BROWSER}",
             "-s", script, base, "--", listing],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    if "Non-2xx" in result.stdout:
        raise RuntimeError(f"pages answered errors under load:\n{result.stdout}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))


def page_figures(seconds: int) -> None:
    from workbooks.models import Workbook

    # Pages nobody has asked for yet in this run: each rendered afresh, each a counted view.
    slugs = list(Workbook.objects.published().order_by("?").values_list("slug", flat=True)[:20_000])
    paths = [f"/w/{slug}/" for slug in slugs]
    # As the Procfile runs it: 2 workers of 8 threads, each thread at most one database connection.
    with serve("wsgi", 8705, blocking_threads=8) as base:
        health = wrk(f"{base}/healthz", seconds)
        one = wrk(f"{base}{paths[0]}", seconds)
        many = rotating_wrk(base, paths[1:], seconds)
    print(f"granian WSGI, 2 workers: /healthz {health:,.0f} req/s")
    print(f"  one workbook page     {one:8,.0f} req/s  ({one / health:.1%} of /healthz)")
    print(f"  a new page each time  {many:8,.0f} req/s  ({many / health:.1%} of /healthz)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--workbooks", type=int, default=50_000)
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--pages-only", action="store_true")
    parser.add_argument("--no-pages", action="store_true")
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of its own.")
    require_wrk()

    if not options.pages_only:
        started = time.perf_counter()
        manage("migrate", "--noinput", "-v0")
        manage("seed", "--users", str(options.users), "--workbooks", str(options.workbooks))
        manage("collectstatic", "--noinput", "-v0")
        print(f"seeded in {time.perf_counter() - started:.0f} s")
    setup_django()
    if not options.pages_only:
        related_figures(options.sample, options.repeat)
        view_figures(threads=8, per_thread=500)
    if not options.no_pages:
        page_figures(options.seconds)


if __name__ == "__main__":
    main()
