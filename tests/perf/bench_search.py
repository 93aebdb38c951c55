"""Search and the explore page at volume, on PostgreSQL.

Seeds 10,000 members and 50,000 published workbooks (bulk inserts, once), then prints, per class of
query, the time at the database (EXPLAIN ANALYZE execution time of every query the search ran) p50
and p95, and the same through the ORM; then the explore page's requests/s next to /healthz's, on the
same WSGI server in one run.

Classes: one broad word, two broad words, a half-typed word after a broad one (stop-word prefixes
"s", "a", "in" included), queries typed by readers (words of random titles, the last one cut
short), typos, and deep pages (page 100 and 10,000 of the explore page, 100 per page on the API).
Each query runs with and without a tag filter.

`--rows 1000000` fills a database of its own with 1,000,000 workbooks: the first 50,000 through the
seed command, the rest copied from them in SQL (new addresses and dates, the same words), in seconds.

Usage (a database of its own, it is filled with seed data):
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigma_perf .venv/bin/python tests/perf/bench_search.py
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigma_perf_1m .venv/bin/python \
      tests/perf/bench_search.py --rows 1000000 --no-http
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable

from harness import manage, percentile, require_wrk, serve, setup_django, wrk

SEED_ROWS = 50_000  # made by the seed command; more are copies of these
BROAD = ["revenue", "churn", "pipeline", "forecast", "margin"]
TWO_BROAD = ["revenue churn", "churn cohort", "energy weather", "pipeline forecast", "margin spend"]
HALF_TYPED = ["revenue gro", "churn co", "forecast ma", "revenue s", "churn a", "pipeline in"]
TYPOS = ["revnue", "chrun", "forcast", "pipelnie", "revnue growht"]
SAMPLED = 40  # queries typed by "readers": words and prefixes taken from random titles
HTML_PAGE_SIZE = 24
API_PAGE_SIZE = 100


def copy_rows(total: int) -> None:
    """Copy the seeded workbooks (with their tags and search data) until there are `total`."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), max(id) FROM workbooks_workbook")
        have, last_id = cursor.fetchone()
        if have >= total:
            return
        cursor.execute("SELECT min(id) FROM workbooks_workbook WHERE slug LIKE 'seed-%%'")
        (first_seed,) = cursor.fetchone()
        copied = ("id", "slug", "sigma_id", "embed_url", "published_at")
        columns = [
            c.name
            for c in connection.introspection.get_table_description(cursor, "workbooks_workbook")
            if c.name not in copied
        ]
        search_table = "search_entry" in connection.introspection.table_names(cursor)
        # Copied as they are, tag ids included where the table has them (search/migrations/0003).
        tags = ""
        if search_table:
            entry = connection.introspection.get_table_description(cursor, "search_entry")
            tags = "tags, " if any(c.name == "tags" for c in entry) else ""
    # Copied in bulk with the GIN indexes' pending lists on (search/migrations/0007 turns them off,
    # each entry's words then go into the index one by one), merged and turned off again after.
    direct = _gin_without_pending_list() if search_table else []
    for index in direct:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER INDEX {index} SET (fastupdate = on)")
    started = time.perf_counter()
    while have < total:
        rows = min(SEED_ROWS, total - have)
        offset = last_id - first_seed + 1
        with transaction.atomic(), connection.cursor() as cursor:
            # Each copy gets ids above every existing one, addresses of its own and older dates.
            cursor.execute(
                f"""
                INSERT INTO workbooks_workbook (id, slug, sigma_id, embed_url, published_at,
                                                {", ".join(columns)})
                SELECT id + %(offset)s, 'copy-' || (id + %(offset)s) || '-' || slug,
                       '1-Copy' || (id + %(offset)s), embed_url || 'c' || (id + %(offset)s),
                       published_at - make_interval(mins => %(shift)s), {", ".join(columns)}
                FROM workbooks_workbook WHERE id >= %(first)s AND id < %(first)s + %(rows)s
                """,  # noqa: S608 - column names from the database itself
                {"offset": offset, "first": first_seed, "rows": rows, "shift": have},
            )
            cursor.execute(
                """
                INSERT INTO workbooks_workbook_tags (workbook_id, tag_id)
                SELECT workbook_id + %(offset)s, tag_id FROM workbooks_workbook_tags
                WHERE workbook_id >= %(first)s AND workbook_id < %(first)s + %(rows)s
                """,
                {"offset": offset, "first": first_seed, "rows": rows},
            )
            if search_table:
                cursor.execute(
                    f"""
                    INSERT INTO search_entry (workbook_id, author_id, published_at, {tags}vector)
                    SELECT workbook_id + %(offset)s, author_id,
                           published_at - make_interval(mins => %(shift)s), {tags}vector
                    FROM search_entry
                    WHERE workbook_id >= %(first)s AND workbook_id < %(first)s + %(rows)s
                    """,  # noqa: S608 - a column name of our own
                    {"offset": offset, "first": first_seed, "rows": rows, "shift": have},
                )
            cursor.execute("SELECT max(id) FROM workbooks_workbook")
            (last_id,) = cursor.fetchone()
        have += rows
        print(f"  copied up to {have:,} workbooks ({time.perf_counter() - started:.0f} s)")
    with connection.cursor() as cursor:
        for index in direct:
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
            cursor.execute(f"ALTER INDEX {index} SET (fastupdate = off)")
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('workbooks_workbook', 'id'), "
            "(SELECT max(id) FROM workbooks_workbook))"
        )
        for table in ("workbooks_workbook", "workbooks_workbook_tags", "search_entry"):
            if table != "search_entry" or search_table:
                cursor.execute(f"VACUUM ANALYZE {table}")


