"""The read replica (DATABASE_REPLICA_URL): which reads go where.

The router's choices are checked directly; the last test runs the site in a process of its own with a
replica configured. That replica is a stand-in: a second alias pointing at this test run's own
database, so the rows are the same and only the connection each query used tells the two apart.
"""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import RequestFactory
from django.urls import resolve

from accounts.models import User
from sigma_playground.db_router import (
    PRIMARY,
    REPLICA,
    ReplicaReadsMiddleware,
    ReplicaRouter,
    read_scope,
)
from social.models import Activity, Notification
from tests.factories import UserFactory, WorkbookFactory
from tests.processes import run_with_a_replica
from workbooks.models import Tag, Workbook

router = ReplicaRouter()


def test_outside_a_request_every_read_goes_to_the_primary():
    assert router.db_for_read(Workbook) == PRIMARY
    with read_scope():  # a request that is not a gallery, search or feed page
        assert router.db_for_read(Workbook) == PRIMARY


def test_a_gallery_request_reads_workbooks_tags_and_the_feed_from_the_replica():
    with read_scope(replica=True):
        assert router.db_for_read(Workbook) == REPLICA
        assert router.db_for_read(Tag) == REPLICA
        assert router.db_for_read(Activity) == REPLICA


def test_notifications_accounts_and_sessions_are_read_from_the_primary_on_any_page():
    with read_scope(replica=True):
        assert router.db_for_read(Notification) == PRIMARY  # unread counts, resume
        assert router.db_for_read(User) == PRIMARY
        assert router.db_for_read(Session) == PRIMARY


def test_a_request_reads_from_the_primary_from_its_first_write_on():
    with read_scope(replica=True):
        assert router.db_for_read(Workbook) == REPLICA
        assert router.db_for_write(Workbook) == PRIMARY
        assert router.db_for_read(Workbook) == PRIMARY
        assert router.db_for_read(Tag) == PRIMARY


def test_a_row_read_from_the_replica_does_not_pull_its_relations_there_outside_the_request():
    # Django falls back on the instance's own database when a router says nothing.
    instance = Workbook()
    instance._state.db = REPLICA
    assert router.db_for_read(Notification, instance=instance) == PRIMARY


def test_migrations_run_on_the_primary_only():
    assert router.allow_migrate(PRIMARY, "workbooks") is True
    assert router.allow_migrate(REPLICA, "workbooks") is False


def route_through_middleware(method: str, path: str) -> str:
    """Where a workbook read goes inside a request for `path`, as the middleware scopes it."""
    request = getattr(RequestFactory(), method.lower())(path)
    request.resolver_match = resolve(path)
    middleware: ReplicaReadsMiddleware

    def view(request):
        middleware.process_view(request, request.resolver_match.func, (), {})
        return router.db_for_read(Workbook)

    middleware = ReplicaReadsMiddleware(view)
    return middleware(request)


@pytest.mark.parametrize(
    "path", ["/", "/explore/", "/tags/charts/", "/feed/", "/api/v1/workbooks/", "/api/v1/feed/"]
)
def test_the_middleware_sends_gallery_search_and_feed_reads_to_the_replica(path):
    assert route_through_middleware("GET", path) == REPLICA


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/w/some-workbook/"),  # where a member lands after publishing
        ("GET", "/notifications/"),
        ("GET", "/api/v1/notifications/"),
        ("POST", "/api/v1/workbooks/"),
    ],
)
def test_the_middleware_keeps_every_other_request_on_the_primary(method, path):
    assert route_through_middleware(method, path) == PRIMARY


def test_the_scope_ends_with_the_request():
    route_through_middleware("GET", "/explore/")
    assert router.db_for_read(Workbook) == PRIMARY


SITE_WITH_A_REPLICA = """
import json
import django
django.setup()
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext, setup_test_environment

setup_test_environment()
client = Client()
client.force_login(__import__("accounts.models").models.User.objects.get(username="reader"))
seen = {}
for path in ["/explore/", "/api/v1/workbooks/", "/w/%(slug)s/", "/api/v1/notifications/"]:
    with CaptureQueriesContext(connections["default"]) as primary:
        with CaptureQueriesContext(connections["replica"]) as replica:
            response = client.get(path)
    seen[path] = {
        "status": response.status_code,
        "lists_the_workbook": "Replicated revenue" in response.content.decode(),
        "primary": [query["sql"] for query in primary],
        "replica": [query["sql"] for query in replica],
    }
print(json.dumps(seen))
"""


@pytest.mark.django_db(transaction=True)  # committed, so the site's own process sees the rows
def test_a_site_with_a_replica_serves_the_gallery_from_it_and_the_rest_from_the_primary():
    UserFactory(username="reader")
    workbook = WorkbookFactory(title="Replicated revenue")
    seen = run_with_a_replica(SITE_WITH_A_REPLICA % {"slug": workbook.slug})
    for path in seen:
        assert seen[path]["status"] == 200, (path, seen[path])

    def reads(path: str, where: str, table: str) -> int:
        return sum(f'"{table}"' in sql for sql in seen[path][where])

    for gallery in ["/explore/", "/api/v1/workbooks/"]:
        assert reads(gallery, "replica", "workbooks_workbook") >= 1
        assert reads(gallery, "primary", "workbooks_workbook") == 0
        # who is signed in (the member's row, which vouches for the session's cached copy) and the
        # bell's unread count come from the primary
        assert reads(gallery, "primary", "accounts_user") == 1
        assert reads(gallery, "replica", "django_session") == 0
        assert reads(gallery, "replica", "social_notification") == 0
        assert seen[gallery]["lists_the_workbook"]  # read from the replica, and it was there
    for elsewhere in ["/w/" + workbook.slug + "/", "/api/v1/notifications/"]:
        assert seen[elsewhere]["replica"] == []
        assert seen[elsewhere]["primary"]
