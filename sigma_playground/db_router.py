"""Reads from a replica where a moment's lag cannot mislead anyone (DATABASE_REPLICA_URL).

A replica runs behind the primary by a little. Gallery, search and feed pages can show a list as it was
a moment ago, so their reads go there. Everything else reads the primary:

- a request that is not one of `REPLICA_VIEWS`, or not a GET or HEAD;
- a request, from the moment it writes anything: it reads its own writes;
- whatever decides who someone is and what they have yet to see, on any page: accounts, sessions,
  revoked tokens, stored answers to retried requests, and notifications (the unread count in every
  page's bell, the resume of a socket or event stream);
- everything outside a request: tasks, commands, sockets and event streams once their answer streams.

The middleware marks each request's scope; the router reads it. Without a replica neither is installed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

PRIMARY = "default"
REPLICA = "replica"

# URL names (namespace:name) of the pages and endpoints whose reads may come from the replica.
REPLICA_VIEWS = frozenset(
    {
        "home",
        "workbooks:explore",
        "workbooks:tag",
        "workbooks:author",
        "workbooks:feed-latest",
        "workbooks:feed-tag",
        "workbooks:feed-author",
        "social:feed",
        "social:favorites",
        "social:followers",
        "social:following",
        "sitemap",
        "sitemap-section",
        "api-workbook-list",
        "api-tags",
        "api-featured",
        "api-feed",
        "api-user-workbooks",
        "api-user-favorites",
        "api-user-followers",
        "api-user-following",
    }
)

# Read on the primary wherever they are read.
PRIMARY_APPS = frozenset(
    {"accounts", "auth", "contenttypes", "sessions", "token_blacklist", "idempotency", "admin"}
)
PRIMARY_MODELS = frozenset({"social.notification", "social.mutedverb"})


@dataclass
class _Scope:
    replica: bool = False  # this request's reads may go to the replica
    wrote: bool = False


_scope: ContextVar[_Scope | None] = ContextVar("database_read_scope", default=None)


@contextmanager
def read_scope(*, replica: bool = False) -> Iterator[_Scope]:
    """One request's routing state: its reads may go to the replica when `replica` is (or becomes)
    true, until its first write."""
    scope = _Scope(replica=replica)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


class ReplicaRouter:
    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        scope = _scope.get()
        if scope is None or not scope.replica or scope.wrote:
            # Explicitly the primary: returning None would let Django read related rows from
            # wherever the instance in the hints came from.
            return PRIMARY
        meta = model._meta
        if meta.app_label in PRIMARY_APPS or meta.label_lower in PRIMARY_MODELS:
            return PRIMARY
        return REPLICA

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        scope = _scope.get()
        if scope is not None:
            scope.wrote = True
        return PRIMARY

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return True  # one database, two ways to reach it

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY


class ReplicaReadsMiddleware:
    """Opens a read scope around each request (rendering included), and lets the replica serve it
    when it is a GET or HEAD of one of `REPLICA_VIEWS`."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if iscoroutinefunction(self.get_response):  # and so is this middleware (__init__)
            return self._acall(request)
        with read_scope():
            response: HttpResponse = self.get_response(request)
            return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        with read_scope():
            response: HttpResponse = await self.get_response(request)
            return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        scope = _scope.get()
        match = request.resolver_match
        if (
            scope is not None
            and request.method in ("GET", "HEAD")
            and match is not None
            and match.view_name in REPLICA_VIEWS
        ):
            scope.replica = True
