"""Live notifications at volume, on PostgreSQL and Redis.

0. granian's own cost: 1,000 idle websockets on an ASGI application that keeps nothing
   (bare_websocket_app.py), resident memory per socket, as the floor of the figure below; again
   with each `--floor-env` setting (`--floor-env MALLOC_ARENA_MAX=2`) in the server's environment.
1. 10,000 websocket clients (one member each, signed in with a token, resumed and idle) on ONE ASGI
   server process (granian, 1 worker): the process's resident memory per socket (the growth from the
   first 100 sockets to all of them, divided by the sockets added); then members follow them through
   the API (granian WSGI) and the time from the API call to the notification's arrival: p50, p99.
2. An author with 10,000 followers publishes through the API with a real Celery worker: the publish
   request's own time (next to the same request with 10 followers), and the time until every
   follower's notification exists and until the last 1,000 connected followers have received theirs.

Usage (a database of its own; it is filled with benchmark members; benchmarks one at a time):
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigma_bench_rt REDIS_URL=redis://127.0.0.1:6379/14 \\
    .venv/bin/python tests/perf/bench_notifications.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness import GRANIAN, ROOT, production_env, serve, wait_until_up

SECRET = "bench-" + "x" * 60


def env() -> dict[str, str]:
    return production_env(SECRET_KEY=SECRET, RATE_LIMIT_FOLLOWS_PER_MINUTE="100000")


def setup_django() -> None:
    os.environ.update(env())
    os.environ["DJANGO_SETTINGS_MODULE"] = "sigma_playground.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ensure_members(prefix: str, count: int) -> list[int]:
    from django.contrib.auth.hashers import make_password

    from accounts.models import User

    names = [f"{prefix}{i:05d}" for i in range(count)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    hashed = make_password(None)
    User.objects.bulk_create(
        [
            User(username=n, email=f"{n}@bench.invalid", password=hashed)
            for n in names
            if n not in existing
        ],
        batch_size=2000,
    )
    return list(
        User.objects.filter(username__in=names).order_by("username").values_list("pk", flat=True)
    )


def access_token(user_id: int) -> str:
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User

    return str(AccessToken.for_user(User(pk=user_id)))


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as children:
            found += [int(child) for child in children.read().split()]
    return found


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def server_rss(port: int) -> int:
    """Resident bytes of the server listening on `port`: granian's main process and its workers."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                argv = cmdline.read().split(b"\0")
        except OSError:
            continue
        if b"--port" in argv and argv[argv.index(b"--port") + 1] == str(port).encode():
            pids, total = [int(entry)], 0
            while pids:
                pid = pids.pop()
                total += _rss_bytes(pid)
                pids += _children(pid)
            return total
    raise RuntimeError(f"no server on port {port}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def http(method: str, url: str, token: str, body: dict | None = None) -> float:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - our server
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        response.read()
    return time.perf_counter() - started


async def connect_all(ws_base: str, user_ids: list[int], on_message) -> dict:
    """{member id: open socket}, for those whose handshake succeeded. Returns once every socket is
    live: its first resume answered (the server's second unread count, the first coming with the
    handshake), as a page's socket is before it matters what is pushed to it. A push to a socket
    whose resume is still waiting for the database waits behind it, so measuring pushes before
    then measured the resumes of sockets just opened."""
    import websockets

    counts: dict[int, int] = {}
    resumed: set[int] = set()

    async def one(user_id: int):
        socket = await websockets.connect(
            f"{ws_base}/ws/notifications/",
            additional_headers={"Authorization": f"Bearer {access_token(user_id)}"},
            open_timeout=60,
            ping_interval=None,
        )
        # As the site's page does: a socket goes live once its first resume is answered.
        await socket.send(json.dumps({"type": "resume", "after": 0}))

        async def read() -> None:
            try:
                async for raw in socket:
                    message = json.loads(raw)
                    if message.get("type") == "ping":  # the server closes silent sockets
                        await socket.send(json.dumps({"type": "pong"}))
                    elif message.get("type") == "unread_count" and user_id not in resumed:
                        counts[user_id] = counts.get(user_id, 0) + 1
                        if counts[user_id] == 2:
                            resumed.add(user_id)
                    on_message(user_id, message, time.perf_counter())
            except websockets.ConnectionClosed:
                pass  # the benchmark closing its sockets

        asyncio.get_running_loop().create_task(read())
        return socket

    sockets, failed = {}, 0
    for start in range(0, len(user_ids), 100):  # in waves, so the accept queue never overflows
        wave = user_ids[start : start + 100]
        results = await asyncio.gather(*(one(uid) for uid in wave), return_exceptions=True)
        for uid, result in zip(wave, results, strict=True):
            if isinstance(result, Exception):
                failed += 1  # an overloaded server: the handshake timed out or was refused
            else:
                sockets[uid] = result
    if failed:
        print(f"  {failed:,} of {len(user_ids):,} handshakes failed")
    started, deadline = time.perf_counter(), time.perf_counter() + 300
    while not resumed.issuperset(sockets) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    waited = time.perf_counter() - started
    live = len(resumed & sockets.keys())
    print(f"  {live:,} of {len(sockets):,} sockets live {waited:.1f} s after the last handshake")
    return sockets


async def bare_server_floor(sockets: int, extra_env: dict[str, str] | None = None) -> float:
    """KB per idle socket of granian's ASGI interface running an application that keeps nothing
    (bare_websocket_app.py): the part of the site's figure that is the server's own. `extra_env`:
    settings for the server process (an allocator's, say)."""
    import websockets

    port = 8712
    server = subprocess.Popen(
        [GRANIAN, "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--log-level", "warning", "bare_websocket_app:app"],
        cwd=Path(__file__).parent, env={**os.environ, **(extra_env or {})},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        url = f"ws://127.0.0.1:{port}/"
        opened = [await websockets.connect(url, ping_interval=None) for _ in range(50)]
        await asyncio.sleep(1)
        base = server_rss(port)
        for _ in range(0, sockets, 100):
            opened += await asyncio.gather(
                *(websockets.connect(url, ping_interval=None) for _ in range(100))
            )
        await asyncio.sleep(2)
        grown = server_rss(port) - base
        for socket in opened:
            await socket.close()
        return grown / (len(opened) - 50) / 1024
    finally:
        server.terminate()
        server.wait(timeout=30)


async def latency(
    http_base: str, ws_base: str, ws_port: int, clients: int, samples: int, floor: float
) -> list[float]:
    from accounts.models import User
    from social.models import Follow

    recipients = await asyncio.to_thread(ensure_members, "benchclient", clients)
    actors = await asyncio.to_thread(ensure_members, "benchactor", samples)

    def prepare() -> dict[int, str]:
        Follow.objects.filter(follower_id__in=actors).delete()  # so every follow is a new one
        return dict(User.objects.filter(pk__in=recipients).values_list("pk", "username"))

    names = await asyncio.to_thread(prepare)
    arrived: dict[int, asyncio.Future] = {}

    def on_message(user_id: int, message: dict, at: float) -> None:
        future = arrived.get(user_id)
        if message.get("type") == "notification" and future is not None and not future.done():
            future.set_result(at)

    # The first hundred warm the process up (imports, pools, caches); the rest show what a socket costs.
    first = min(100, clients // 10)
    started = time.perf_counter()
    sockets = await connect_all(ws_base, recipients[:first], on_message)
    await asyncio.sleep(2)
    base = server_rss(ws_port)
    sockets |= await connect_all(ws_base, recipients[first:], on_message)
    connecting = time.perf_counter() - started
    await asyncio.sleep(5)  # resumes answered, the process idle
    grown = server_rss(ws_port) - base
    per_socket = grown / (len(sockets) - first) / 1024
    print(
        f"  {len(sockets):,} websocket clients connected to one ASGI process in {connecting:.0f} s; "
        f"resident memory {server_rss(ws_port) / 2**20:.0f} MB, "
        f"{per_socket:.1f} KB per socket ({per_socket - floor:.1f} KB above granian's own)"
    )
    figures = []
    pool = ThreadPoolExecutor(max_workers=4)
    loop = asyncio.get_running_loop()
    connected = list(sockets)
    for i in range(samples):
        recipient = connected[(i * 7) % len(connected)]
        arrived[recipient] = loop.create_future()
        token = access_token(actors[i])
        started = time.perf_counter()
        await loop.run_in_executor(
            pool, http, "PUT", f"{http_base}/api/v1/users/{names[recipient]}/follow/", token
        )
        at = await asyncio.wait_for(arrived[recipient], timeout=10)
        figures.append((at - started) * 1000)
    for socket in sockets.values():
        await socket.close()
    return figures


async def fan_out(http_base: str, ws_base: str, followers: int, connected: int) -> None:
    from social.models import Follow, Notification
    from workbooks.models import Workbook

    [author] = await asyncio.to_thread(ensure_members, "benchauthor", 1)
    [small_author] = await asyncio.to_thread(ensure_members, "benchsmall", 1)
    fans = await asyncio.to_thread(ensure_members, "benchfan", followers)

    def follow_all() -> None:
        Follow.objects.bulk_create(
            [Follow(follower_id=f, followee_id=author) for f in fans],
            ignore_conflicts=True,
            batch_size=5000,
        )
        Follow.objects.bulk_create(
            [Follow(follower_id=f, followee_id=small_author) for f in fans[:10]],
            ignore_conflicts=True,
        )

    await asyncio.to_thread(follow_all)
    received: dict[int, float] = {}
    marker = f"Fan-out {time.time():.0f}"

    def on_message(user_id: int, message: dict, at: float) -> None:
        target = (message.get("notification") or {}).get("target") or {}
        if message.get("type") == "notification" and target.get("title") == marker:
            received.setdefault(user_id, at)

    # The last followers: their batch is stored and pushed last, so they show when all is done.
    sockets = await connect_all(ws_base, fans[-connected:], on_message)
    await asyncio.sleep(1)

    def publish(user_id: int, title: str) -> float:
        return http(
            "POST",
            f"{http_base}/api/v1/workbooks/",
            access_token(user_id),
            {
                "title": title,
                "embed_url": f"https://app.sigmacomputing.com/embed/1-Bench{time.time_ns()}",
                "status": "published",
            },
        )

    small = await asyncio.to_thread(publish, small_author, marker + " small")
    started = time.perf_counter()
    request_time = await asyncio.to_thread(publish, author, marker)
    workbook_id = await asyncio.to_thread(lambda: Workbook.objects.get(title=marker).pk)
    while True:
        made = await asyncio.to_thread(
            lambda: Notification.objects.filter(workbook_id=workbook_id, verb="published").count()
        )
        if made >= followers:
            stored = time.perf_counter() - started
            break
        await asyncio.sleep(0.05)
    while len(received) < connected and time.perf_counter() - started < 60:
        await asyncio.sleep(0.01)
    pushed = max(received.values()) - started if received else float("nan")
    print(
        f"  publish request: {request_time * 1000:.0f} ms with {followers:,} followers, "
        f"{small * 1000:.0f} ms with 10"
    )
    print(
        f"  every follower's notification stored after {stored:.2f} s; "
        f"{len(received):,}/{connected:,} connected followers had theirs after {pushed:.2f} s"
    )
    for socket in sockets.values():
        await socket.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--connected-followers", type=int, default=1000)
    parser.add_argument(
        "--fan-out-only", action="store_true", help="only the publish to many followers (part 2)"
    )
    parser.add_argument(
        "--floor-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="measure granian's own cost again with this in its environment (repeatable)",
    )
    options = parser.parse_args()
    floor_envs = [dict([setting.split("=", 1)]) for setting in options.floor_env]
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get(
        "REDIS_URL"
    ):
        sys.exit("Set DATABASE_URL (PostgreSQL, a database of its own) and REDIS_URL.")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))  # servers inherit it
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env(),
        check=True,
    )
    setup_django()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "sigma_playground", "worker", "--loglevel", "WARNING",
         "--concurrency", "2"],
        cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with (
            serve("wsgi", 8710, env=env()) as http_base,
            serve(os.environ.get("BENCH_WS_SERVER", "asgi"), 8711, workers=1, env=env()) as ws,
        ):
            ws_base = ws.replace("http://", "ws://")
            if options.fan_out_only:
                print(f"fan-out to {options.followers:,} followers:")
                followers, connected = options.followers, options.connected_followers
                asyncio.run(fan_out(http_base, ws_base, followers, connected))
                return
            floor = asyncio.run(bare_server_floor(1000))
            print(
                f"granian's own cost, 1,000 idle sockets of an empty ASGI app: {floor:.1f} KB each"
            )
            for extra in floor_envs:
                print(f"  with {extra}: {asyncio.run(bare_server_floor(1000, extra)):.1f} KB each")
            print(f"latency, {options.clients:,} clients, {options.samples} notifications:")
            figures = asyncio.run(
                latency(http_base, ws_base, 8711, options.clients, options.samples, floor)
            )
            print(
                f"  API call to arrival: p50 {statistics.median(figures):.1f} ms, "
                f"p99 {percentile(figures, 0.99):.1f} ms, max {max(figures):.1f} ms"
            )
            print(f"fan-out to {options.followers:,} followers:")
            asyncio.run(fan_out(http_base, ws_base, options.followers, options.connected_followers))
    finally:
        worker.terminate()
        worker.wait(timeout=30)


if __name__ == "__main__":
    main()
