"""Every social list costs a fixed number of queries, whether it has 3 rows or 30.

Each case makes 3 rows, counts the queries of one request, grows to 30 rows (by as many different
members, tagged workbooks and kinds of activity as it can) and counts again. The viewer is signed in
with force_authenticate, so authentication itself costs no query; a bearer token would add one (the
user). The counts are the same on SQLite and PostgreSQL.
"""

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from social import services
from tests.factories import UserFactory, WorkbookFactory

TAGS = ["finance", "saas", "forecasting"]


def tagged_workbook(n: int, **kwargs):
    return WorkbookFactory(tags=TAGS[: 1 + n % len(TAGS)], **kwargs)


def grow_feed(owner, viewer, have: int, total: int) -> None:
    """Activity by the owner, whom the viewer follows: favorites, follows and comments by turns."""
    if have == 0:
        services.follow(viewer, owner)
    for n in range(have, total):
        if n % 3 == 0:
            services.favorite(owner, tagged_workbook(n))
        elif n % 3 == 1:
            services.follow(owner, UserFactory())
        else:
            services.add_comment(owner, tagged_workbook(n), f"Comment {n}")


def grow_notifications(owner, viewer, have: int, total: int) -> None:
    """The viewer's notifications, each from someone else: follows, favorites, comments."""
    workbook = WorkbookFactory(author=viewer)
    for n in range(have, total):
        someone = UserFactory()
        if n % 3 == 0:
            services.follow(someone, viewer)
        elif n % 3 == 1:
            services.favorite(someone, workbook)
        else:
            services.add_comment(someone, workbook, f"Comment {n}")


def grow_followers(owner, viewer, have: int, total: int) -> None:
    for _ in range(have, total):
        services.follow(UserFactory(), owner)


def grow_following(owner, viewer, have: int, total: int) -> None:
    for _ in range(have, total):
        services.follow(owner, UserFactory())


def grow_favorites(owner, viewer, have: int, total: int) -> None:
    """The owner's favorites, some also the viewer's, by several authors."""
    for n in range(have, total):
        workbook = tagged_workbook(n)
        services.favorite(owner, workbook)
        if n % 2:
            services.favorite(viewer, workbook)


def grow_workbooks(owner, viewer, have: int, total: int) -> None:
    for n in range(have, total):
        workbook = tagged_workbook(n, author=owner)
        if n % 2:
            services.favorite(viewer, workbook)
    WorkbookFactory(author=owner, status="draft")


def grow_profile(owner, viewer, have: int, total: int) -> None:
    grow_workbooks(owner, viewer, have, total)
    grow_followers(owner, viewer, have, total)


def grow_comments(owner, viewer, have: int, total: int) -> None:
    workbook = owner.workbooks.first() or WorkbookFactory(author=owner)
    for n in range(have, total):
        services.add_comment(UserFactory(), workbook, f"Comment {n}")


def comments_url(owner) -> str:
    return f"/api/v1/workbooks/{owner.workbooks.get().pk}/comments/"


# (what, its URL, how to grow it, queries): what the queries are.
CASES = [
    # The followed members (their tokens say whether the member's kept first page is current: a
    # reload is answered from it with no query, test_api_kept_pages); a page of activities with
    # actor, workbook (and its author, for the filter) and subject, in one query (the follows are
    # a subquery).
    pytest.param("/api/v1/feed/", grow_feed, 2, id="feed"),
    # A page of notifications with actor and workbook; the unread count.
    pytest.param("/api/v1/notifications/", grow_notifications, 2, id="notifications"),
    # The member; a page of followers (a join on the follows).
    pytest.param("/api/v1/users/owner/followers/", grow_followers, 2, id="followers"),
    pytest.param("/api/v1/users/owner/following/", grow_following, 2, id="following"),
    # The member; a page of workbooks with authors and `is_favorited` (EXISTS); their tags.
    pytest.param("/api/v1/users/owner/favorites/", grow_favorites, 3, id="favorites"),
    pytest.param("/api/v1/users/owner/workbooks/", grow_workbooks, 3, id="workbooks"),
    # The member with the published count and `is_following` as subqueries.
    pytest.param("/api/v1/users/owner/", grow_profile, 1, id="profile"),
    # The workbook (visible to the viewer: a member holds no permission to read others' drafts, answered
    # without a query); a page of comments with their authors.
    pytest.param(comments_url, grow_comments, 2, id="comments"),
]


def count(client: APIClient, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    assert response.json().get("results", True)  # a list, not empty
    return len(captured), "\n".join(query["sql"] for query in captured.captured_queries)


@pytest.mark.parametrize(("url", "grow", "expected"), CASES)
@pytest.mark.django_db
def test_a_social_list_costs_the_same_queries_for_3_and_for_30_rows(
    owner, outsider, url: str | Callable, grow: Callable, expected: int
):
    client = APIClient()
    grow(owner, outsider, 0, 3)
    address = url(owner) if callable(url) else url
    # A fresh user object per request, as a real request has: nothing it cached carries over.
    client.force_authenticate(User.objects.get(pk=outsider.pk))
    few, _ = count(client, address)

    grow(owner, outsider, 3, 30)
    client.force_authenticate(User.objects.get(pk=outsider.pk))
    many, sql = count(client, address)

    assert few == many, sql
    assert many == expected, sql
