"""OPTIONS on every API route, signed in (bearer token) and not: an answer, never a server error.

The routes come from the URLconf itself, so a route added later is covered without touching this file;
each path parameter is filled with a real object, so the views get as far as they would for a client.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.tokens import issue_tokens
from media.models import Image
from social import services as social_services
from tests.factories import UserFactory, WorkbookFactory

API_PREFIX = "api/"


def api_routes(patterns=None, prefix: str = "") -> list[tuple[str, tuple[str, ...]]]:
    """(URL name, path parameters) of every named route under /api/."""
    routes = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes += api_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and pattern.name and route.startswith(API_PREFIX):
            routes.append((pattern.name, tuple(pattern.pattern.regex.groupindex)))
    return routes


ROUTES = api_routes()


@pytest.fixture
def objects(db) -> dict[str, object]:
    """One real thing of each kind a path names, all the owner's."""
    owner = UserFactory(username="owner")
    workbook = WorkbookFactory(author=owner, title="Revenue by region")
    commenter = UserFactory(username="reader")
    return {
        "owner": owner,
        "workbook": workbook,
        "comment": social_services.add_comment(commenter, workbook, "Nice breakdown"),
        "image": Image.objects.create(kind=Image.Kind.AVATAR, owner=owner),
    }


def url_for(name: str, parameters: tuple[str, ...], objects: dict) -> str:
    by_parameter = {"username": objects["owner"].username, "workbook_id": objects["workbook"].pk}
    # A `pk` is the workbook's, the comment's or the picture's, after the path's first segment.
    pk_of = {
        "api-comment": objects["comment"].pk,
        "api-image": objects["image"].pk,
        "api-upload-complete": objects["image"].pk,
    }
    kwargs = {}
    for parameter in parameters:
        if parameter == "pk":
            kwargs["pk"] = pk_of.get(name, objects["workbook"].pk)
        elif parameter in by_parameter:
            kwargs[parameter] = by_parameter[parameter]
        else:
            pytest.fail(f"no object to fill `{parameter}` of {name}: add one to this test")
    return reverse(name, kwargs=kwargs)


def test_every_api_route_is_covered():
    names = {name for name, _ in ROUTES}
    assert {"api-user-follow", "api-workbook-favorite", "api-workbook-detail", "api-me"} <= names


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "parameters"), ROUTES, ids=[name for name, _ in ROUTES])
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "bearer"])
def test_options_never_answers_a_server_error(api_client, objects, name, parameters, signed_in):
    if signed_in:
        token = issue_tokens(objects["owner"]).access
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = api_client.options(url_for(name, parameters, objects))

    assert response.status_code < 500, (name, response.status_code, response.content[:300])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", ["api-user-follow", "api-workbook-favorite"], ids=["follow", "favorite"]
)
def test_options_on_a_view_without_a_queryset_lists_the_allowed_methods(api_client, objects, name):
    token = issue_tokens(objects["owner"]).access
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    parameters = ("username",) if name == "api-user-follow" else ("pk",)

    response = api_client.options(url_for(name, parameters, objects))

    assert response.status_code == 200
    assert set(response["Allow"].split(", ")) == {"PUT", "DELETE", "OPTIONS"}
    assert response.json()["name"]
