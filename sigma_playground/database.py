"""A request that finds no database connection to be had answers 503, never a 500 or a hang.

With a pool (`DATABASE_POOL_SIZE`, docs/scaling.md) a request waits up to `DATABASE_POOL_TIMEOUT` for a
connection and then gets psycopg_pool's PoolTimeout: whether every connection of the pool is taken or
PostgreSQL refuses new ones (the pool keeps trying in the background), it means "busy, try again
shortly": a 503 with Retry-After, in JSON on /api/. Views meet it on their first query (no middleware of
the site queries before them), so the middleware below answers it; errors.server_error answers it
anywhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from psycopg_pool import PoolTimeout

from .http import error_response, is_api

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5

DETAIL = "The site is busy. Try again in a few seconds."


def is_out_of_connections(exc: BaseException | None) -> bool:
    """Whether `exc` (Django's wrapper of psycopg's error) says the pool had no connection to give."""
    return isinstance(exc, OperationalError) and isinstance(exc.__cause__, PoolTimeout)


def busy_response(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    logger.warning(
        "No database connection for %s %s within the pool's timeout", request.method, request.path
    )
    if is_api(request):
        response = error_response(503, DETAIL, "database_busy")
    else:
        # A page of its own: the site's templates query the database (the bell, the menu).
        response = HttpResponse(
            "<!doctype html><title>Busy</title><h1>Busy</h1><p>" + DETAIL + "</p>",
            status=503,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseBusyMiddleware:
    """503 for a view (or its template) that could get no database connection."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_out_of_connections(exception):
            return busy_response(request)
        return None
