"""Every API operation answers as its OpenAPI schema says, whatever it is sent (schemathesis).

The schema is fetched from the app itself and every operation in it is called in-process, through
Django's WSGI handler, with inputs generated from the schema: valid ones (which must be answered as
documented) and invalid ones (which must be refused with a documented 4xx). A member's bearer token
signs every call, and the path parameters name real rows, so requests reach the views' logic rather
than stopping at 401 or 404. The budget is fixed and the generation deterministic, so a failure
here is reproducible and the suite's run time stays bounded.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from accounts import services as account_services
from accounts import tokens
from social import services as social_services
from social.models import Collection
from tests.factories import CollectionFactory, UserFactory, WorkbookFactory
from workbooks import embed_health

# Per operation and per phase, valid and invalid input: some 5,000 requests over 55 operations,
# about a minute on SQLite and two on PostgreSQL.
MAX_EXAMPLES = 50

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture
def _requests_inside_the_test_transaction():
    """Django's WSGI handler closes "old" connections at the start and end of every request, which
    inside the test's transaction would close the test's own; Django's test client does the same."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(db, _requests_inside_the_test_transaction):
    """A member with a token, someone they follow, a published workbook with a comment, a draft;
    the member's own published workbook (pinned, with embed outcomes for their insights), their
    collection holding both published workbooks, and a public collection of the author's."""
    member = UserFactory(username="fuzzer")
    author = UserFactory(username="author", website="https://author.example/")
    workbook = WorkbookFactory(author=author, tags=["sales"])
    WorkbookFactory(author=member, status="draft")
    own = WorkbookFactory(author=member)
    comment = social_services.add_comment(member, workbook, "A first comment.")
    social_services.follow(member, author)
    social_services.favorite(member, workbook)
    collection = CollectionFactory(owner=member, description="Picked.", workbooks=[workbook, own])
    CollectionFactory(owner=member, visibility=Collection.Visibility.PRIVATE, workbooks=[own])
    CollectionFactory(owner=author, workbooks=[workbook])
    embed_health.record_outcome(own, embed_health.Outcome.LOADED)
    embed_health.record_outcome(own, embed_health.Outcome.ERROR)
    account_services.update_profile(
        member,
        full_name=member.full_name,
        bio=member.bio,
        website=member.website,
        organisation="Acme",
        location="Lisbon",
        links=[{"kind": "github", "url": "https://github.com/fuzzer"}],
        pinned_workbook_ids=[own.pk],
    )
    return {
        "token": tokens.issue_tokens(member).access,
        "path": {
            "username": author.username,
            "workbook_pk": workbook.pk,
            "own_workbook_pk": own.pk,
            "comment_pk": comment.pk,
            "collection_pk": collection.pk,
        },
    }


# Loaded when the module is collected (the schema view needs no database); one test per operation.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", WSGIHandler())
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
    database="none",  # nothing replayed from earlier runs: each run is the same run
)


def _id_key(path: str) -> str:
    """Which seeded row an operation's `{id}` names: a workbook's insights are only its author's."""
    if path.startswith("/api/v1/comments/"):
        return "comment_pk"
    if path.startswith("/api/v1/collections/"):
        return "collection_pk"
    if path == "/api/v1/workbooks/{id}/insights/":
        return "own_workbook_pk"
    return "workbook_pk"


def _real_rows(case, seeded) -> None:
    """Point `{username}`, `{id}` and `{workbook_id}` at the seeded rows (a random id only ever
    finds a 404), unless the path is what this case sends invalid."""
    if not case.path_parameters:
        return
    path_info = case.meta.components.get(ParameterLocation.PATH) if case.meta else None
    if path_info is not None and path_info.mode == GenerationMode.NEGATIVE:
        return
    values = dict(case.path_parameters)
    if "username" in values:
        values["username"] = seeded["path"]["username"]
    if isinstance(values.get("id"), int):
        values["id"] = seeded["path"][_id_key(case.operation.path)]
    if isinstance(values.get("workbook_id"), int):
        values["workbook_id"] = seeded["path"]["workbook_pk"]
    case.path_parameters = values


def _has_an_empty_string(value) -> bool:
    if isinstance(value, dict):
        return any(_has_an_empty_string(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_an_empty_string(item) for item in value)
    return value == ""


def _encodable(case) -> None:
    """Werkzeug's test client writes an empty multipart field with no line break before the next
    boundary, which Django (rightly) does not read as a field: such a case goes url-encoded, with the
    same fields, so what is tested is what a real client sends."""
    if case.media_type == "multipart/form-data" and _has_an_empty_string(case.body):
        case.media_type = "application/x-www-form-urlencoded"


@pytest.mark.schemathesis
@schema.parametrize()
@hypothesis_settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
def test_every_operation_answers_as_the_schema_says(case, seeded):
    _real_rows(case, seeded)
    _encodable(case)
    headers = {
        "Authorization": f"Bearer {seeded['token']}",
        # Schemathesis asks for gzip as requests does, but its WSGI transport hands the body to the
        # checks undecoded; compression has tests of its own (tests/sigma_playground/test_compression.py).
        "Accept-Encoding": "identity",
    }
    case.call_and_validate(headers=headers, checks=CHECKS)
