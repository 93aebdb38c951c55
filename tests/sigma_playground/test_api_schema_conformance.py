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

from accounts import tokens
from social import services as social_services
from tests.factories import UserFactory, WorkbookFactory

# Per operation and per phase, valid and invalid input: some 5,000 requests over 43 operations,
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
    """A member with a token, someone they follow, a published workbook with a comment, a draft."""
    member = UserFactory(username="fuzzer")
    author = UserFactory(username="author", website="https://author.example/")
    workbook = WorkbookFactory(author=author, tags=["sales"])
    WorkbookFactory(author=member, status="draft")
    comment = social_services.add_comment(member, workbook, "A first comment.")
    social_services.follow(member, author)
    social_services.favorite(member, workbook)
    return {
        "token": tokens.issue_tokens(member).access,
        "path": {"username": author.username, "workbook_pk": workbook.pk, "comment_pk": comment.pk},
    }


# Loaded when the module is collected (the schema view needs no database); one test per operation.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", WSGIHandler())
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
    database="none",  # nothing replayed from earlier runs: each run is the same run
)


def _real_rows(case, seeded) -> None:
    """Point `{username}` and `{id}` at the seeded rows (a random id only ever finds a 404), unless
    the path is what this case sends invalid."""
    if not case.path_parameters:
        return
    path_info = case.meta.components.get(ParameterLocation.PATH) if case.meta else None
    if path_info is not None and path_info.mode == GenerationMode.NEGATIVE:
        return
    path = case.operation.path
    values = dict(case.path_parameters)
    if "username" in values:
        values["username"] = seeded["path"]["username"]
    if isinstance(values.get("id"), int):
        key = "comment_pk" if path.startswith("/api/v1/comments/") else "workbook_pk"
        values["id"] = seeded["path"][key]
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
    case.call_and_validate(headers={"Authorization": f"Bearer {seeded['token']}"}, checks=CHECKS)
