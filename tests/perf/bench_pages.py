"""Every page at volume, as a visitor and as a signed-in member, on PostgreSQL and Redis.

Seeds (once) 10,000 members and 50,000 published workbooks, and gives one member ("seed000001") what
a regular has: follows, favorites, notifications (some unread) and a feed. Then serves the site with
granian's WSGI interface (2 workers, production settings) and loads each page with wrk, printing
requests/s as a share of /healthz's on the same server in the same run, and p50/p99 latency, for a
visitor and for that member (bearer token on the API; on pages, the cookies a browser holds after
its first page: the session and the CSRF cookie that page set, see `browser_cookies`).

Usage (a database and a Redis db of their own: both are filled, the Redis db is emptied first):
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigma_pages REDIS_URL=redis://127.0.0.1:6379/9 \\
    .venv/bin/python tests/perf/bench_pages.py [--only home,workbook] [--seconds 10]
`--rows 1000000` seeds and measures a million workbooks in a database of that name plus `_1000000`
(created if missing), leaving the 50,000-row one as it is.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlsplit, urlunsplit

from harness import Load, manage, production_env, require_wrk, serve, setup_django, wrk_load

MEMBER = "seed000001"
AUTHOR = "seed000002"  # whose profile is measured; the member follows them
FOLLOWS = 50
FAVORITES = 200
NOTIFICATIONS = 100  # the newest 40 unread
ACTIVITIES_PER_FOLLOWEE = 10


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    visitors: bool = True  # False: a member's own page (feed, notifications)
    api: bool = False


def pages(workbook_path: str) -> list[Page]:
    return [
        Page("home", "/"),
        Page("explore", "/explore/"),
        Page("search", "/explore/?q=revenue+gro"),
        Page("workbook", workbook_path),
        Page("profile", f"/u/{AUTHOR}/"),
        Page("tag", "/tags/finance/"),
        Page("feed", "/feed/", visitors=False),
        Page("notifications", "/notifications/", visitors=False),
        Page("api workbooks", "/api/v1/workbooks/", api=True),
        Page("api user workbooks", f"/api/v1/users/{AUTHOR}/workbooks/", api=True),
        Page("api feed", "/api/v1/feed/", visitors=False, api=True),
        Page("api notifications", "/api/v1/notifications/", visitors=False, api=True),
    ]


def database_for(rows: int) -> str:
    """DATABASE_URL for the default 50,000 rows; another database, created on demand, for others."""
    url = os.environ["DATABASE_URL"]
    if rows == 50_000:
        return url
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_{rows}"
    import psycopg

    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if exists.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def seed_member() -> tuple[str, str, str]:
    """Follows, favorites, notifications and feed activity for MEMBER (added once); returns the
    member's session cookie value, an API access token, and the path of a workbook page."""
    setup_django()
    from django.conf import settings
    from django.test import Client

    from accounts.models import User
    from accounts.tokens import issue_tokens
    from social.models import Activity, Favorite, Follow, Notification, Verb
    from workbooks.models import Workbook

    member = User.objects.get(username=MEMBER)
    if not Follow.objects.filter(follower=member).exists():
        followees = list(
            User.objects.filter(username__startswith="seed")
            .exclude(pk=member.pk)
            .order_by("username")[1 : FOLLOWS + 1]
        )  # seed000002 first
        Follow.objects.bulk_create(Follow(follower=member, followee=f) for f in followees)
        workbooks = list(Workbook.objects.published().order_by("-id")[: FAVORITES * 5 : 5])
        Favorite.objects.bulk_create(Favorite(user=member, workbook=w) for w in workbooks)
        Notification.objects.bulk_create(
            Notification(
                recipient=member,
                actor=followees[i % len(followees)],
                verb=Verb.FAVORITED,
                workbook=workbooks[i % len(workbooks)],
                read=i < NOTIFICATIONS - 40,
            )
            for i in range(NOTIFICATIONS)
        )
        theirs = {}
        for workbook in Workbook.objects.published().filter(author__in=followees):
            theirs.setdefault(workbook.author_id, workbook)
        Activity.objects.bulk_create(
            Activity(
                actor=followee,
                verb=Verb.PUBLISHED if i % 2 else Verb.FAVORITED,
                workbook=theirs.get(followee.pk) or workbooks[i],
            )
            for followee in followees
            for i in range(ACTIVITIES_PER_FOLLOWEE)
        )
        User.objects.filter(pk=member.pk).update(
            following_count=len(followees), favorite_count=len(workbooks)
        )
    client = Client()
    client.force_login(member)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    access = issue_tokens(member).access
    workbook = Workbook.objects.published().order_by("id").first()
    return session, access, workbook.get_absolute_url()


