"""selectors.published_workbook: what the favorite and comment pages act on (social.views)."""

import pytest

from social import selectors
from workbooks.models import Workbook

pytestmark = pytest.mark.django_db


def test_a_published_workbook_comes_with_its_author_in_one_query(
    workbook, django_assert_num_queries
):
    with django_assert_num_queries(1):
        found = selectors.published_workbook(workbook.slug)
        assert found.author.username == "owner"

    assert found == workbook


def test_a_draft_is_not_found(draft):
    with pytest.raises(Workbook.DoesNotExist):
        selectors.published_workbook(draft.slug)


def test_a_deactivated_authors_workbook_is_not_found(workbook, owner):
    owner.is_active = False
    owner.save()

    with pytest.raises(Workbook.DoesNotExist):
        selectors.published_workbook(workbook.slug)
