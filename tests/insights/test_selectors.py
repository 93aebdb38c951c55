"""What the insights read: each kind of count on its day, within the period, in a fixed number of
queries whatever the period or the number of workbooks."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from insights import selectors
from sigma_playground.models import Moderation
from social.models import Collection, CollectionItem, Comment
from tests.factories import CuratorFactory, ModeratorFactory, UserFactory, WorkbookFactory
from tests.insights.rows import activity, at_noon, today
from workbooks import services as workbook_services


def test_the_period_is_7_30_or_90_days_and_30_unless_asked():
    assert selectors.period(None) == 30
    assert [selectors.period(raw) for raw in ("7", "30", "90")] == [7, 30, 90]
    for raw in ("", "14", "30.0", " 30", "-7", "abc", "900"):
        with pytest.raises(selectors.BadPeriod):
            selectors.period(raw)


def test_the_longest_period_is_kept_by_the_daily_tables():
    assert max(selectors.PERIODS) <= workbook_services.ACTIVITY_KEPT_DAYS


@pytest.mark.django_db
def test_a_workbooks_counts_land_on_their_days_within_the_period():
    workbook = WorkbookFactory()
    other = WorkbookFactory()
    activity(workbook, 0, views=5, favorites=2, comments=1, adds=1, loads=8, errors=1, timeouts=1)
    activity(workbook, 6, views=3, referrers={"news.example": 4, "blog.example": 1})
    activity(workbook, 7, views=100, favorites=1, referrers={"old.example": 50})  # before 7 days
    activity(other, 0, views=40, favorites=4, referrers={"other.example": 9})

    found = selectors.for_workbook(workbook, 7)

    assert found.days == 7
    assert [row.day for row in found.series][-1] == today()
    assert len(found.series) == 7
    last, first = found.series[-1], found.series[0]
    assert (last.views, last.favorites, last.comments, last.collection_adds) == (5, 2, 1, 1)
    assert (last.loads, last.errors, last.timeouts, last.failed_share) == (8, 1, 1, 0.2)
    assert first.views == 3
    assert (found.totals.views, found.totals.favorites) == (8, 2)
    assert found.referrers == [("news.example", 4), ("blog.example", 1)]
    assert selectors.for_workbook(workbook, 30).totals.views == 108


@pytest.mark.django_db
def test_held_and_hidden_comments_are_not_counted():
    workbook = WorkbookFactory()
    activity(workbook, 0, comments=3)
    held, hidden, _ = Comment.objects.filter(workbook=workbook).order_by("pk")
    Comment.objects.filter(pk=held.pk).update(moderation=Moderation.HELD)
    Comment.objects.filter(pk=hidden.pk).update(moderation=Moderation.HIDDEN)

    found = selectors.for_workbook(workbook, 7)

    assert found.series[-1].comments == 1
    assert found.totals.comments == 1


@pytest.mark.django_db
def test_an_authors_insights_add_up_their_workbooks_and_give_each_its_totals():
    author = UserFactory()
    first = WorkbookFactory(author=author)
    second = WorkbookFactory(author=author, status="draft")
    activity(first, 1, views=2, favorites=1, referrers={"a.example": 2})
    activity(second, 1, views=3, errors=2, referrers={"a.example": 1, "b.example": 1})
    activity(WorkbookFactory(), 1, views=50)

    found = selectors.for_author(author, 30)

    assert found.totals.views == 5
    assert found.series[-2].views == 5
    assert found.totals.errors == 2
    assert found.referrers == [("a.example", 3), ("b.example", 1)]
    assert {item.workbook.pk: item.totals.views for item in found.workbooks} == {
        first.pk: 2,
        second.pk: 3,
    }


@pytest.mark.django_db
def test_only_the_author_and_staff_see_a_workbooks_insights():
    workbook = WorkbookFactory()
    staff = UserFactory(is_staff=True)
    assert selectors.workbook_for(workbook.author, pk=workbook.pk) == workbook
    assert selectors.workbook_for(staff, pk=workbook.pk) == workbook
    with pytest.raises(type(workbook).DoesNotExist):
        selectors.workbook_for(UserFactory(), pk=workbook.pk)


@pytest.mark.django_db
def test_staff_see_a_drafts_insights_only_if_they_may_open_the_draft():
    draft = WorkbookFactory(status="draft")
    published = WorkbookFactory()
    curator = CuratorFactory()
    moderator = ModeratorFactory()

    # Curators are staff to enter the admin; others' drafts are not theirs to open.
    with pytest.raises(type(draft).DoesNotExist):
        selectors.workbook_for(curator, pk=draft.pk)
    with pytest.raises(type(draft).DoesNotExist):
        selectors.workbook_for(UserFactory(is_staff=True), pk=draft.pk)
    assert selectors.workbook_for(curator, pk=published.pk) == published
    assert selectors.workbook_for(moderator, pk=draft.pk) == draft
    assert selectors.workbook_for(draft.author, pk=draft.pk) == draft
    own_draft = WorkbookFactory(author=curator, status="draft")
    assert selectors.workbook_for(curator, pk=own_draft.pk) == own_draft


@pytest.mark.django_db
def test_collection_adds_count_public_collections_and_the_authors_own_alone():
    workbook = WorkbookFactory()
    author = workbook.author
    Visibility = Collection.Visibility
    for owner, visibility in [
        (UserFactory(), Visibility.PUBLIC),
        (UserFactory(), Visibility.UNLISTED),  # not counted: someone else's, not public
        (UserFactory(), Visibility.PRIVATE),  # not counted: someone else's, private
        (author, Visibility.PRIVATE),
        (author, Visibility.UNLISTED),
    ]:
        collection = Collection.objects.create(
            owner=owner, title="Picks", slug=f"picks-{visibility}", visibility=visibility
        )
        item = CollectionItem.objects.create(collection=collection, workbook=workbook, position=0)
        CollectionItem.objects.filter(pk=item.pk).update(added_at=at_noon(today()))

    assert selectors.for_workbook(workbook, 7).totals.collection_adds == 3
    mine = selectors.for_author(author, 7)
    assert mine.totals.collection_adds == 3
    assert mine.series[-1].collection_adds == 3


def _queries(author, days: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        selectors.for_author(author, days)
    return len(captured.captured_queries)


@pytest.mark.django_db
def test_an_authors_insights_cost_the_same_queries_for_any_period_and_number_of_workbooks():
    author = UserFactory()
    activity(WorkbookFactory(author=author), 1, views=1, favorites=1, loads=1)
    few = _queries(author, 7)
    for n in range(6):
        workbook = WorkbookFactory(author=author)
        activity(workbook, n * 10, views=3, favorites=2, comments=1, adds=1, loads=2, errors=1,
                 referrers={f"site{n}.example": 2})  # fmt: skip

    # The workbooks; views, favorites, comments, collection adds and embed health; referrers.
    assert few == _queries(author, 90) == 7
