"""Deep pages, by OFFSET (as lists were paged before) and by cursor (as they are now), on PostgreSQL.

Seeds what bench_search.py seeds (10,000 members, 50,000 workbooks; `--rows` for more), and for the
social lists one reader with `--social` notifications, who follows 50 authors with as many
activities between them, one member with every seed member as a follower and one who favorited
`--social` workbooks. Then prints, for each list, the time at the database (EXPLAIN ANALYZE
execution time of the page's queries, median of `--repeat`) of its first page, and of its last
page (or page 10,000 where the list is that long) by OFFSET and by cursor, each as a ratio to the
first page; and, through granian, the API's first and deepest page's requests/s next to /healthz's.

Usage (a database of its own, filled with seed data once):
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigma_paging \\
      .venv/bin/python tests/perf/bench_paging.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from bench_search import SEED_ROWS, at_the_database, copy_rows
from harness import manage, require_wrk, serve, setup_django, wrk

READER, STAR, COLLECTOR = "paging-reader", "paging-star", "paging-collector"


def seed_social(rows: int) -> None:
    """The social lists at volume, in SQL (once): what a reader's feed, notifications, a popular
    member's followers and a collector's favorites hold."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User

    if User.objects.filter(username=READER).exists():
        return
    now = timezone.now()
    with transaction.atomic():
        reader, star, collector = (
            User.objects.create(username=name, email=f"{name}@example.com")
            for name in (READER, STAR, COLLECTOR)
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM accounts_user WHERE username LIKE 'seed%%' ORDER BY id LIMIT 50"
            )
            authors = [row[0] for row in cursor.fetchall()]
            cursor.executemany(
                "INSERT INTO social_follow (follower_id, followee_id, created_at) "
                "VALUES (%s, %s, %s)",
                [(reader.pk, author, now) for author in authors],
            )
            # Activities of the followed authors, and as many of everyone else's, interleaved.
            cursor.execute(
                """
                WITH picked AS (
                    SELECT array_agg(id) AS ids FROM (
                        SELECT id FROM workbooks_workbook WHERE status = 'published'
                        ORDER BY id LIMIT 1000) AS first_ones
                ), other AS (
                    SELECT id FROM accounts_user ORDER BY id DESC LIMIT 1 OFFSET 10
                )
                INSERT INTO social_activity (actor_id, verb, workbook_id, created_at)
                SELECT CASE WHEN n %% 2 = 0 THEN (%(authors)s::bigint[])[1 + (n / 2) %% 50]
                            ELSE other.id END,
                       'favorited', picked.ids[1 + n %% 1000], %(now)s - make_interval(secs => n)
                FROM generate_series(1, %(rows)s) AS n, picked, other
                """,
                {"authors": authors, "rows": rows * 2, "now": now},
            )
            cursor.execute(
                """
                INSERT INTO social_notification (recipient_id, actor_id, verb, created_at, read)
                SELECT %(reader)s, %(actor)s, 'followed', %(now)s - make_interval(secs => n),
                       n %% 3 = 0
                FROM generate_series(1, %(rows)s) AS n
                """,
                {"reader": reader.pk, "actor": authors[0], "rows": rows, "now": now},
            )
            cursor.execute(
                """
                INSERT INTO social_follow (follower_id, followee_id, created_at)
                SELECT id, %(star)s, %(now)s - make_interval(secs => id)
                FROM accounts_user WHERE username LIKE 'seed%%'
                """,
                {"star": star.pk, "now": now},
            )
            cursor.execute(
                """
                INSERT INTO social_favorite (user_id, workbook_id, created_at)
                SELECT %(user)s, id, %(now)s - make_interval(secs => id)
                FROM workbooks_workbook WHERE status = 'published' ORDER BY id LIMIT %(rows)s
                """,
                {"user": collector.pk, "rows": rows, "now": now},
            )
    with connection.cursor() as cursor:
        for table in ("social_activity", "social_notification", "social_follow", "social_favorite"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def lists() -> dict[str, object]:
    """Each list as its page is asked for: the queryset the view pages."""
    from accounts.models import User
    from social import selectors as social_selectors
    from workbooks import selectors
    from workbooks.models import Tag

    reader = User.objects.get(username=READER)
    star = User.objects.get(username=STAR)
    collector = User.objects.get(username=COLLECTOR)
    tag = Tag.objects.order_by("-workbook_count").first()
    return {
        "API workbooks, 100 a page": (
            selectors.api_list().order_by(*selectors.SORTS["latest"]),
            100,
        ),
        "API workbooks by trending, 100 a page": (
            selectors.api_list().order_by(*selectors.SORTS["trending"]),
            100,
        ),
        f"tag page ({tag.slug}), 24 a page": (selectors.with_tag(tag), 24),
        "feed, 30 a page": (social_selectors.feed_for(reader), 30),
        "notifications, 30 a page": (social_selectors.notifications_for(reader), 30),
        "unread notifications, 30 a page": (
            social_selectors.notifications_for(reader, unread_only=True),
            30,
        ),
        "followers of a member, 30 a page": (social_selectors.followers_of(star), 30),
        "favorites of a member, 24 a page": (social_selectors.favorites_of(collector), 24),
    }


def deep_cursor(queryset, depth: int) -> str:
    """The cursor a reader following `next` would hold at row `depth` (made outside the timing)."""
    from sigma_playground import paging

    row = queryset[depth - 1 : depth].get()
    return paging.encode_cursor(row, paging.ordering_of(queryset), paging.FORWARD)


def median_ms(run, repeat: int) -> float:
    return statistics.median(at_the_database(run)[0] for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=SEED_ROWS)
    parser.add_argument("--social", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--no-seed", action="store_true")
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of its own.")
    if not options.no_http:
        require_wrk()
    if not options.no_seed:
        started = time.perf_counter()
        manage("migrate", "--noinput", "-v0")
        manage(
            "seed", "--users", str(options.users), "--workbooks", str(min(options.rows, SEED_ROWS))
        )
        setup_django()
        copy_rows(options.rows)
        seed_social(options.social)
        print(f"seeded in {time.perf_counter() - started:.0f} s")
    else:
        setup_django()

    from sigma_playground import paging

    print("time at the database (median), deep page as a ratio to the first page:")
    deepest_api = None
    for name, (queryset, size) in lists().items():
        total = queryset.count()
        number = max(1, min(10_000, (total - 1) // size + 1))  # the last page, or 10,000
        depth = (number - 1) * size
        first = median_ms(lambda q=queryset, s=size: paging.keyset_page(q, s), options.repeat)
        by_offset = median_ms(
            lambda q=queryset, n=number, s=size: paging.paginate(q, n, s), options.repeat
        )
        cursor = deep_cursor(queryset, depth) if depth else None
        by_cursor = median_ms(
            lambda q=queryset, s=size, c=cursor: paging.keyset_page(q, s, c), options.repeat
        )
        if deepest_api is None:
            deepest_api = (cursor, number)
        print(
            f"  {name:40} {total:>9,} rows  first {first:7.2f} ms | page {number:>6,}: "
            f"OFFSET {by_offset:8.2f} ms ({by_offset / first:6.1f}x)  "
            f"cursor {by_cursor:7.2f} ms ({by_cursor / first:4.1f}x)"
        )

    if options.no_http:
        return
    from urllib.parse import quote

    manage("collectstatic", "--noinput", "-v0")
    cursor, number = deepest_api
    with serve("wsgi", 8712) as base:
        # Few connections: a page of 100 workbooks takes tens of ms to serialise, and 32 clients
        # queue for the pool's connections long enough to be refused; the ratio is what matters.
        health = wrk(f"{base}/healthz", options.seconds, connections=4)
        first = wrk(f"{base}/api/v1/workbooks/?page_size=100", options.seconds, connections=4)
        deep = wrk(
            f"{base}/api/v1/workbooks/?page_size=100&cursor={quote(cursor)}",
            options.seconds,
            connections=4,
        )
        by_offset = wrk(
            f"{base}/api/v1/workbooks/?page_size=100&page=10", options.seconds, connections=4
        )
    print(f"granian WSGI, 2 workers, 4 connections: /healthz {health:,.0f} req/s")
    print(
        f"  API workbooks, page 10 by number   {by_offset:7,.0f} req/s ({by_offset / health:.1%})"
    )
    print(f"  API workbooks, first page of 100   {first:7,.0f} req/s ({first / health:.1%})")
    print(
        f"  API workbooks, page {number:,} by cursor {deep:7,.0f} req/s ({deep / health:.1%}; "
        f"{deep / first:.2f}x the first page)"
    )


if __name__ == "__main__":
    main()
