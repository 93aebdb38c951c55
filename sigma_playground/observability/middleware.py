"""Each request's figures: count, latency, answer size and database use, by view.

The outermost middleware (first in MIDDLEWARE, when METRICS_ENABLED), so its time includes every
other middleware's. Labels stay few whatever clients send: `view` is the URL pattern's name (never
the path), "<unmatched>" when no pattern matched (a 404, or an answer a middleware gave before the
URL was resolved); `method` is one of HTTP's own or "other"; `status` is the class ("2xx").

Database use is measured with an execute wrapper on every database alias for the request's
duration: a counter and a clock read per query, no query of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter

from django.db import connections
from django.http import HttpRequest, HttpResponse

from . import metrics, process

UNMATCHED = "<unmatched>"
_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
_STATUS_CLASSES = {n: f"{n}xx" for n in range(1, 6)}


class _QueryTimer:
    """An execute wrapper (Django's `connection.execute_wrapper`) counting queries and their time."""

    __slots__ = ("count", "seconds")

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        start = perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += perf_counter() - start
            self.count += 1


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.aliases = list(connections.settings)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = perf_counter()
        timer = _QueryTimer()
        # What connection.execute_wrapper(timer) does, without a context manager per alias: this
        # thread's wrappers of the databases (no connection is opened for it).
        wrapped = [connections[alias].execute_wrappers for alias in self.aliases]
        for wrappers in wrapped:
            wrappers.append(timer)
        try:
            response = self.get_response(request)
        finally:
            for wrappers in wrapped:
                wrappers.remove(timer)
        self.record(request, response, perf_counter() - start, timer)
        return response

    @staticmethod
    def record(request: HttpRequest, response: HttpResponse, seconds: float, timer: _QueryTimer):
        match = request.resolver_match
        view = match.view_name if match is not None else UNMATCHED
        method = request.method if request.method in _METHODS else "other"
        status = _STATUS_CLASSES.get(response.status_code // 100, "other")
        metrics.http_requests.labels(view, method, status).inc()
        metrics.http_request_duration.labels(view, method).observe(seconds)
        if not response.streaming:
            length = response.get("Content-Length")
            size = int(length) if length and length.isdigit() else len(response.content)
            metrics.http_response_size.labels(view).observe(size)
        metrics.http_request_db_queries.labels(view).observe(timer.count)
        metrics.http_request_db_duration.labels(view).observe(timer.seconds)
        process.update()
