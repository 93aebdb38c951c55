"""Keyset (cursor) pages: every list, API and HTML, pages from a cursor in its own total order, so
no request reads more rows than it returns plus one, however deep (sigma_playground.paging).

Each list is walked page by page with small pages; the walk must give exactly the rows of the
whole list, in its order, through links that carry a cursor, with no OFFSET in any query, and the
same number of queries on every page. Bad cursors and pages too deep for an OFFSET are a 400."""

from __future__ import annotations

import base64
import contextlib
import re
import zlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from social.models import Activity, Comment, Favorite, Follow, Notification, Verb
from tests.factories import UserFactory, WorkbookFactory
from tests.workbooks.markup import page as html
from workbooks.models import Featured, Tag, Workbook

ROWS = 7  # API lists: walked 3 at a time, so the last page is short


@pytest.fixture
def gallery(db):
    """An author with ROWS of everything, half of it made in one instant (so the unique tiebreak,
    not the time, decides their order), and a reader who follows and favorites them."""
    author = UserFactory(username="author")
    reader = UserFactory(username="reader")
    instant = timezone.now() - timedelta(days=1)
    workbooks = []
    for n in range(ROWS):
        workbook = WorkbookFactory(author=author, title=f"Revenue {n}", tags=["sales", f"t{n}"])
        workbooks.append(workbook)
    for n, workbook in enumerate(workbooks):
        Workbook.objects.filter(pk=workbook.pk).update(
            published_at=instant if n % 2 else instant - timedelta(minutes=n),
            trending_score=n % 3,
            favorite_count=n % 2,
            view_count=n % 4,
        )
        Featured.objects.create(workbook=workbook, position=n % 2, starts_at=instant)
    for n in range(ROWS):
        fan = UserFactory(username=f"fan{n}")
        Follow.objects.create(follower=fan, followee=author)
        followed = UserFactory(username=f"idol{n}")
        Follow.objects.create(follower=author, followee=followed)
        Comment.objects.create(workbook=workbooks[0], author=fan, body=f"Comment {n}")
        Favorite.objects.create(user=author, workbook=workbooks[n])
    Follow.objects.filter(followee=author).update(created_at=instant)
    Favorite.objects.filter(user=author).update(created_at=instant)
    Comment.objects.update(created_at=instant)
    Follow.objects.create(follower=reader, followee=author)
    Activity.objects.bulk_create(
        Activity(actor=author, verb=Verb.PUBLISHED, workbook=workbooks[n]) for n in range(ROWS)
    )
    Notification.objects.bulk_create(
        Notification(recipient=reader, actor=author, verb=Verb.PUBLISHED, workbook=workbooks[n])
        for n in range(ROWS)
    )
    Notification.objects.bulk_create(  # read ones in between: `unread=true` skips them
        Notification(recipient=reader, actor=author, verb=Verb.FOLLOWED, read=n % 2 == 0)
        for n in range(ROWS)
    )
    for n in range(ROWS):
        Tag.objects.create(name=f"extra {n}", slug=f"extra-{n}", workbook_count=1)
    return {"author": author, "reader": reader, "workbook": workbooks[0]}


def reader_client(gallery) -> APIClient:
    client = APIClient()
    client.force_authenticate(gallery["reader"])
    return client


API_LISTS = {
    "workbooks": "/api/v1/workbooks/",
    "workbooks by trending": "/api/v1/workbooks/?ordering=trending",
    "workbooks by favorites": "/api/v1/workbooks/?ordering=-favorite_count",
    "workbooks by views": "/api/v1/workbooks/?ordering=-view_count",
    "workbooks of a tag": "/api/v1/workbooks/?tag=sales",
    "search, by date": "/api/v1/workbooks/?q=revenue&ordering=-published_at",
    "member's workbooks": "/api/v1/users/author/workbooks/",
    "member's favorites": "/api/v1/users/author/favorites/",
    "followers": "/api/v1/users/author/followers/",
    "following": "/api/v1/users/author/following/",
    "feed": "/api/v1/feed/",
    "notifications": "/api/v1/notifications/",
    "unread notifications": "/api/v1/notifications/?unread=true",
    "comments": "/api/v1/workbooks/{workbook}/comments/",
    "tags": "/api/v1/tags/",
    "featured": "/api/v1/featured/",
}


def _key(item: dict) -> object:
    return item.get("id", item.get("username"))


