"""Soak: mixed load for N minutes against the production process types, watching for slow leaks.

The Procfile's `web` (granian WSGI) and `ws` (granian ASGI) processes and a Celery worker (every
queue) run on PostgreSQL and Redis with production settings. For `--minutes`:

- page and API readers: home, explore and search, workbook pages, API lists (visitors and members);
- writers: comments, favorites and unfavorites, follows and unfollows through the API, each making or
  taking back a notification for a connected member; now and then an author the connected members
  follow publishes, and the worker fans the notification out;
- `--sockets` websockets and `--streams` event streams, one member each, every one closing and
  reconnecting (with resume, or Last-Event-ID) every 15 to 45 seconds.

Every `--every` seconds it prints the resident memory of each process (a granian or Celery parent and
its children), PostgreSQL's connections to the database, Redis's keys, and the requests and errors so
far. At the end, once the worker has drained, it checks each member's notifications: every one still
stored was received exactly once by that member's client, across all its reconnects; notifications
taken back (an unfollow or unfavorite within 15 minutes) are counted apart.

Usage (a database and a Redis database of its own; it is filled with soak members):
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigma_soak REDIS_URL=redis://127.0.0.1:6379/7 \\
    .venv/bin/python tests/perf/bench_soak.py --minutes 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from harness import ROOT, production_env, wait_until_up

SECRET = "soak-" + "x" * 60
WEB_PORT, WS_PORT = 8720, 8721
HOST = "127.0.0.1"
GRACE_SECONDS = 20
RNG = random.Random(7)  # noqa: S311 - the same mix of load on every run, not a secret


def env(minutes: float) -> dict[str, str]:
    return production_env(
        SECRET_KEY=SECRET,
        # The writers are a few members acting fast: flood limits would turn the load into 429s.
        RATE_LIMIT_COMMENTS_PER_MINUTE="100000",
        RATE_LIMIT_FOLLOWS_PER_MINUTE="100000",
        RATE_LIMIT_FAVORITES_PER_MINUTE="100000",
        # A token outliving the run: a socket ends (4401) when its token does.
        JWT_ACCESS_TOKEN_MINUTES=str(int(minutes) + 30),
    )


# --- Setting up --------------------------------------------------------------------------------------


def setup_django(environ: dict[str, str]) -> None:
    os.environ.update(environ)
    os.environ["DJANGO_SETTINGS_MODULE"] = "sigma_playground.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@dataclass
class Cast:
    recipients: list[int]  # members with a socket or a stream open, one each
    actors: list[int]  # members who write
    publisher: int  # followed by every recipient
    workbooks: dict[int, list[int]]  # recipient -> ids of their published workbooks
    slugs: list[str]
    tokens: dict[int, str]
    baseline: int  # the newest notification id before the run


def cast(recipients: int, actors: int) -> Cast:
    from django.contrib.auth.hashers import make_password
    from django.db.models import Max
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User
    from social.models import Follow, Notification
    from workbooks.models import Workbook
    from workbooks.services import create_workbook

    def members(prefix: str, count: int) -> list[int]:
        names = [f"{prefix}{i:04d}" for i in range(count)]
        existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        hashed = make_password(None)
        User.objects.bulk_create(
            [User(username=n, email=f"{n}@soak.invalid", password=hashed) for n in names
             if n not in existing]
        )  # fmt: skip
        return list(
            User.objects.filter(username__in=names)
            .order_by("username")
            .values_list("pk", flat=True)
        )

    readers = members("soakreader", recipients)
    writers = members("soakwriter", actors)
    [publisher] = members("soakauthor", 1)
    Follow.objects.bulk_create(
        [Follow(follower_id=r, followee_id=publisher) for r in readers], ignore_conflicts=True
    )
    # Each run starts from no follows and favorites by the writers, so each follow notifies anew.
    Follow.objects.filter(follower_id__in=writers).delete()
    workbooks: dict[int, list[int]] = {}
    for reader in readers:
        mine = list(
            Workbook.objects.filter(author_id=reader, status="published").values_list(
                "pk", flat=True
            )
        )
        if not mine:
            workbook = create_workbook(
                User.objects.get(pk=reader),
                title=f"Soak revenue {reader}",
                description="Quarterly revenue by region, for the soak.",
                embed_url=f"https://app.sigmacomputing.com/embed/1-Soak{reader}",
                tags=["revenue"],
                status="published",
            )
            mine = [workbook.pk]
        workbooks[reader] = mine
    slugs = list(
        Workbook.objects.filter(author_id__in=readers, status="published").values_list(
            "slug", flat=True
        )
    )
    tokens = {pk: str(AccessToken.for_user(User(pk=pk))) for pk in [*readers, *writers, publisher]}
    baseline = Notification.objects.aggregate(top=Max("pk"))["top"] or 0
    return Cast(readers, writers, publisher, workbooks, slugs, tokens, baseline)


# --- A minimal HTTP/1.1 client (one connection per request), enough for pages, API and SSE ---------


async def http(method: str, path: str, token: str | None = None, body: dict | None = None) -> int:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, WEB_PORT), 10)
    try:
        payload = json.dumps(body).encode() if body is not None else b""
        headers = [
            f"{method} {path} HTTP/1.1",
            f"Host: {HOST}",
            "Connection: close",
            "Accept: application/json, text/html",
            f"Content-Length: {len(payload)}",
        ]
        if body is not None:
            headers.append("Content-Type: application/json")
        if token:
            headers.append(f"Authorization: Bearer {token}")
        writer.write(("\r\n".join(headers) + "\r\n\r\n").encode() + payload)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        await asyncio.wait_for(reader.read(), 30)  # the rest, to the close
        return int(status_line.split()[1])
    finally:
        writer.close()


# --- Load -------------------------------------------------------------------------------------------


@dataclass
class Tally:
    requests: int = 0
    errors: Counter = field(default_factory=Counter)
    connections: int = 0
    connection_errors: Counter = field(default_factory=Counter)
    # member -> how often each notification id arrived, across every connection of their client
    received: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    # member -> the last id their client had each time it reconnected (resume / Last-Event-ID)
    resumed_from: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))

    def answer(self, what: str, status: int, expected: tuple[int, ...]) -> None:
        self.requests += 1
        if status not in expected:
            self.errors[f"{what} {status}"] += 1

    def failure(self, what: str, error: BaseException) -> None:
        self.requests += 1
        self.errors[f"{what} {type(error).__name__}"] += 1


async def reader_loop(c: Cast, tally: Tally, until: float) -> None:
    terms = ["revenue", "region", "quarter", "sales", "soak"]
    while time.monotonic() < until:
        token = RNG.choice([None, c.tokens[RNG.choice(c.actors)]])
        path = RNG.choice(
            [
                "/",
                f"/explore/?q={RNG.choice(terms)}",
                "/explore/?sort=popular",
                f"/w/{RNG.choice(c.slugs)}/",
                "/api/v1/workbooks/",
                f"/api/v1/workbooks/?q={RNG.choice(terms)}",
                "/api/v1/workbooks/?ordering=trending",
                "/api/v1/tags/",
            ]
        )
        try:
            tally.answer("GET " + path.split("?")[0], await http("GET", path, token), (200,))
        except (TimeoutError, OSError) as error:
            tally.failure("GET " + path.split("?")[0], error)
        await asyncio.sleep(RNG.uniform(0, 0.05))


async def writer_loop(c: Cast, tally: Tally, until: float) -> None:
    usernames = {pk: f"soakreader{i:04d}" for i, pk in enumerate(c.recipients)}
    while time.monotonic() < until:
        actor = RNG.choice(c.actors)
        token = c.tokens[actor]
        recipient = RNG.choice(c.recipients)
        workbook = RNG.choice(c.workbooks[recipient])
        action = RNG.choice(["comment", "comment", "favorite", "unfavorite", "follow", "unfollow"])
        method, path, body, expected = {
            "comment": (
                "POST",
                f"/api/v1/workbooks/{workbook}/comments/",
                {"body": "Useful breakdown"},
                (201,),
            ),
            "favorite": ("PUT", f"/api/v1/workbooks/{workbook}/favorite/", None, (200,)),
            "unfavorite": ("DELETE", f"/api/v1/workbooks/{workbook}/favorite/", None, (204,)),
            "follow": ("PUT", f"/api/v1/users/{usernames[recipient]}/follow/", None, (200,)),
            "unfollow": ("DELETE", f"/api/v1/users/{usernames[recipient]}/follow/", None, (204,)),
        }[action]
        try:
            tally.answer(action, await http(method, path, token, body), expected)
        except (TimeoutError, OSError) as error:
            tally.failure(action, error)
        await asyncio.sleep(RNG.uniform(0.02, 0.1))


async def publisher_loop(c: Cast, tally: Tally, until: float) -> None:
    count = 0
    while time.monotonic() + 20 < until:
        await asyncio.sleep(20)
        count += 1
        body = {
            "title": f"Soak launch {time.time_ns()}",
            "embed_url": f"https://app.sigmacomputing.com/embed/1-SoakLaunch{time.time_ns()}",
            "status": "published",
        }
        try:
            status = await http("POST", "/api/v1/workbooks/", c.tokens[c.publisher], body)
            tally.answer("publish", status, (201,))
        except (TimeoutError, OSError) as error:
            tally.failure("publish", error)


async def socket_client(member: int, c: Cast, tally: Tally, until: float) -> None:
    import websockets

    last = c.baseline
    while time.monotonic() < until:
        lifetime = RNG.uniform(15, 45)
        try:
            async with websockets.connect(
                f"ws://{HOST}:{WS_PORT}/ws/notifications/",
                additional_headers={"Authorization": f"Bearer {c.tokens[member]}"},
                open_timeout=30,
                ping_interval=None,
            ) as socket:
                tally.connections += 1
                tally.resumed_from[member].append(last)
                await socket.send(json.dumps({"type": "resume", "after": last}))
                closes_at = min(until, time.monotonic() + lifetime)
                while (left := closes_at - time.monotonic()) > 0:
                    try:
                        raw = await asyncio.wait_for(socket.recv(), left)
                    except TimeoutError:
                        break
                    message = json.loads(raw)
                    if message.get("type") == "ping":
                        await socket.send(json.dumps({"type": "pong"}))
                    elif message.get("type") == "notification":
                        pk = message["notification"]["id"]
                        tally.received[member][pk] += 1
                        last = max(last, pk)
        except (TimeoutError, OSError, websockets.WebSocketException) as error:
            tally.connection_errors[f"socket {type(error).__name__}"] += 1
            await asyncio.sleep(1)
    tally.received[member]  # a member who received nothing is still checked


async def stream_client(member: int, c: Cast, tally: Tally, until: float) -> None:
    last = c.baseline
    while time.monotonic() < until:
        closes_at = min(until, time.monotonic() + RNG.uniform(15, 45))
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, WS_PORT), 10)
        except (TimeoutError, OSError) as error:
            tally.connection_errors[f"stream {type(error).__name__}"] += 1
            await asyncio.sleep(1)
            continue
        try:
            request = (
                f"GET /api/v1/notifications/stream/ HTTP/1.1\r\nHost: {HOST}\r\n"
                f"Accept: text/event-stream\r\nAuthorization: Bearer {c.tokens[member]}\r\n"
                f"Last-Event-ID: {last}\r\n\r\n"
            )
            writer.write(request.encode())
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            if b" 200 " not in head.split(b"\r\n", 1)[0]:
                tally.connection_errors[f"stream {head.split()[1].decode()}"] += 1
                continue
            tally.connections += 1
            tally.resumed_from[member].append(last)
            chunked = b"chunked" in head.lower()
            buffer = b""
            while (left := closes_at - time.monotonic()) > 0:
                try:
                    if chunked:
                        size = int((await asyncio.wait_for(reader.readline(), left)).strip(), 16)
                        data = await reader.readexactly(size + 2)
                        buffer += data[:-2]
                    else:
                        buffer += await asyncio.wait_for(reader.read(65536), left)
                except TimeoutError:
                    break
                while b"\n\n" in buffer:
                    raw, buffer = buffer.split(b"\n\n", 1)
                    lines = dict(
                        line.split(": ", 1) for line in raw.decode().splitlines() if ": " in line
                    )
                    if lines.get("event") == "notification":
                        pk = int(lines["id"])
                        tally.received[member][pk] += 1
                        last = max(last, pk)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as error:
            tally.connection_errors[f"stream {type(error).__name__}"] += 1
        finally:
            writer.close()
    tally.received[member]


# --- Watching ---------------------------------------------------------------------------------------


def rss_tree(pid: int) -> list[int]:
    """Resident MB of a process and of each of its children (granian's workers, Celery's pool)."""

    def rss(p: int) -> int:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
        except OSError:
            pass
        return 0

    try:
        children = [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        children = []
    return [rss(pid), *(rss(child) for child in children)]


def postgres_connections() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def redis_keys() -> int:
    import redis

    return redis.Redis.from_url(os.environ["REDIS_URL"]).dbsize()


async def watch(processes: dict[str, subprocess.Popen], tally: Tally, until: float, every: float):
    started = time.monotonic()
    while True:
        memory = "  ".join(
            f"{name} {'+'.join(map(str, rss_tree(p.pid)))}" for name, p in processes.items()
        )
        connections = await asyncio.to_thread(postgres_connections)
        keys = await asyncio.to_thread(redis_keys)
        print(
            f"{(time.monotonic() - started) / 60:5.1f} min | RSS MB {memory} | "
            f"PG conns {connections:3d} | Redis keys {keys:5d} | requests {tally.requests:6d} "
            f"errors {sum(tally.errors.values())} | connections {tally.connections} "
            f"notifications {sum(sum(c.values()) for c in tally.received.values())}",
            flush=True,
        )
        for name, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}")
        if time.monotonic() >= until:
            return
        await asyncio.sleep(min(every, max(0.1, until - time.monotonic())))


# --- The run ----------------------------------------------------------------------------------------


def start(command: list[str], environ: dict[str, str], name: str) -> subprocess.Popen:
    log = (ROOT / "var" / f"soak-{name}.log").open("w")
    return subprocess.Popen(command, cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT)


def procfile(process_type: str, port: int) -> list[str]:
    sys.path.insert(0, str(ROOT))
    from tests.processes import procfile_command

    return procfile_command(process_type, port)


async def run(
    options: argparse.Namespace, c: Cast, processes: dict[str, subprocess.Popen]
) -> Tally:
    tally = Tally()
    until = time.monotonic() + options.minutes * 60
    # The clients listen on after the writers stop, while the worker finishes the last fan-outs, so
    # that a notification made in the last second is not counted as lost.
    listen_until = until + GRACE_SECONDS
    sockets, streams = c.recipients[: options.sockets], c.recipients[options.sockets :]
    tasks = [
        *(reader_loop(c, tally, until) for _ in range(options.readers)),
        *(writer_loop(c, tally, until) for _ in range(options.writers)),
        publisher_loop(c, tally, until),
        *(socket_client(m, c, tally, listen_until) for m in sockets),
        *(stream_client(m, c, tally, listen_until) for m in streams),
        watch(processes, tally, until, options.every),
    ]
    await asyncio.gather(*tasks)
    return tally


def verify(c: Cast, tally: Tally, processes: dict[str, subprocess.Popen]) -> bool:
    """Each member's stored notifications against what their client received."""
    from social.models import Notification

    def stored() -> dict[int, set[int]]:
        rows = Notification.objects.filter(pk__gt=c.baseline, recipient_id__in=c.recipients)
        by_member: dict[int, set[int]] = defaultdict(set)
        for member, pk in rows.values_list("recipient_id", "pk"):
            by_member[member].add(pk)
        return by_member

    # The clients have stopped; what they received is final. Wait for the worker to finish the
    # fan-outs already queued, so that "stored" is final too.
    previous, steady_since = -1, time.monotonic()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        total = Notification.objects.filter(pk__gt=c.baseline).count()
        if total != previous:
            previous, steady_since = total, time.monotonic()
        elif time.monotonic() - steady_since > 5:
            break
        time.sleep(0.5)
    expected = stored()
    duplicates = missing = taken_back = delivered = passed_over = 0
    for member in c.recipients:
        got = tally.received[member]
        duplicates += sum(n - 1 for n in got.values() if n > 1)
        lost = expected[member] - set(got)
        missing += len(lost)
        # Lost because the client resumed from a newer id than it: committed after a newer one.
        passed_over += sum(any(after > pk for after in tally.resumed_from[member]) for pk in lost)
        taken_back += len(set(got) - expected[member])
        delivered += len(expected[member] & set(got))
    print(
        f"notifications stored for connected members: {sum(map(len, expected.values())):,}; "
        f"delivered {delivered:,}; missing {missing} ({passed_over} older than a point the client"
        f" resumed from); duplicates {duplicates}; "
        f"received then taken back (unfollow, unfavorite) {taken_back}"
    )
    print(f"requests {tally.requests:,}, errors {sum(tally.errors.values())}: {dict(tally.errors)}")
    print(
        f"connections opened {tally.connections:,}; failed {sum(tally.connection_errors.values())}:"
        f" {dict(tally.connection_errors)}"
    )
    return missing == duplicates == 0 and not tally.errors


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--every", type=float, default=30, help="seconds between samples")
    parser.add_argument("--sockets", type=int, default=100)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--readers", type=int, default=12, help="concurrent page and API readers")
    parser.add_argument("--writers", type=int, default=4, help="concurrent API writers")
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get(
        "REDIS_URL"
    ):
        sys.exit("Set DATABASE_URL (PostgreSQL, a database of its own) and REDIS_URL.")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))  # servers inherit it
    environ = env(options.minutes)
    for release in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):  # the Procfile's
        subprocess.run(
            [sys.executable, "manage.py", *release, "-v0"], cwd=ROOT, env=environ, check=True
        )
    setup_django(environ)
    c = cast(options.sockets + options.streams, options.writers * 5)
    celery = str(Path(sys.executable).with_name("celery"))
    processes = {
        "web": start(procfile("web", WEB_PORT), environ, "web"),
        "ws": start(procfile("ws", WS_PORT), environ, "ws"),
        "worker": start(
            [
                celery,
                "-A",
                "sigma_playground",
                "worker",
                "-Q",
                "default,images,notifications,email",
                "--concurrency",
                "2",
                "--loglevel",
                "WARNING",
            ],
            environ,
            "worker",
        ),
    }
    ok = False
    try:
        wait_until_up(f"http://{HOST}:{WEB_PORT}/healthz")
        wait_until_up(f"http://{HOST}:{WS_PORT}/healthz")
        print(
            f"soak: {options.minutes:g} min, {options.sockets} websockets and {options.streams} event"
            f" streams reconnecting every 15-45 s, {options.readers} readers, {options.writers}"
            f" writers; RSS per process as parent+children",
            flush=True,
        )
        tally = asyncio.run(run(options, c, processes))
        ok = verify(c, tally, processes)
        print("PASS: no errors, every notification delivered exactly once" if ok else "FAIL")
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
