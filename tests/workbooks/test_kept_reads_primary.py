"""What is kept under a member's token is read from the primary, even on a page whose reads go to the
read replica (sigma_playground.db_router): the token is renewed by the commit of the member's change,
and a replica a moment behind would have the copy made without it kept until the minute turns.

The replica here is a stand-in: the router and its middleware are installed, and every alias asked for
is answered with this test run's database, so only the alias each read asked for tells them apart."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client

from accounts.tokens import issue_tokens
from social import selectors as social_selectors
from social import services as social_services
from tests.factories import UserFactory, WorkbookFactory
from workbooks import cache as gallery_cache

ROUTER = "sigma_playground.db_router.ReplicaRouter"
MIDDLEWARE = "sigma_playground.db_router.ReplicaReadsMiddleware"


@pytest.fixture(autouse=True)
def one_minute(monkeypatch):
    """Keys change every minute; these tests must not see two minutes."""
    monkeypatch.setattr(gallery_cache, "minute", lambda: 29_000_002)


class _Aliases:
    """Stands in for `django.db.connections` in one module: records the alias of each read."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __getitem__(self, alias: str):
        self.asked.append(alias)
        return connections[DEFAULT_DB_ALIAS]


def with_replica(settings) -> None:
    settings.DATABASE_ROUTERS = [ROUTER]
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]


@pytest.mark.django_db
def test_a_member_s_favorites_kept_with_their_token_are_read_from_the_primary(
    settings, monkeypatch
):
    ada, bob = UserFactory(username="ada"), UserFactory(username="bob")
    favorite = WorkbookFactory(author=ada, title="Revenue by region")
    WorkbookFactory(author=ada, title="Revenue forecast")
    social_services.favorite(bob, favorite)
    assert Client().get("/api/v1/workbooks/").status_code == 200  # the visitors' copy, kept
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_tokens(bob).access}"}
    with_replica(settings)
    aliases = _Aliases()
    monkeypatch.setattr(social_selectors, "connections", aliases)

    page = Client().get("/api/v1/workbooks/", **headers)

    assert page.status_code == 200
    assert {row["id"] for row in page.json()["results"] if row["is_favorited"]} == {favorite.pk}
    assert aliases.asked == [DEFAULT_DB_ALIAS]


SITE_WITH_A_REPLICA = """
import json
import django
django.setup()
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext, setup_test_environment
from accounts.models import User
from accounts.tokens import issue_tokens

setup_test_environment()
reader = User.objects.get(username="reader")
signed_in = Client()
signed_in.force_login(reader)
bearer = {"HTTP_AUTHORIZATION": "Bearer " + issue_tokens(reader).access}
Client().get("/api/v1/workbooks/")  # the visitors' copy, kept
seen = []
for client, path, headers in [
    (signed_in, "/u/ada/", {}),
    (signed_in, "/u/ada/", {}),
    (Client(), "/api/v1/workbooks/", bearer),
]:
    with CaptureQueriesContext(connections["default"]) as primary:
        with CaptureQueriesContext(connections["replica"]) as replica:
            response = client.get(path, **headers)
    seen.append({
        "path": path,
        "status": response.status_code,
        "primary": [query["sql"] for query in primary],
        "replica": [query["sql"] for query in replica],
    })
print(json.dumps(seen))
"""


@pytest.mark.django_db(transaction=True)  # committed, so the site's own process sees the rows
def test_with_a_replica_what_is_kept_under_a_member_s_token_is_read_from_the_primary():
    """The profile's header (the member shown, with their counts) and the viewer's follow and favorite
    state, and a member's favorites among an API list: all kept under a member's token, all read
    from the primary; the workbooks listed (kept under the gallery's version) from the replica."""
    from tests.processes import run_with_a_replica

    ada, reader = UserFactory(username="ada"), UserFactory(username="reader")
    workbook = WorkbookFactory(author=ada, title="Replicated revenue")
    social_services.follow(reader, ada)
    social_services.favorite(reader, workbook)
    seen = run_with_a_replica(SITE_WITH_A_REPLICA)

    def reads(each: dict, where: str, table: str) -> int:
        """Statements reading from `table` (not those that only join it: the cards' authors)."""
        return sum(f'FROM "{table}"' in sql for sql in each[where])

    assert [each["status"] for each in seen] == [200, 200, 200]
    made, _, api = seen
    assert reads(made, "replica", "workbooks_workbook") >= 1  # the list, from the replica
    assert reads(made, "primary", "accounts_user") >= 1  # the member shown, and the viewer
    assert reads(made, "primary", "social_follow") == 1  # the viewer's state for the follow button
    assert reads(api, "primary", "social_favorite") == 1
    for each in seen:
        for table in ("accounts_user", "social_follow", "social_favorite"):
            assert reads(each, "replica", table) == 0, (each["path"], table, each["replica"])