@pytest.mark.django_db
@pytest.mark.parametrize("url", list(API_LISTS.values()), ids=list(API_LISTS))
def test_every_api_list_pages_by_cursor_through_every_row_once(gallery, url):
    client = reader_client(gallery)
    url = url.format(workbook=gallery["workbook"].pk)
    whole = [_key(item) for item in client.get(url, {"page_size": 100}).json()["results"]]
    assert len(whole) >= ROWS

    seen, pages, counts = [], [], []
    response = client.get(url, {"page_size": 3})
    while True:
        body = response.json()
        assert response.status_code == 200, body
        pages.append(body)
        seen += [_key(item) for item in body["results"]]
        if not body["next"]:
            break
        query = parse_qs(urlsplit(body["next"]).query)
        assert "cursor" in query, body["next"]
        assert "page" not in query, body["next"]
        with CaptureQueriesContext(connection) as queries:
            response = client.get(body["next"])
        counts.append(len(queries))
        # A range read from the cursor's row: never an OFFSET, however deep.
        assert not [q["sql"] for q in queries if " OFFSET " in q["sql"].upper()]

    assert seen == whole
    assert len(set(counts)) == 1  # every page costs the same queries
    # And back: each `previous` gives the page before, exactly.
    for before, after in zip(reversed(pages[:-1]), reversed(pages[1:]), strict=True):
        assert after["previous"] is not None
        assert client.get(after["previous"]).json()["results"] == before["results"]
    assert pages[0]["previous"] is None


@pytest.mark.django_db
def test_a_numbered_page_up_to_10_still_answers_and_leads_on_by_cursor(gallery):
    client = reader_client(gallery)
    whole = [w["id"] for w in client.get("/api/v1/workbooks/").json()["results"]]

    second = client.get("/api/v1/workbooks/", {"page": 2, "page_size": 2}).json()
    third = client.get(second["next"]).json()

    assert [w["id"] for w in second["results"]] == whole[2:4]
    assert sorted(parse_qs(urlsplit(second["next"]).query)) == ["cursor", "page_size"]
    assert [w["id"] for w in third["results"]] == whole[4:6]
    # Back by cursor too: the rows just before this page, wherever they are counted from now.
    assert sorted(parse_qs(urlsplit(second["previous"]).query)) == ["cursor", "page_size"]
    assert [w["id"] for w in client.get(second["previous"]).json()["results"]] == whole[0:2]
    assert client.get("/api/v1/workbooks/", {"page": 10}).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/workbooks/", "/api/v1/tags/", "/api/v1/feed/"])
def test_a_page_past_10_is_a_400_pointing_at_the_cursors(gallery, url):
    response = reader_client(gallery).get(url, {"page": 11})

    assert response.status_code == 400
    assert response.json()["code"] == "page_too_deep"
    assert "next" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cursor",
    ["garbage", "eyJvIjoiLWlkIn0:forged", "a" * 900, "Zm9v:YmFy:YmF6"],
    ids=["garbage", "forged", "long", "colons"],
)
def test_a_bad_cursor_is_a_400_invalid_cursor(gallery, cursor):
    response = reader_client(gallery).get("/api/v1/workbooks/", {"cursor": cursor})

    assert response.status_code == 400
    assert response.json() == {"detail": response.json()["detail"], "code": "invalid_cursor"}


@pytest.mark.django_db
def test_a_cursor_from_another_ordering_or_with_a_page_is_a_400(gallery):
    client = reader_client(gallery)
    trending = client.get("/api/v1/workbooks/", {"ordering": "trending", "page_size": 2}).json()
    cursor = parse_qs(urlsplit(trending["next"]).query)["cursor"][0]

    other_order = client.get("/api/v1/workbooks/", {"cursor": cursor, "page_size": 2})
    other_list = client.get("/api/v1/tags/", {"cursor": cursor})
    both = client.get("/api/v1/workbooks/", {"cursor": cursor, "page": 2, "ordering": "trending"})
    too_long = client.get("/api/v1/workbooks/", {"cursor": "a" * 1001})

    assert other_order.json()["code"] == "invalid_cursor"
    assert other_list.json()["code"] == "invalid_cursor"
    assert both.status_code == 400
    assert both.json()["code"] == "page_and_cursor"
    assert too_long.status_code == 400
    assert "cursor" in too_long.json()


