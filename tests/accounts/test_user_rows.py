"""The member's row (accounts.rows): one statement, compiled once per database, by which both a
session and a bearer token find who is asking."""

import pytest
from django.test import Client

from accounts import rows
from accounts.tokens import issue_tokens
from tests.factories import UserFactory
from tests.member_rows import assert_read_as_the_orm_reads


@pytest.fixture
def reads(monkeypatch) -> list:
    """The primary keys `rows.read_user` was asked for."""
    asked: list = []
    real = rows.read_user

    def read_user(pk):
        asked.append(pk)
        return real(pk)

    monkeypatch.setattr(rows, "read_user", read_user)
    return asked


@pytest.mark.django_db
def test_a_session_and_a_bearer_token_read_the_member_by_the_one_statement(reads):
    bob = UserFactory(username="bob")
    signed_in = Client()
    signed_in.force_login(bob)

    assert signed_in.get("/settings/").status_code == 200
    assert reads == [bob.pk]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_tokens(bob).access}"}
    assert Client().get("/api/v1/me/", **headers).status_code == 200
    assert reads == [bob.pk, bob.pk]


@pytest.mark.django_db
def test_the_member_is_read_as_the_orm_reads_them():
    """Every field as the ORM gives it (tests.member_rows), none deferred."""
    found = assert_read_as_the_orm_reads(rows.read_user)

    assert found.get_deferred_fields() == set()
