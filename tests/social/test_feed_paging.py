"""The feed pages by cursor over what the reader follows now: a follow or an unfollow between two
pages neither skips nor repeats a row that is still in the feed, whichever way the reader goes."""

from urllib.parse import parse_qs, urlsplit

import pytest

from social import selectors, services
from social.models import Activity, Verb
from tests.factories import UserFactory
from tests.social.conftest import client_for
from tests.workbooks.markup import page

pytestmark = pytest.mark.django_db

FEED = "/api/v1/feed/"


@pytest.fixture
def members(outsider):
    """ada and grace, whom the outsider follows, and katherine, whom they do not; 18 activities,
    theirs in turn, so each one's rows sit between the others'."""
    ada, grace, katherine = (UserFactory(username=name) for name in ("ada", "grace", "katherine"))
    services.follow(outsider, ada)
    services.follow(outsider, grace)
    Activity.objects.all().delete()  # the outsider's own follows: only the three's rows remain
    subject = UserFactory(username="subject")
    for _ in range(6):
        for member in (ada, grace, katherine):
            Activity.objects.create(actor=member, verb=Verb.FOLLOWED, subject=subject)
    return {"ada": ada, "grace": grace, "katherine": katherine}


def ids(body: dict) -> list[int]:
    return [item["id"] for item in body["results"]]


def feed_now(reader) -> list[int]:
    return list(selectors.feed_for(reader).values_list("pk", flat=True))


def change_follows(reader, members, change: str) -> None:
    if change == "unfollow":
        services.unfollow(reader, members["grace"])
    else:
        services.follow(reader, members["katherine"])
    Activity.objects.filter(actor=reader).delete()  # the follow's own row is the reader's


@pytest.mark.parametrize("change", ["unfollow", "follow"])
def test_the_next_page_after_a_change_of_follows_neither_skips_nor_repeats(
    outsider, members, change
):
    client = client_for(outsider)
    first = client.get(FEED, {"page_size": 4}).json()
    change_follows(outsider, members, change)

    second = client.get(first["next"]).json()

    # The four rows of the feed as it is now that come after the first page's last.
    now = feed_now(outsider)
    assert ids(second) == [pk for pk in now if pk < ids(first)[-1]][:4]
    assert not set(ids(first)) & set(ids(second))


@pytest.mark.parametrize("change", ["unfollow", "follow"])
def test_the_newer_page_of_a_numbered_page_after_a_change_of_follows_is_the_rows_just_before_it(
    outsider, members, change
):
    """`?page=3` (a link made before cursors) is found by OFFSET; its "previous" link must not
    be: with follows changed since, `?page=2` by OFFSET repeats rows of page 3 (an unfollow) or
    skips the rows between (a new follow)."""
    client = client_for(outsider)
    third = client.get(FEED, {"page": 3, "page_size": 2}).json()
    assert len(ids(third)) == 2
    change_follows(outsider, members, change)
    now = feed_now(outsider)
    newer_rows = [pk for pk in now if pk > ids(third)[0]]

    newer = client.get(third["previous"]).json()

    assert ids(newer) == newer_rows[-2:]
    assert "cursor" in parse_qs(urlsplit(third["previous"]).query)
    # Back to the first page: every row newer than page 3 is on the way, once each at most
    # (the first page is a full one, so it may repeat what the page after it showed).
    seen = ids(newer)
    while newer["previous"]:
        newer = client.get(newer["previous"]).json()
        seen += ids(newer)
    assert set(seen) == set(newer_rows)
    assert ids(newer) == now[:2]


def test_the_feed_page_goes_back_from_a_numbered_page_by_cursor(client, outsider, members):
    Activity.objects.bulk_create(
        Activity(actor=members["ada"], verb=Verb.FOLLOWED, subject=outsider) for _ in range(40)
    )
    client.force_login(outsider)

    second = client.get("/feed/?page=2")
    newer = page(second).find("a", rel="prev").attrs["href"]

    assert newer.startswith("?cursor=")  # "← Newer": the rows just before, not page 1 counted again
    back = client.get(f"/feed/{newer}")
    assert len(page(back).find_all("li", class_="activity__item")) == 30