@pytest.mark.django_db
def test_search_ranked_by_relevance_keeps_numbered_pages_and_refuses_a_cursor(gallery):
    client = reader_client(gallery)
    ranked = client.get("/api/v1/workbooks/", {"q": "revenue", "page_size": 2}).json()
    dated = client.get(
        "/api/v1/workbooks/", {"q": "revenue", "ordering": "-published_at", "page_size": 2}
    ).json()
    cursor = parse_qs(urlsplit(dated["next"]).query)["cursor"][0]

    assert parse_qs(urlsplit(ranked["next"]).query)["page"] == ["2"]
    # Numbered pages, as deep as the search keeps results (it caps them itself).
    second = client.get(ranked["next"]).json()
    assert len(second["results"]) == 2
    assert not {w["id"] for w in second["results"]} & {w["id"] for w in ranked["results"]}
    refused = client.get("/api/v1/workbooks/", {"q": "revenue", "cursor": cursor})
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_cursor"


# --- HTML lists -----------------------------------------------------------------------------------


@pytest.fixture
def long_lists(db):
    """31 of everything a 30-row HTML list shows, and 25 of every 24-card list."""
    author = UserFactory(username="author")
    reader = UserFactory(username="reader")
    tag = Tag.objects.create(name="sales", slug="sales")
    now = timezone.now()
    workbooks = Workbook.objects.bulk_create(
        Workbook(
            author=author,
            title=f"Workbook {n}",
            slug=f"workbook-{n}",
            embed_url=f"https://app.sigmacomputing.com/embed/1-Embed{n:04d}",
            embed_kind="public",
            sigma_id=f"1-Embed{n:04d}",
            status="published",
            published_at=now - timedelta(minutes=n // 2),  # pairs in one instant
        )
        for n in range(25)
    )
    Workbook.tags.through.objects.bulk_create(
        Workbook.tags.through(workbook=workbook, tag=tag) for workbook in workbooks
    )
    Tag.objects.filter(pk=tag.pk).update(workbook_count=25)
    Favorite.objects.bulk_create(Favorite(user=author, workbook=w) for w in workbooks)
    people = UserFactory.create_batch(31)
    Follow.objects.bulk_create(Follow(follower=p, followee=author) for p in people)
    Follow.objects.bulk_create(Follow(follower=author, followee=p) for p in people)
    poster = UserFactory()  # whom the reader follows (not the author, whose followers are counted)
    Follow.objects.create(follower=reader, followee=poster)
    Activity.objects.bulk_create(
        Activity(actor=poster, verb=Verb.FOLLOWED, subject=p) for p in people
    )
    Notification.objects.bulk_create(
        Notification(recipient=reader, actor=p, verb=Verb.FOLLOWED) for p in people
    )
    return {"author": author, "reader": reader}


HTML_LISTS = {
    "feed": ("/feed/", "li.activity__item"),
    "notifications": ("/notifications/", "li.notification"),
    "followers": ("/u/author/followers/", "li.person"),
    "following": ("/u/author/following/", "li.person"),
    "favorites": ("/u/author/favorites/", "article.wb-card"),
    "author's workbooks": ("/u/author/", "article.wb-card"),
    "tag": ("/tags/sales/", "article.wb-card"),
}


def _items(response, selector: str) -> list[str]:
    tag, class_ = selector.split(".")
    return [element.text for element in html(response).find_all(tag, class_=class_)]


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "selector"), list(HTML_LISTS.values()), ids=list(HTML_LISTS))
def test_every_html_list_leads_on_by_cursor_without_an_offset(client, long_lists, url, selector):
    client.force_login(long_lists["reader"])
    first = client.get(url)
    first_items = _items(first, selector)
    assert first_items
    older = html(first).find("a", rel="next").attrs["href"]
    assert older.startswith("?cursor=")

    with CaptureQueriesContext(connection) as queries:
        second = client.get(url + older)
    by_number = client.get(url, {"page": 2})

    assert second.status_code == 200
    assert not [q["sql"] for q in queries if " OFFSET " in q["sql"].upper()]
    second_items = _items(second, selector)
    assert len(second_items) == 1
    assert second_items == _items(by_number, selector)
    assert not set(second_items) & set(first_items)
    assert html(second).find_all("a", rel="next") == []
    newer = html(second).find("a", rel="prev").attrs["href"]
    assert _items(client.get(url + newer), selector) == first_items


@pytest.mark.django_db
@pytest.mark.parametrize("url", [url for url, _ in HTML_LISTS.values()], ids=list(HTML_LISTS))
@pytest.mark.parametrize("query", ["cursor=forged", "page=11", "page=x"])
def test_a_bad_page_of_an_html_list_is_a_clear_400(client, long_lists, url, query):
    client.force_login(long_lists["reader"])

    response = client.get(f"{url}?{query}")

    assert response.status_code == 400
    page = html(response)
    assert page.find("h1").text == "No such page of this list"
    links = [a for a in page.find_all("a") if a.text == "Go to the first page"]
    assert [a.attrs["href"] for a in links] == [url]


