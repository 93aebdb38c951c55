"""The navigation's bell (unread count, newest id) is kept in the cache per member, and every write that
changes it forgets it: the next page shows the change, and a page in between costs no query for it."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from social import selectors, services
from social.models import Notification
from tests.factories import UserFactory, WorkbookFactory

pytestmark = pytest.mark.django_db


def bell(client) -> tuple[int, int]:
    page = client.get("/explore/").content.decode()
    found = re.search(r'data-unread="(\d+)" data-last-id="(\d+)"', page)
    assert found, "no bell on the page"
    return int(found[1]), int(found[2])


@pytest.fixture
def member(client, user):
    client.force_login(user)
    return client


def test_a_page_after_the_first_reads_the_bell_from_the_cache(member, user):
    services.follow(UserFactory(), user)
    bell(member)

    with CaptureQueriesContext(connection) as queries:
        assert bell(member)[0] == 1

    assert not [q for q in queries.captured_queries if "social_notification" in q["sql"]]


def test_a_new_notification_shows_on_the_next_page(member, user):
    assert bell(member) == (0, 0)

    services.follow(UserFactory(), user)

    newest = Notification.objects.get(recipient=user).pk
    assert bell(member) == (1, newest)


def test_marking_read_empties_the_bell_on_the_next_page(member, user):
    services.follow(UserFactory(), user)
    assert bell(member)[0] == 1

    member.post("/notifications/read/", {"all": "1"})

    assert bell(member)[0] == 0


def test_an_undone_follow_takes_its_notification_off_the_bell(member, user):
    follower = UserFactory()
    services.follow(follower, user)
    assert bell(member)[0] == 1

    services.unfollow(follower, user)

    assert bell(member)[0] == 0


def test_a_deleted_comment_takes_its_notification_off_the_bell(member, user):
    workbook = WorkbookFactory(author=user)
    comment = services.add_comment(UserFactory(), workbook, "Nice")
    assert bell(member)[0] == 1

    services.delete_comment(user, comment)

    assert bell(member)[0] == 0


def test_a_published_workbook_reaches_the_followers_bell(
    member, user, django_capture_on_commit_callbacks
):
    author = UserFactory()
    services.follow(user, author)
    assert bell(member)[0] == 0

    with django_capture_on_commit_callbacks(execute=True):  # the fan-out runs after the commit
        WorkbookFactory(author=author)

    assert bell(member)[0] == 1


class StoreAfter:
    """The cache, but `change()` commits just before the first bell is stored: after the page
    counted it, as a notification committing between a page's count and its store would."""

    def __init__(self, real, change) -> None:
        self.real, self.change = real, change

    def __getattr__(self, name):
        return getattr(self.real, name)

    def set(self, key, *args, **kwargs):
        if key.startswith("social:bell:") and self.change is not None:
            change, self.change = self.change, None
            change()
        return self.real.set(key, *args, **kwargs)


def test_a_notification_committed_while_a_page_counts_the_bell_is_not_hidden(
    member, user, monkeypatch
):
    monkeypatch.setattr(
        selectors,
        "cache",
        StoreAfter(selectors.cache, lambda: services.follow(UserFactory(), user)),
    )

    assert bell(member) == (0, 0)  # counted before the follow, and stored after it was forgotten

    newest = Notification.objects.get(recipient=user).pk
    assert bell(member) == (1, newest)
