"""Redis stopped or stalled under a running site: pages, sign-in and social actions still answer.

The Procfile's `web` process (granian, WSGI, one worker) runs on the test database with a private
redis-server as its cache and channel layer (tasks run in the process, as in every test). Before, each
of these answered 500 while Redis was stopped, and a stalled Redis held every request for 2 s per
cache call. What users see meanwhile: pages rendered uncached, sign-in guarded per process, pushes
missed (the bell catches up on resume). What is kept: every write. Recovery: the cache is tried again
5 s after a failure, and listings cached before the outage are retired.
"""

import threading
import time

import pytest
import redis as redis_client
import requests
from celery import Celery
from kombu.exceptions import OperationalError

from sigma_playground.cache import RETRY_SECONDS
from tests.factories import PASSWORD, UserFactory, WorkbookFactory
from tests.private_services import free_port, private_redis
from tests.processes import web_server

pytestmark = pytest.mark.django_db(transaction=True)

EMBED = "https://app.sigmacomputing.com/embed/1-{}"
# Each answer may cost one short cache timeout (250 ms) before the process stops trying Redis.
FAST = 1.5


@pytest.fixture
def redis(tmp_path):
    with private_redis(tmp_path / "redis", appendonly=True) as server:
        yield server


@pytest.fixture
def site(tmp_path, redis):
    env = {
        name: redis.url
        for name in ("REDIS_URL", "CACHE_REDIS_URL", "CHANNEL_LAYER_REDIS_URL", "CELERY_BROKER_URL")
    }
    with web_server(tmp_path, free_port(), variables={"WEB_CONCURRENCY": "1"}, **env) as base:
        yield base


@pytest.fixture
def member(db):
    return UserFactory(username="member")


@pytest.fixture
def workbook(author):
    return WorkbookFactory(author=author, title="Quarterly revenue")


def timed(call, *args, **kwargs) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = call(*args, timeout=10, **kwargs)
    return response, time.monotonic() - started