# --- PostgreSQL: the plans ------------------------------------------------------------------------


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        # Sorting priced out of reach: a Sort left in the plan means no index serves the order.
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


# The featured rail is left out: it is ordered by the curators' positions, looked up per row, and
# holds only the workbooks featured now (a handful), so it is sorted whole, in memory.
INDEXED_LISTS = {name: url for name, url in API_LISTS.items() if name != "featured"}


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("url", list(INDEXED_LISTS.values()), ids=list(INDEXED_LISTS))
def test_on_postgresql_a_cursor_page_is_an_index_range_with_a_limit(gallery, url):
    client = reader_client(gallery)
    url = url.format(workbook=gallery["workbook"].pk)
    first = client.get(url, {"page_size": 3}).json()
    with CaptureQueriesContext(connection) as queries:
        client.get(first["next"])
    listing = [q["sql"] for q in queries if " LIMIT 4" in q["sql"]]
    assert len(listing) == 1
    assert " OFFSET " not in listing[0].upper()

    plan = _plan(listing[0])

    assert plan.splitlines()[0].startswith("Limit")
    assert "Index" in plan
    # A Sort node would read every matching row before the first is returned. (An Incremental
    # Sort only orders rows whose leading keys the index gave equal: a tie, not the list.)
    sorts = [line for line in plan.splitlines() if line.strip().lstrip("-> ").startswith("Sort  (")]
    assert not sorts, plan


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(("url", "selector"), list(HTML_LISTS.values()), ids=list(HTML_LISTS))
def test_on_postgresql_an_html_list_s_older_page_is_an_index_range_with_a_limit(
    client, long_lists, url, selector
):
    client.force_login(long_lists["reader"])
    older = html(client.get(url)).find("a", rel="next").attrs["href"]
    with CaptureQueriesContext(connection) as queries:
        client.get(url + older)
    # 30 rows a page for people, the feed and notifications, 24 for cards: one more says "Older".
    listing = [q["sql"] for q in queries if " LIMIT 31" in q["sql"] or " LIMIT 25" in q["sql"]]
    assert len(listing) == 1
    assert " OFFSET " not in listing[0].upper()

    plan = _plan(listing[0])

    assert plan.splitlines()[0].startswith("Limit")
    sorts = [line for line in plan.splitlines() if line.strip().lstrip("-> ").startswith("Sort  (")]
    assert not sorts, plan


def _every_reading(cursor: str) -> list[bytes]:
    """What anyone can get out of a cursor without the key: the text, and each part of it read as
    (optionally zlib-compressed) base64, as a signed (not encrypted) payload would be."""
    readings = [cursor.encode()]
    for part in re.split(r"[:.]", cursor):
        try:
            data = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except ValueError:
            continue
        readings.append(data)
        with contextlib.suppress(zlib.error):
            readings.append(zlib.decompress(data))
    return readings


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "model"),
    [
        ("/api/v1/users/author/favorites/", Favorite),
        ("/api/v1/users/author/followers/", Follow),
        ("/api/v1/users/author/following/", Follow),
    ],
    ids=["favorites", "followers", "following"],
)
def test_a_public_list_s_cursor_reveals_no_time_of_a_favorite_or_follow(gallery, url, model):
    Favorite.objects.update(created_at=timezone.now() - timedelta(hours=3, microseconds=123457))
    Follow.objects.update(created_at=timezone.now() - timedelta(hours=3, microseconds=123457))
    response = APIClient().get(url, {"page_size": 1})  # anyone: no sign-in
    body = response.json()
    cursors = [parse_qs(urlsplit(body["next"]).query)["cursor"][0]]
    second = APIClient().get(body["next"]).json()
    cursors.append(parse_qs(urlsplit(second["previous"]).query)["cursor"][0])

    times = {row.created_at for row in model.objects.all()}
    leaks = set()
    for when in times:
        leaks |= {when.isoformat(), when.isoformat(timespec="seconds")[:16], str(when.timestamp())}
    leaks |= {when.strftime("%Y-%m-%d") for when in times}
    for cursor in cursors:
        for reading in _every_reading(cursor):
            text = reading.decode("latin-1")
            assert not any(leak in text for leak in leaks), (cursor, text)
            assert '"dt"' not in text
            assert "favorited_at" not in text
            assert "followed_at" not in text
