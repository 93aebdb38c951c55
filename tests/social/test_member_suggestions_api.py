"""GET /api/v1/users/?q=: a few members for a search box's suggestions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_members_whose_username_or_name_holds_the_words_by_username(api_client):
    UserFactory(username="ghopper", full_name="Grace Hopper")
    UserFactory(username="hopscotch", full_name="Hop Scotch")
    UserFactory(username="ada", full_name="Ada Lovelace")
    UserFactory(username="hopgone", full_name="Gone", is_active=False)

    response = api_client.get("/api/v1/users/", {"q": "HOP"})

    assert response.status_code == 200
    assert [m["username"] for m in response.json()] == ["ghopper", "hopscotch"]
    assert set(response.json()[0]) == {"username", "full_name", "avatar"}


@pytest.mark.parametrize("query", [None, "", "   "])
def test_no_words_no_members(api_client, query):
    UserFactory(username="ada")

    params = {} if query is None else {"q": query}
    response = api_client.get("/api/v1/users/", params)

    assert response.status_code == 200
    assert response.json() == []


def test_a_nul_byte_is_a_clear_400(api_client):
    response = api_client.get("/api/v1/users/", {"q": "a\x00b"})

    assert response.status_code == 400
    assert response.json() == {"q": ["Null characters are not allowed."]}  # as /tags/ answers


def _count(api_client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = api_client.get("/api/v1/users/", {"q": "member"})
    assert response.status_code == 200
    return len(captured.captured_queries), len(response.json())


def test_at_most_eight_in_one_query_however_many_match(api_client):
    for _ in range(3):
        UserFactory(username=f"member-{_}")
    few, shown_few = _count(api_client)
    for n in range(3, 20):
        UserFactory(username=f"member-{n}")
    many, shown_many = _count(api_client)

    assert (shown_few, shown_many) == (3, 8)
    assert few == many == 1
