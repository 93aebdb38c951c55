"""The member's row (accounts.rows): one statement, compiled once per database, by which both a
session and a bearer token find who is asking."""

import pytest
from django.test import Client
from django.utils import timezone

from accounts import rows
from accounts.models import User
from accounts.tokens import issue_tokens
from tests.factories import UserFactory


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
    """Every field as the ORM gives it: a JSON field's value, not its text; dates as dates."""
    bob = UserFactory(username="bob")
    User.objects.filter(pk=bob.pk).update(
        avatar={"name": "avatars/bob.png", "width": 64}, last_login=timezone.now()
    )
    expected = User.objects.get(pk=bob.pk)

    found = rows.read_user(bob.pk)

    for field in User._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
    assert found.get_deferred_fields() == set()
    assert rows.read_user(bob.pk + 1000) is None
