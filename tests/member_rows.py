"""How a member's row is read for a request (accounts.rows), checked against the ORM."""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone

from accounts.models import User
from tests.factories import UserFactory


def assert_read_as_the_orm_reads(read: Callable[[int], User | None]) -> User:
    """`read(pk)` gives a member (bob, with a JSON avatar and a last login) with every field as the ORM
    gives it: a JSON field's value, not its text; dates as dates. A pk of no one reads None. The
    member read, for more assertions."""
    bob = UserFactory(username="bob")
    User.objects.filter(pk=bob.pk).update(
        avatar={"name": "avatars/bob.png", "width": 64}, last_login=timezone.now()
    )
    expected = User.objects.get(pk=bob.pk)

    found = read(bob.pk)

    for field in User._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
    assert read(bob.pk + 1000) is None
    return found
