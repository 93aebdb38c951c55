"""/metrics: only Prometheus (its bearer token) reads it, and what it reads is what the site did:
each request by view, method and status class, its size and database use, cache reads, and the
process's own figures."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext

from sigma_playground.cache import FailOpenRedisCache
from sigma_playground.observability import collectors, process
from sigma_playground.observability.middleware import MetricsMiddleware
from tests.factories import WorkbookFactory
from tests.observability.conftest import BEARER, TOKEN, Counted, parse, total
from tests.private_services import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("metrics_token")]


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> list:
    """Every sample /metrics answers."""
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return parse(response.content.decode())


# --- Who may read it ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Token {TOKEN}", f"Bearer {TOKEN} ", f"bearer {TOKEN}", TOKEN],
)
def test_without_the_exact_bearer_token_it_is_a_404(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 404
    assert b"http_requests_total" not in response.content
    assert client.get("/metrics", headers=BEARER).status_code == 200


def test_with_no_token_set_nobody_reads_it(client, settings):
    assert client.get("/metrics", headers=BEARER).status_code == 200
    settings.METRICS_TOKEN = ""
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer"}):
        assert client.get("/metrics", headers=headers).status_code == 404


@override_settings(DEBUG=False)
def test_its_404_is_the_404_of_an_address_that_does_not_exist(client):
    assert client.get("/metrics", headers=BEARER).status_code == 200
    refused = client.get("/metrics", headers={"Authorization": "Bearer wrong-token"})
    unknown = client.get("/metricz")
    assert refused.status_code == unknown.status_code == 404
    assert refused["Content-Type"] == unknown["Content-Type"]
    assert refused.content == unknown.content.replace(b"/metricz", b"/metrics")


def test_with_the_token_it_answers_prometheus_text_never_cached(client):
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    names = {sample.name for sample in parse(response.content.decode())}
    assert {"http_requests_total", "process_resident_memory_bytes", "cache_requests_total"} <= names


@pytest.mark.parametrize("middleware", ["MetricsMiddleware", "ScrapeMiddleware"])
def test_prometheus_reads_it_at_the_process_s_own_address_over_plain_http(
    client, settings, middleware
):
    # Production: the site answers to its public name only and sends plain HTTP to https. Prometheus
    # scrapes each process at its own address, over plain HTTP on the private network.
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["playground.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.MIDDLEWARE = [
        f"sigma_playground.observability.middleware.{middleware}",
        *settings.MIDDLEWARE[1:],
    ]
    address = {"HTTP_HOST": "10.0.3.7:8000"}

    answer = client.get("/metrics", headers=BEARER, **address)
    assert answer.status_code == 200
    assert b"process_resident_memory_bytes" in answer.content
    # Everything else at that address is refused as before, /metrics without the token included.
    assert client.get("/healthz", **address).status_code == 400
    assert client.get("/metrics", **address).status_code == 400
    public = {"HTTP_HOST": "playground.example.com"}
    assert client.get("/metrics", secure=True, **public).status_code == 404


def test_a_token_holder_may_only_read_it(client):
    response = client.post("/metrics", headers=BEARER)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


# --- Requests, by view ----------------------------------------------------------------------------


def test_a_request_is_counted_by_its_view_method_and_status_class(client):
    before = scrape(client)
    assert client.get("/healthz").status_code == 200
    assert client.get("/healthz").status_code == 200
    after = scrape(client)

    labels = {"view": "healthz", "method": "GET", "status": "2xx"}
    assert total(after, "http_requests_total", **labels) == (
        total(before, "http_requests_total", **labels) + 2
    )
    count = ("http_request_duration_seconds_count", {"view": "healthz", "method": "GET"})
    assert total(after, count[0], **count[1]) == total(before, count[0], **count[1]) + 2


def test_a_page_records_its_size_and_its_database_queries(client):
    WorkbookFactory.create_batch(2)
    before = scrape(client)
    response = client.get("/explore/")
    assert response.status_code == 200
    after = scrape(client)

    view = response.resolver_match.view_name
    size = "http_response_size_bytes"
    assert total(after, f"{size}_count", view=view) == total(before, f"{size}_count", view=view) + 1
    grown = total(after, f"{size}_sum", view=view) - total(before, f"{size}_sum", view=view)
    assert grown == len(response.content)

    queries = total(after, "http_request_db_queries_sum", view=view) - total(
        before, "http_request_db_queries_sum", view=view
    )
    assert total(after, "http_request_db_queries_count", view=view) == (
        total(before, "http_request_db_queries_count", view=view) + 1
    )
    assert queries >= 1
    assert total(after, "http_request_db_duration_seconds_sum", view=view) > total(
        before, "http_request_db_duration_seconds_sum", view=view
    )


def test_measuring_adds_no_query_and_counts_each_one_made(admin_client):
    before = scrape(admin_client)
    with CaptureQueriesContext(connection) as captured:
        view = admin_client.get("/admin/").resolver_match.view_name
    made = len(captured)  # read now: the next request empties the log it is read from
    after = scrape(admin_client)
    counted = total(after, "http_request_db_queries_sum", view=view) - total(
        before, "http_request_db_queries_sum", view=view
    )
    assert made
    assert counted == made


def test_a_thread_s_connection_opened_after_start_up_has_its_queries_counted():
    """A server's threads open their connections after the middleware was loaded: the wrapper
    reaches each of them when it connects, and once however often it reconnects (a pool hands
    a connection out per request)."""
    middleware = MetricsMiddleware(lambda request: _queries(2))
    request = RequestFactory().get("/somewhere/")
    found = {}

    def serve() -> None:
        try:
            for _ in range(2):
                middleware(request)
                connection.close()
            found["wrappers"] = list(connection.execute_wrappers)
        finally:
            connections.close_all()

    with Counted("http_request_db_queries_sum", view="<unmatched>") as counted:
        thread = threading.Thread(target=serve)
        thread.start()
        thread.join()

    assert counted.change == 4
    assert len(found["wrappers"]) == 1


def test_queries_outside_a_request_are_not_counted():
    MetricsMiddleware(lambda request: HttpResponse())
    with Counted("http_request_db_queries_sum", view="<unmatched>") as counted:
        _queries(3)
    assert counted.change == 0


def _queries(count: int) -> HttpResponse:
    with connection.cursor() as cursor:
        for _ in range(count):
            cursor.execute("SELECT 1")
    return HttpResponse()


def test_an_address_no_pattern_matched_is_one_label_whatever_the_path(client):
    before = scrape(client)
    for path in ("/no-such-page/", "/wp-login.php", "/a/b/c/d"):
        assert client.get(path).status_code == 404
    after = scrape(client)
    labels = {"view": "<unmatched>", "method": "GET", "status": "4xx"}
    assert total(after, "http_requests_total", **labels) == (
        total(before, "http_requests_total", **labels) + 3
    )
    assert not any("wp-login" in str(key) for key in after)


def test_a_method_http_does_not_define_is_counted_as_other(client):
    before = scrape(client)
    response = client.generic("BREW", "/healthz")
    after = scrape(client)
    status = f"{response.status_code // 100}xx"
    labels = {"view": "healthz", "method": "other", "status": status}
    assert total(after, "http_requests_total", **labels) == (
        total(before, "http_requests_total", **labels) + 1
    )
    assert not any(("method", "BREW") in key[1] for key in after)


# --- Cache reads ----------------------------------------------------------------------------------


def test_reads_of_a_cache_that_does_not_answer_count_as_misses(client):
    # A Redis at a port nobody listens on: every read misses, as the page sees it.
    cache = FailOpenRedisCache(f"redis://127.0.0.1:{free_port()}/0", {})
    before = scrape(client)
    assert cache.get("a", "default") == "default"
    assert cache.get_many(["b", "c"]) == {}
    after = scrape(client)
    assert total(after, "cache_requests_total", result="miss") == (
        total(before, "cache_requests_total", result="miss") + 3
    )
    assert total(after, "cache_requests_total", result="hit") == total(
        before, "cache_requests_total", result="hit"
    )


@pytest.mark.redis
def test_cache_reads_count_hits_and_misses_per_key(client, settings):
    cache = FailOpenRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "sp-test-metrics"})
    cache.set("kept", None)  # a stored None is found: a hit
    cache.set("also", 1)
    cache.delete("gone")
    before = scrape(client)
    assert cache.get("kept", "default") is None
    assert cache.get("gone", "default") == "default"
    assert cache.get_many(iter(["kept", "also", "gone"])) == {"kept": None, "also": 1}
    after = scrape(client)
    cache.delete_many(["kept", "also"])
    for result, expected in (("hit", 3), ("miss", 2)):
        assert total(after, "cache_requests_total", result=result) == (
            total(before, "cache_requests_total", result=result) + expected
        ), result


# --- The process ----------------------------------------------------------------------------------


def test_the_process_reports_its_memory_cpu_and_file_descriptors(client):
    samples = scrape(client)
    assert total(samples, "process_resident_memory_bytes") > 10 * 1024 * 1024
    assert total(samples, "process_cpu_seconds_total") > 0
    assert total(samples, "process_open_fds") >= 3


def test_open_database_connections_are_counted_per_thread_while_open(client):
    connection.ensure_connection()
    held = process.open_database_connections()["default"]
    assert held >= 1

    opened, close = threading.Event(), threading.Event()

    def hold_a_connection() -> None:
        connections["default"].ensure_connection()
        opened.set()
        close.wait(10)
        connections["default"].close()

    thread = threading.Thread(target=hold_a_connection)
    thread.start()
    try:
        assert opened.wait(10)
        assert process.open_database_connections()["default"] == held + 1
        process.update(force=True)
        assert total(scrape(client), "db_connections_open", alias="default") >= held + 1
    finally:
        close.set()
        thread.join(10)
    assert process.open_database_connections()["default"] == held


def test_the_process_figures_are_read_at_most_every_few_seconds(monkeypatch):
    reads = []
    monkeypatch.setattr(process, "_record", lambda: reads.append(1))
    process.update(force=True)
    for _ in range(100):
        process.update()
    assert reads == [1]


# --- Scrape-time collectors -----------------------------------------------------------------------


def test_a_failing_collector_leaves_the_rest_of_the_scrape_whole(client, monkeypatch, caplog):
    class Broken:
        def collect(self):
            raise ConnectionError("the broker does not answer")

    monkeypatch.setattr(collectors, "SCRAPE_COLLECTORS", [Broken(), *collectors.SCRAPE_COLLECTORS])
    monkeypatch.setattr(
        "sigma_playground.observability.endpoint.SCRAPE_COLLECTORS", collectors.SCRAPE_COLLECTORS
    )
    samples = scrape(client)
    assert total(samples, "process_open_fds") > 0
    assert "metrics collector Broken failed" in caplog.text


@pytest.mark.postgres
def test_postgres_connections_by_state_and_the_servers_limit(client):
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        (limit,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        (connected,) = cursor.fetchone()
    samples = scrape(client)
    assert total(samples, "pg_max_connections") == int(limit)
    # The scrape's own query is active while it reads.
    assert total(samples, "pg_connections", state="active") >= 1
    by_state = total(samples, "pg_connections")
    assert abs(by_state - connected) <= 2  # others may come and go between the two reads


@pytest.mark.postgres
def test_with_a_pool_the_connections_held_are_the_pool_s(monkeypatch):
    class Pool:  # psycopg_pool's: every connection it holds, in use or idle, is its pool_size
        def get_stats(self):
            return {"pool_size": 7, "pool_available": 5}

    pools = type(connections["default"])._connection_pools
    monkeypatch.setitem(pools, "default", Pool())
    assert process.open_database_connections()["default"] == 7
