"""Counters stay exact when many requests arrive at once: races only a real database with row locks
shows. Each request runs in its own thread, with its own connection, closed when it is done."""

from collections.abc import Callable
from itertools import chain

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from social import services
from social.models import Comment, Favorite, Follow, Notification
from tests.factories import UserFactory, WorkbookFactory
from tests.threads import in_parallel
from workbooks.models import DailyActivity

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def request(user: User, method: str, url: str, data: dict | None = None) -> Callable[[], int]:
    def call() -> int:
        client = APIClient()
        client.force_authenticate(user)
        return getattr(client, method)(url, data, format="json").status_code

    return call


def reload(*objects) -> None:
    for obj in objects:
        obj.refresh_from_db()


def test_twenty_members_following_one_author_at_once_count_twenty():
    author = UserFactory()
    followers = UserFactory.create_batch(20)

    statuses = in_parallel(
        [request(f, "put", f"/api/v1/users/{author.username}/follow/") for f in followers]
    )

    assert statuses == [200] * 20
    reload(author, *followers)
    assert author.follower_count == 20 == Follow.objects.filter(followee=author).count()
    assert {f.following_count for f in followers} == {1}
    assert Notification.objects.filter(recipient=author, verb="followed").count() == 20


def test_members_following_each_other_at_once_neither_deadlock_nor_miscount():
    pairs = [(UserFactory(), UserFactory()) for _ in range(8)]
    calls = [
        request(a, "put", f"/api/v1/users/{b.username}/follow/")
        for a, b in chain.from_iterable(((a, b), (b, a)) for a, b in pairs)
    ]

    statuses = in_parallel(calls)

    assert statuses == [200] * len(calls)
    for member in chain.from_iterable(pairs):
        reload(member)
        assert (member.follower_count, member.following_count) == (1, 1)


def test_one_member_favoriting_one_workbook_ten_times_at_once_counts_once():
    workbook = WorkbookFactory()
    fan = UserFactory()

    statuses = in_parallel([request(fan, "put", f"/api/v1/workbooks/{workbook.pk}/favorite/")] * 10)

    assert statuses == [200] * 10
    reload(workbook, fan)
    assert workbook.favorite_count == 1 == Favorite.objects.count()
    assert fan.favorite_count == 1
    assert DailyActivity.objects.get(workbook=workbook).favorites == 1
    assert Notification.objects.filter(verb="favorited").count() == 1


def test_favorites_and_unfavorites_interleaved_leave_counters_equal_to_the_rows():
    workbook = WorkbookFactory()
    fans = UserFactory.create_batch(8)
    url = f"/api/v1/workbooks/{workbook.pk}/favorite/"
    # Each fan favorites and unfavorites by turns, several of each at once, ending on either.
    calls = [
        request(fan, "put" if (n + turn) % 2 == 0 else "delete", url)
        for n, fan in enumerate(fans)
        for turn in range(5)
    ]

    statuses = in_parallel(calls)

    assert set(statuses) <= {200, 204}, statuses
    reload(workbook, *fans)
    assert workbook.favorite_count == Favorite.objects.filter(workbook=workbook).count()
    for fan in fans:
        assert fan.favorite_count == Favorite.objects.filter(user=fan).count()
    assert DailyActivity.objects.get(workbook=workbook).favorites == workbook.favorite_count


def test_comments_posted_and_deleted_at_once_keep_the_count_exact():
    workbook = WorkbookFactory()
    commenters = UserFactory.create_batch(20)
    url = f"/api/v1/workbooks/{workbook.pk}/comments/"

    statuses = in_parallel([request(c, "post", url, {"body": f"From {c}"}) for c in commenters])

    assert statuses == [201] * 20
    reload(workbook)
    assert workbook.comment_count == 20 == Comment.objects.count()

    # Everyone deletes their own, and the workbook's author deletes the first one too.
    comments = list(Comment.objects.select_related("author").order_by("pk"))
    deletes = [request(c.author, "delete", f"/api/v1/comments/{c.pk}/") for c in comments]
    deletes.append(request(workbook.author, "delete", f"/api/v1/comments/{comments[0].pk}/"))

    statuses = in_parallel(deletes)

    assert set(statuses) <= {204, 404}, statuses
    assert statuses.count(204) >= 20
    reload(workbook)
    assert workbook.comment_count == 0 == Comment.objects.count()


def test_deleting_one_comment_twice_at_once_counts_it_down_once():
    workbook = WorkbookFactory()
    kept = services.add_comment(workbook.author, workbook, "Stays")
    doomed = services.add_comment(workbook.author, workbook, "Goes")
    # Both requests found the comment before either deleted it.
    copies = [Comment.objects.select_related("workbook").get(pk=doomed.pk) for _ in range(4)]

    outcomes = in_parallel(
        [lambda copy=copy: services.delete_comment(workbook.author, copy) for copy in copies]
    )

    assert outcomes == [None] * 4
    reload(workbook)
    assert workbook.comment_count == 1 == Comment.objects.count()
    assert Comment.objects.get() == kept
