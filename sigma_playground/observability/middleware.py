"""Each request's figures: count, latency, answer size and database use, by view.

The outermost middleware (first in MIDDLEWARE, when METRICS_ENABLED), so its time includes every
other middleware's. Labels stay few whatever clients send: `view` is the URL pattern's name (never
the path), "<unmatched>" when no pattern matched (a 404, or an answer a middleware gave before the
URL was resolved); `method` is one of HTTP's own or "other"; `status` is the class ("2xx").

Database use is measured by an execute wrapper that every database connection of the process gets
once, when it first connects: a counter and a clock read per query, no query of its own. It adds
to the timer of the request being served (a context variable), so a request pays for setting that
variable, not for finding its thread's connections (a thread-local lookup per database alias).

Both middlewares here answer Prometheus's scrape first (ScrapeMiddleware); METRICS_ENABLED=false
installs that one alone.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from time import perf_counter
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse

from . import process
from .access import token_matches
from .batch import FIGURES
from .endpoint import SCRAPE_PATH, metrics_view

UNMATCHED = "<unmatched>"
_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
_STATUS_CLASSES = {n: f"{n}xx" for n in range(1, 6)}


class _QueryTimer:
    """The queries of one request: how many, and their time."""

    __slots__ = ("count", "seconds")

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0


_timer: ContextVar[_QueryTimer | None] = ContextVar("query_timer", default=None)


def _timed(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """An execute wrapper (Django's `connection.execute_wrapper`): the query's time, added to the
    timer of the request being served, if any (a task's or a command's queries are not timed)."""
    timer = _timer.get()
    if timer is None:
        return execute(sql, params, many, context)
    start = perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        timer.seconds += perf_counter() - start
        timer.count += 1


def _time_queries(sender: Any = None, connection: Any = None, **kwargs: Any) -> None:
    """Give `connection` (a DatabaseWrapper: one per thread and alias) the wrapper, once."""
    if _timed not in connection.execute_wrappers:
        connection.execute_wrappers.append(_timed)


def is_scrape(request: HttpRequest) -> bool:
    if request.path_info != SCRAPE_PATH:
        return False
    return token_matches(request.META.get("HTTP_AUTHORIZATION"))


class ScrapeMiddleware:
    """Prometheus's scrape (a request to /metrics with the token) answered before any other
    middleware: Prometheus reaches each process at its own address, which is no name in
    ALLOWED_HOSTS, over plain HTTP on the private network, which SECURE_SSL_REDIRECT would send to
    https. The answer makes nothing of the Host. Any other request to /metrics goes on to the URL's
    view, which answers the 404 of an unknown address. Scrapes are not measured."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_scrape(request):
            return metrics_view(request)
        return self.serve(request)

    def serve(self, request: HttpRequest) -> HttpResponse:
        """Any request but a scrape."""
        return self.get_response(request)


class MetricsMiddleware(ScrapeMiddleware):
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)
        # Every connection opened from now on, and those this thread opened already.
        connection_created.connect(_time_queries, dispatch_uid="observability.middleware")
        for connection in connections.all(initialized_only=True):
            _time_queries(connection=connection)

    def serve(self, request: HttpRequest) -> HttpResponse:
        start = perf_counter()
        timer = _QueryTimer()
        token = _timer.set(timer)
        try:
            response = self.get_response(request)
        finally:
            _timer.reset(token)
        self.record(request, response, perf_counter() - start, timer)
        return response

    @staticmethod
    def record(
        request: HttpRequest, response: HttpResponse, seconds: float, timer: _QueryTimer
    ) -> None:
        match = request.resolver_match
        FIGURES.add(
            match.view_name if match is not None else UNMATCHED,
            request.method if request.method in _METHODS else "other",
            _STATUS_CLASSES.get(response.status_code // 100, "other"),
            seconds,
            # A streamed answer's size is not known here. Else the content is one bytes object
            # whose length costs less than reading it from the headers.
            None if response.streaming else len(response.content),
            timer.count,
            timer.seconds,
        )
        process.update()
