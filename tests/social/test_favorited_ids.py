"""social.selectors.favorited_ids: the one way a member's favorites among some workbooks are read (the
cards' `/api/v1/me/favorited/` answer, the favorite button's confirmation, a member's page of a kept
API list)."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext

from social import selectors, services
from tests.factories import UserFactory, WorkbookFactory


@pytest.mark.django_db
def test_favorited_ids_reads_one_statement_from_the_database_asked_for(django_assert_num_queries):
    bob = UserFactory()
    first, second, third = WorkbookFactory(), WorkbookFactory(), WorkbookFactory()
    services.favorite(bob, third)
    services.favorite(bob, first)
    services.favorite(UserFactory(), second)

    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as read:
        by_member = selectors.favorited_ids(bob, [third.pk, second.pk, first.pk])
        by_id = selectors.favorited_ids(bob.pk, [second.pk, third.pk], using=DEFAULT_DB_ALIAS)

    assert by_member == sorted([first.pk, third.pk])
    assert by_id == [third.pk]
    assert len(read) == 2
    with django_assert_num_queries(0):
        assert selectors.favorited_ids(bob, []) == []