def browser_cookies(base: str, cookies: dict[str, str]) -> dict[str, str]:
    """The cookies a browser holds after its first page: `cookies` and whatever that page (the home
    page, signed in with them) set, the CSRF cookie its forms need above all. The member's load then
    sends them back, as a browser does, rather than being given a new CSRF secret and cookie on
    every page. (They are Secure cookies: over the benchmark's plain HTTP a browser would not send
    them, but the site is served over HTTPS, where it does.)"""
    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    request = urllib.request.Request(f"{base}/", headers={"Cookie": header})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our local server
        for set_cookie in response.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(set_cookie).items():
                cookies[name] = morsel.value
    return dict(cookies)


def cell(load: Load | None, health: float) -> str:
    if load is None:
        return f"{'—':>28}"
    return f"{load.rate / health:6.1%} {load.p50:7.1f} {load.p99:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=50_000, help="published workbooks")
    parser.add_argument("--seconds", type=int, default=10, help="of load per page and role")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--only", default="", help="comma-separated page names")
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of its own.")
    if not os.environ.get("REDIS_URL"):
        sys.exit("Set REDIS_URL to a Redis database of its own (it is emptied).")
    require_wrk()
    os.environ["DATABASE_URL"] = database_for(options.rows)
    # One key for the server and for the session and token made here.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))
    os.environ.setdefault("JWT_ACCESS_TOKEN_MINUTES", "240")

    started = time.perf_counter()
    manage("migrate", "--noinput", "-v0")
    manage("seed", "--users", str(options.users), "--workbooks", str(options.rows))
    manage("collectstatic", "--noinput", "-v0")
    subprocess.run(["redis-cli", "-u", os.environ["REDIS_URL"], "flushdb"], check=True)
    session, access, workbook_path = seed_member()
    print(f"seeded in {time.perf_counter() - started:.0f} s")

    from django.conf import settings

    wanted = {name.strip() for name in options.only.split(",") if name.strip()}
    chosen = [page for page in pages(workbook_path) if not wanted or page.name in wanted]
    api_headers = {"Authorization": f"Bearer {access}"}

    def load(base: str, path: str, headers: dict[str, str] | None = None) -> Load:
        return wrk_load(f"{base}{path}", options.seconds, options.connections, headers)

    results = []
    # As the Procfile's web process: 8 threads per worker, each worker a pool of as many connections.
    server_env = production_env(DATABASE_POOL_SIZE="8")
    with serve("wsgi", 8711, env=server_env, blocking_threads=8) as base:
        held = browser_cookies(base, {settings.SESSION_COOKIE_NAME: session})
        if settings.CSRF_COOKIE_NAME not in held:
            sys.exit("The member's first page set no CSRF cookie.")
        member_headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in held.items())}
        before = load(base, "/healthz")
        for page in chosen:
            visitor = load(base, page.path) if page.visitors else None
            member = load(base, page.path, api_headers if page.api else member_headers)
            results.append((page, visitor, member))
        after = load(base, "/healthz")
    health = (before.rate + after.rate) / 2
    print(
        f"{options.rows:,} workbooks, granian WSGI, 2 workers, {options.connections} connections: "
        f"/healthz {before.rate:,.0f} and {after.rate:,.0f} req/s (before, after), p50 "
        f"{before.p50:.1f} ms"
    )
    print(f"{'page':20} {'visitor: share  p50     p99':>28}   {'member: share  p50     p99':>28}")
    for page, visitor, member in results:
        print(f"{page.name:20} {cell(visitor, health)}   {cell(member, health)}")


if __name__ == "__main__":
    main()
