"""Deeply nested JSON bodies are refused as malformed (400), never a server error."""

import io

import pytest
from rest_framework import views  # noqa: F401 - DRF's settings first: they import our parser

from sigma_playground.parsers import MAX_JSON_DEPTH, JSONParser


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


@pytest.mark.django_db
def test_json_nested_past_the_recursion_limit_is_a_400_not_a_500(api_client):
    body = nested(100_000)

    response = api_client.post("/api/v1/auth/token/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.django_db
def test_json_objects_nested_past_the_recursion_limit_are_a_400_on_a_signed_in_create(
    auth_client,
):
    body = '{"a":' * 50_000 + "1" + "}" * 50_000

    response = auth_client.post("/api/v1/workbooks/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.django_db
def test_json_that_parses_but_nests_past_the_depth_limit_is_a_400(auth_client):
    tags = nested(MAX_JSON_DEPTH, '"deep"')  # the body object adds one level more
    body = f'{{"title": "Deep", "tags": {tags}}}'

    response = auth_client.post("/api/v1/workbooks/", body, content_type="application/json")

    assert response.status_code == 400
    assert f"deeper than {MAX_JSON_DEPTH} levels" in response.json()["detail"]


def test_json_nested_exactly_to_the_depth_limit_is_parsed():
    data = JSONParser().parse(io.BytesIO(nested(MAX_JSON_DEPTH).encode()), "application/json")

    depth = 0
    while isinstance(data, list):
        data, depth = data[0], depth + 1
    assert (depth, data) == (MAX_JSON_DEPTH, 1)


def test_a_wide_shallow_body_is_not_mistaken_for_a_deep_one():
    body = "[" + ",".join(["[[1]]"] * 10_000) + "]"

    data = JSONParser().parse(io.BytesIO(body.encode()), "application/json")

    assert len(data) == 10_000