def _gin_without_pending_list() -> list[str]:
    """The search table's GIN indexes that take every write directly (fastupdate off)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = 'search_entry'::regclass "
            "AND a.amname = 'gin' AND 'fastupdate=off' = ANY (c.reloptions)"
        )
        return [name for (name,) in cursor.fetchall()]


def sampled_queries(count: int) -> list[str]:
    """Queries like a reader's: one or two words of an existing title, the last one half-typed."""
    import random

    from workbooks.models import Workbook

    rng = random.Random(1)  # noqa: S311 - benchmark input
    ids = list(
        Workbook.objects.filter(slug__startswith="seed-")
        .order_by("id")
        .values_list("id", flat=True)[:SEED_ROWS]
    )
    picked_ids = rng.sample(ids, count)
    titles = list(Workbook.objects.filter(id__in=picked_ids).values_list("title", flat=True))
    queries = []
    for title in titles:
        words = title.lower().split()
        picked = rng.sample(words, min(len(words), rng.choice([1, 2])))
        picked[-1] = picked[-1][: max(3, len(picked[-1]) - rng.randint(0, 3))]
        queries.append(" ".join(picked))
    return queries


def at_the_database(run: Callable[[], object]) -> tuple[float, float]:
    """(EXPLAIN ANALYZE execution time of every query `run` sends, wall time of `run`), in ms."""
    from django.db import connection

    sent: list[tuple[str, object]] = []

    def record(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(record):
        run()
    wall = (time.perf_counter() - started) * 1000
    total = 0.0
    with connection.cursor() as cursor:
        for sql, params in sent:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            total += plan[0]["Execution Time"]
    return total, wall


def first_page(query: str, tag: str) -> Callable[[], object]:
    return lambda: page_of(query, tag, 1, HTML_PAGE_SIZE)


def page_of(query: str, tag: str, number: int, size: int):
    """What the explore page and the API run for one page of a search."""
    from sigma_playground.paging import paginate
    from workbooks import selectors

    params = selectors.Search(query=query, tag=tag)
    search_page = getattr(selectors, "search_page", None)
    if search_page is not None:
        return search_page(params, number, size)
    return paginate(selectors.search(params), number, size)


def report(label: str, figures: list[tuple[float, float]]) -> None:
    database = [f[0] for f in figures]
    wall = [f[1] for f in figures]
    print(
        f"  {label:44} database p50 {statistics.median(database):7.2f} ms  p95 "
        f"{percentile(database, 0.95):7.2f} ms | ORM p50 {statistics.median(wall):7.2f} ms  p95 "
        f"{percentile(wall, 0.95):7.2f} ms"
    )


def search_times(repeat: int) -> dict[str, list[tuple[float, float]]]:
    classes = {
        "one broad word": BROAD,
        "two broad words": TWO_BROAD,
        "a broad word, then half-typed (s, a, in...)": HALF_TYPED,
        f"{SAMPLED} typed by readers": sampled_queries(SAMPLED),
        "typos (revnue, chrun...)": TYPOS,
    }
    deep = {
        "explore page 100 (revenue)": ("revenue", 100, HTML_PAGE_SIZE),
        "explore page 10,000 (revenue)": ("revenue", 10_000, HTML_PAGE_SIZE),
        "explore page 10,000 (no query)": ("", 10_000, HTML_PAGE_SIZE),
        "API q=revenue, 100 a page, page 10": ("revenue", 10, API_PAGE_SIZE),
        "API q=revenue, 100 a page, page 10,000": ("revenue", 10_000, API_PAGE_SIZE),
    }
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in [*classes, *deep]}
    for _ in range(repeat):
        for name, queries in classes.items():
            for query in queries:
                for tag in ("", "finance"):
                    figures[name].append(at_the_database(first_page(query, tag)))
        for name, (query, number, size) in deep.items():
            for tag in ("", "finance"):
                run = functools.partial(deep_page, query, tag, number, size)
                figures[name].append(at_the_database(run))
    return figures


def deep_page(query: str, tag: str, number: int, size: int) -> object:
    from workbooks import selectors

    try:
        return page_of(query, tag, number, size)
    except getattr(selectors, "TooDeep", ()):  # refused before any query
        return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rows", "--workbooks", dest="rows", type=int, default=SEED_ROWS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--no-http", action="store_true", help="Skip the requests/s part.")
    parser.add_argument("--no-seed", action="store_true", help="Use the database as it is.")
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of its own.")
    if not options.no_http:
        require_wrk()

    if not options.no_seed:
        started = time.perf_counter()
        manage("migrate", "--noinput", "-v0")
        seeded = min(options.rows, SEED_ROWS)
        manage("seed", "--users", str(options.users), "--workbooks", str(seeded))
        setup_django()
        copy_rows(options.rows)
        print(f"seeded in {time.perf_counter() - started:.0f} s")
    else:
        setup_django()

    from workbooks.models import Workbook

    print(f"{Workbook.objects.count():,} workbooks")
    figures = search_times(options.repeat)
    print("search, first page of 24 unless said (each query with and without a tag filter):")
    for name, values in figures.items():
        report(name, values)

    if options.no_http:
        return
    manage("collectstatic", "--noinput", "-v0")
    with serve("wsgi", 8702) as base:
        health = wrk(f"{base}/healthz", options.seconds)
        explore = wrk(f"{base}/explore/", options.seconds)
        searched = wrk(f"{base}/explore/?q=revenue+gro", options.seconds)
    print(f"granian WSGI, 2 workers: /healthz {health:,.0f} req/s")
    print(f"  /explore/            {explore:8,.0f} req/s  ({explore / health:.0%} of /healthz)")
    print(f"  /explore/?q=...      {searched:8,.0f} req/s  ({searched / health:.0%} of /healthz)")


if __name__ == "__main__":
    main()
