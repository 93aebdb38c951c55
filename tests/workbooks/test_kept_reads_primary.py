"""What is kept under a member's token is read from the primary, even on a page whose reads go to the
read replica (sigma_playground.db_router): the token is renewed by the commit of the member's change,
and a replica a moment behind would have the copy made without it kept until the minute turns.

The replica here is a stand-in: the router and its middleware are installed, and every alias asked for
is answered with this test run's database, so only the alias each read asked for tells them apart."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client

from accounts.tokens import issue_tokens
from social import services as social_services
from tests.factories import UserFactory, WorkbookFactory
from workbooks import cache as gallery_cache
from workbooks.api import kept

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
    monkeypatch.setattr(kept, "connections", aliases)

    page = Client().get("/api/v1/workbooks/", **headers)

    assert page.status_code == 200
    assert {row["id"] for row in page.json()["results"] if row["is_favorited"]} == {favorite.pk}
    assert aliases.asked == [DEFAULT_DB_ALIAS]