def sign_in_page(base: str, username: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=10)
    response, took = timed(
        session.post,
        f"{base}/accounts/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    assert took < FAST
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    return session


def test_pages_sign_in_favorite_comment_and_follow_answer_while_redis_is_stopped(
    site, redis, workbook, author, member
):
    assert requests.get(f"{site}/", timeout=10).status_code == 200  # cached with Redis up

    redis.stop()

    for path in ("/", "/explore/?q=quarterly", f"/w/{workbook.slug}/", "/accounts/login/"):
        response, took = timed(requests.get, site + path)
        assert response.status_code == 200, path
        assert took < FAST, f"{path} took {took:.1f} s"
    session = sign_in_page(site, "member")
    token, _ = timed(
        requests.post,
        f"{site}/api/v1/auth/token/",
        json={"username": "member", "password": PASSWORD},
    )
    assert token.status_code == 200
    actions = [
        ("put", f"/api/v1/workbooks/{workbook.pk}/favorite/", None, 200),
        ("post", f"/api/v1/workbooks/{workbook.pk}/comments/", {"body": "Still here"}, 201),
        ("put", "/api/v1/users/author/follow/", None, 200),
    ]
    for method, path, body, expected in actions:
        response, took = timed(getattr(session, method), site + path, json=body)
        assert response.status_code == expected, (path, response.text[:500])
        assert took < FAST, f"{method} {path} took {took:.1f} s"

    assert member.favorites.filter(workbook=workbook).exists()
    assert workbook.comments.filter(body="Still here").exists()
    assert author.follower_links.filter(follower=member).exists()


def test_a_stalled_redis_stalls_neither_health_nor_pages(site, redis, workbook):
    for path in ("/", "/explore/", f"/w/{workbook.slug}/"):
        assert requests.get(site + path, timeout=10).status_code == 200  # warm, with Redis up
    paths = ["/healthz", "/", "/explore/?q=revenue", f"/w/{workbook.slug}/", "/healthz", "/"]
    answers: dict[int, tuple[int, float]] = {}

    def fetch(index: int, path: str) -> None:
        response, took = timed(requests.get, site + path)
        answers[index] = (response.status_code, took)

    with redis.stalled():
        threads = [threading.Thread(target=fetch, args=pair) for pair in enumerate(paths)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=15)

    assert sorted(answers) == list(range(len(paths)))
    for index, (status, took) in answers.items():
        assert status == 200, paths[index]
        assert took < FAST, f"{paths[index]} took {took:.1f} s while Redis was stalled"


def test_what_changed_while_redis_was_down_shows_once_it_is_back(site, redis, workbook, author):
    explore = f"{site}/explore/?q=revenue"
    assert "Weekly revenue" not in requests.get(explore, timeout=10).text  # now cached
    redis.stop()
    token = requests.post(
        f"{site}/api/v1/auth/token/",
        json={"username": "author", "password": PASSWORD},
        timeout=10,
    ).json()["access"]

    published = requests.post(
        f"{site}/api/v1/workbooks/",
        json={
            "title": "Weekly revenue",
            "embed_url": EMBED.format("Weekly01"),
            "status": "published",
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert published.status_code == 201, published.text[:500]
    assert "Weekly revenue" in requests.get(explore, timeout=10).text  # rendered uncached

    redis.start()  # with what it held before: the page and listings cached before the outage
    time.sleep(RETRY_SECONDS + 0.5)

    assert "Weekly revenue" in requests.get(explore, timeout=10).text
    kept = redis_client.Redis.from_url(redis.url).keys("*gallery*")
    assert kept, "the cache is in use again"


def test_queueing_a_task_to_a_stalled_broker_fails_in_seconds_not_for_the_stall(redis):
    """The web process's Celery, on a broker that accepts and never answers: the request that queues
    the task gets an error it handles (logged, or the work done another way) within seconds."""
    # Not made current: the site's own tasks (shared_task) must keep queueing through the site's app.
    app = Celery("stalled-broker", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=redis.url, task_always_eager=False)
    with app.connection_for_write() as connection:
        connection.ensure_connection(
            max_retries=1
        )  # connected before the stall, as a web process is
    outcome: list[BaseException | None] = []

    def queue() -> None:
        try:
            app.send_task("social.tasks.fan_out_published", args=[1])
        except OperationalError as error:
            outcome.append(error)
        else:
            outcome.append(None)

    with redis.stalled():
        started = time.monotonic()
        sender = threading.Thread(target=queue, daemon=True)
        sender.start()
        sender.join(timeout=15)
        took = time.monotonic() - started

    assert outcome, "queueing waited on the stalled broker for 15 s and more"
    assert isinstance(outcome[0], OperationalError)
    assert took < 8


# --- A member's own pages, kept in the cache for them (social.kept, workbooks.api.kept) ------------
# The feed, the notifications and the bearer API lists are served from copies kept per member, under
# tokens the writes renew. With Redis stopped or stalled they are rendered from the database (200, the
# current rows); a write made meanwhile could not renew a token, so once Redis is back (with what it held
# before) no copy kept before the outage may be served.
MEMBER_PAGES = ("/feed/", "/notifications/")
MEMBER_LISTS = ("/api/v1/workbooks/", "/api/v1/feed/", "/api/v1/notifications/")


def bearer(base: str, username: str) -> dict[str, str]:
    response = requests.post(
        f"{base}/api/v1/auth/token/",
        json={"username": username, "password": PASSWORD},
        timeout=10,
    )
    assert response.status_code == 200, response.text[:500]
    return {"Authorization": f"Bearer {response.json()['access']}"}


def mentions(text: str, username: str) -> bool:
    """The member shows on the page (a link to their profile) or in the list (as an actor)."""
    return f"/u/{username}/" in text or f'"username":"{username}"' in text


def what_the_member_sees(base: str, session: requests.Session, headers: dict) -> dict[str, str]:
    """Each member page and bearer list: 200, answered in time; their text, by path."""
    seen = {}
    for path in MEMBER_PAGES + MEMBER_LISTS:
        if path in MEMBER_PAGES:
            response, took = timed(session.get, base + path, allow_redirects=False)
        else:
            response, took = timed(requests.get, base + path, headers=headers)
        assert response.status_code == 200, (path, response.text[:500])
        assert took < FAST, f"{path} took {took:.1f} s"
        seen[path] = response.text
    return seen


@pytest.fixture
def followed(site, author, member, workbook):
    """The member follows the author, and the author the member (a notification for the member and
    a row in their feed), made through the site with Redis up; the member's pages are then kept."""
    UserFactory(username="other", full_name="Otto Other")
    session = sign_in_page(site, "member")
    assert session.put(f"{site}/api/v1/users/author/follow/", timeout=10).status_code == 200
    author_headers = bearer(site, "author")
    followed_back = requests.put(
        f"{site}/api/v1/users/member/follow/", headers=author_headers, timeout=10
    )
    assert followed_back.status_code == 200, followed_back.text[:500]
    headers = bearer(site, "member")
    for _ in range(2):  # made, then served from the kept copies
        seen = what_the_member_sees(site, session, headers)
    assert "Quarterly revenue" in seen["/api/v1/workbooks/"]
    for path in ("/notifications/", "/api/v1/notifications/", "/feed/", "/api/v1/feed/"):
        assert mentions(seen[path], "author"), path
        if "notifications" in path:
            assert not mentions(seen[path], "other"), path
    return session, headers, author_headers


def write_while_down(site: str, author_headers: dict) -> None:
    """The author publishes a workbook (the member's feed and the workbook list) and someone else
    follows the member (their notifications), each through the site."""
    published = requests.post(
        f"{site}/api/v1/workbooks/",
        json={
            "title": "Weekly revenue",
            "embed_url": EMBED.format("Weekly02"),
            "status": "published",
        },
        headers=author_headers,
        timeout=10,
    )
    assert published.status_code == 201, published.text[:500]
    other = requests.put(
        f"{site}/api/v1/users/member/follow/", headers=bearer(site, "other"), timeout=10
    )
    assert other.status_code == 200, other.text[:500]


def shows_the_writes(seen: dict[str, str]) -> None:
    for path in ("/feed/", "/api/v1/feed/", "/api/v1/workbooks/"):
        assert "Weekly revenue" in seen[path], path
    for path in ("/notifications/", "/api/v1/notifications/"):
        assert mentions(seen[path], "other"), path


def test_a_members_kept_pages_answer_from_the_database_while_redis_is_stopped_and_after(
    site, redis, followed
):
    session, headers, author_headers = followed
    redis.stop()

    before = what_the_member_sees(site, session, headers)
    assert "Quarterly revenue" in before["/api/v1/workbooks/"]
    write_while_down(site, author_headers)
    shows_the_writes(what_the_member_sees(site, session, headers))

    redis.start()  # with the copies it kept before the outage
    time.sleep(RETRY_SECONDS + 0.5)
    shows_the_writes(what_the_member_sees(site, session, headers))
    shows_the_writes(what_the_member_sees(site, session, headers))  # kept again, now current


def test_a_stalled_redis_stalls_no_members_kept_page(site, redis, followed):
    session, headers, _ = followed
    answers: dict[str, tuple[int, float, str]] = {}

    def fetch(path: str) -> None:
        if path in MEMBER_PAGES:
            response, took = timed(session.get, site + path, allow_redirects=False)
        else:
            response, took = timed(requests.get, site + path, headers=headers)
        answers[path] = (response.status_code, took, response.text)

    with redis.stalled():
        threads = [
            threading.Thread(target=fetch, args=(path,)) for path in MEMBER_PAGES + MEMBER_LISTS
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=15)

    assert sorted(answers) == sorted(MEMBER_PAGES + MEMBER_LISTS)
    for path, (status, took, text) in answers.items():
        assert status == 200, (path, text[:500])
        assert took < FAST, f"{path} took {took:.1f} s while Redis was stalled"
    assert "Quarterly revenue" in answers["/api/v1/workbooks/"][2]
    for path in ("/feed/", "/api/v1/feed/", "/notifications/", "/api/v1/notifications/"):
        assert mentions(answers[path][2], "author"), path
