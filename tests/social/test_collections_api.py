"""The collections API as docs/api.md describes it: the collection's fields, who may read and change
it (someone else's private collection is a 404), add and remove idempotent, the order, a member's
list, and query counts that stay flat as collections and workbooks grow."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from social.models import Collection, CollectionItem, Notification, Verb
from tests.factories import CollectionFactory, UserFactory, WorkbookFactory

pytestmark = pytest.mark.django_db

FIELDS = {
    "id", "slug", "url", "title", "description", "visibility", "owner", "workbook_count", "cover",
    "created_at", "updated_at",
}  # fmt: skip


def test_create_answers_201_with_the_collection(owner_client, owner):
    response = owner_client.post(
        "/api/v1/collections/",
        {"title": "Best of finance", "description": "Mine", "visibility": "unlisted"},
        format="json",
    )

    assert response.status_code == 201, response.data
    assert set(response.data) == FIELDS
    assert response.data["slug"] == "best-of-finance"
    assert response.data["url"] == "http://testserver/u/owner/c/best-of-finance/"
    assert response.data["owner"]["username"] == "owner"
    assert (response.data["visibility"], response.data["workbook_count"]) == ("unlisted", 0)
    assert response.data["cover"] == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": ""},
        {"title": 5},
        {"title": "x" * 121},
        {"title": "Ok", "visibility": "secret"},
    ],
)
def test_create_refuses_bad_input_with_400(owner_client, body):
    response = owner_client.post("/api/v1/collections/", body, format="json")
    assert response.status_code == 400


def test_anonymous_cannot_list_or_create(anonymous):
    assert anonymous.get("/api/v1/collections/").status_code == 401
    assert anonymous.post("/api/v1/collections/", {"title": "x"}, format="json").status_code == 401


def test_your_list_holds_all_of_yours_and_nobody_elses(owner_client, owner, outsider):
    mine = {CollectionFactory(owner=owner, visibility=v).pk for v in ("public", "private")}
    CollectionFactory(owner=outsider)

    response = owner_client.get("/api/v1/collections/")

    assert {row["id"] for row in response.data["results"]} == mine
    assert set(response.data) == {"next", "previous", "results"}


def test_private_and_unlisted_collections_are_404s_by_id_to_all_but_their_owner(
    owner_client, outsider_client, anonymous, owner, outsider
):
    """An unlisted collection is shared by its page's address: counting ids must not find it."""
    private = CollectionFactory(owner=owner, visibility="private")
    unlisted = CollectionFactory(owner=owner, visibility="unlisted")
    workbook = WorkbookFactory(author=outsider)

    for client in (outsider_client, anonymous):
        for hidden in (private, unlisted):
            assert client.get(f"/api/v1/collections/{hidden.pk}/").status_code == 404
    for hidden in (private, unlisted):
        base = f"/api/v1/collections/{hidden.pk}"
        assert (
            outsider_client.patch(f"{base}/", {"title": "Mine"}, format="json").status_code == 404
        )
        assert outsider_client.delete(f"{base}/").status_code == 404
        assert outsider_client.put(f"{base}/workbooks/{workbook.pk}/").status_code == 404
        assert outsider_client.delete(f"{base}/workbooks/{workbook.pk}/").status_code == 404
        assert (
            outsider_client.post(f"{base}/order/", {"workbook_ids": []}, format="json").status_code
            == 404
        )
    for hidden in (private, unlisted):
        assert owner_client.get(f"/api/v1/collections/{hidden.pk}/").status_code == 200
    assert anonymous.get(unlisted.get_absolute_url()).status_code == 200  # its page's address


def test_only_the_owner_patches_or_deletes(owner_client, outsider_client, owner):
    collection = CollectionFactory(owner=owner, title="Before")
    url = f"/api/v1/collections/{collection.pk}/"

    assert outsider_client.patch(url, {"title": "Hijacked"}, format="json").status_code == 403
    assert outsider_client.delete(url).status_code == 403
    patched = owner_client.patch(url, {"title": "After", "visibility": "private"}, format="json")
    assert patched.status_code == 200
    assert (patched.data["title"], patched.data["visibility"]) == ("After", "private")
    assert outsider_client.get(url).status_code == 404

    assert owner_client.delete(url).status_code == 204
    assert not Collection.objects.filter(pk=collection.pk).exists()


def test_put_and_delete_a_workbook_are_idempotent(owner_client, owner, outsider):
    collection = CollectionFactory(owner=owner)
    theirs = WorkbookFactory(author=outsider)
    url = f"/api/v1/collections/{collection.pk}/workbooks/{theirs.pk}/"

    first, again = owner_client.put(url), owner_client.put(url)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.data["workbook_count"] == 1
    assert [item["id"] for item in again.data["cover"]] == [theirs.pk]
    assert Notification.objects.filter(recipient=outsider, verb=Verb.COLLECTED).count() == 1
    assert owner_client.delete(url).status_code == 204
    assert owner_client.delete(url).status_code == 204
    assert not CollectionItem.objects.exists()


def test_deleting_a_workbook_id_no_row_can_have_is_a_204_that_removes_nothing(
    owner_client, owner, workbook
):
    """Beyond 2**63 - 1 an id names no workbook; SQLite could not compare it with the column (a
    500 before), so nothing is asked of the database."""
    collection = CollectionFactory(owner=owner, workbooks=[workbook])

    for workbook_id in (2**63, 10**30):
        url = f"/api/v1/collections/{collection.pk}/workbooks/{workbook_id}/"
        assert owner_client.delete(url).status_code == 204

    assert list(collection.items.values_list("workbook_id", flat=True)) == [workbook.pk]


def test_someone_elses_draft_is_refused_and_a_missing_workbook_is_404(
    owner_client, staff_client, owner, outsider, staff
):
    collection = CollectionFactory(owner=owner)
    theirs = WorkbookFactory(author=outsider, status="draft")

    # The owner cannot open it at all; a moderator can, and is refused adding it.
    response = owner_client.put(f"/api/v1/collections/{collection.pk}/workbooks/{theirs.pk}/")
    assert response.status_code == 404
    staffs = CollectionFactory(owner=staff)
    response = staff_client.put(f"/api/v1/collections/{staffs.pk}/workbooks/{theirs.pk}/")
    assert (response.status_code, response.data["code"]) == (400, "not_published")


def test_adding_to_someone_elses_collection_is_refused(outsider_client, owner, workbook):
    collection = CollectionFactory(owner=owner)
    response = outsider_client.put(f"/api/v1/collections/{collection.pk}/workbooks/{workbook.pk}/")
    assert response.status_code == 403
    assert not CollectionItem.objects.exists()


def test_order_sets_the_new_order(owner_client, owner):
    a, b, c = (WorkbookFactory(title=t) for t in "ABC")
    collection = CollectionFactory(owner=owner, workbooks=[a, b, c])

    response = owner_client.post(
        f"/api/v1/collections/{collection.pk}/order/",
        {"workbook_ids": [c.pk, a.pk, b.pk]},
        format="json",
    )

    assert response.status_code == 200
    assert [item["title"] for item in response.data["cover"]] == ["C", "A", "B"]


@pytest.mark.parametrize("body", [{}, {"workbook_ids": "1"}, {"workbook_ids": [0]}, "unknown"])
def test_order_refuses_bad_input_with_400(owner_client, owner, body):
    a = WorkbookFactory()
    collection = CollectionFactory(owner=owner, workbooks=[a])
    if body == "unknown":
        body = {"workbook_ids": [a.pk, a.pk + 1000]}
    response = owner_client.post(f"/api/v1/collections/{collection.pk}/order/", body, format="json")
    assert response.status_code == 400


def test_a_members_list_is_their_public_collections_or_all_for_them(
    owner_client, outsider_client, owner
):
    public = CollectionFactory(owner=owner, visibility="public")
    CollectionFactory(owner=owner, visibility="unlisted")
    CollectionFactory(owner=owner, visibility="private")

    theirs = outsider_client.get("/api/v1/users/owner/collections/")
    mine = owner_client.get("/api/v1/users/OWNER/collections/")

    assert [row["id"] for row in theirs.data["results"]] == [public.pk]
    assert len(mine.data["results"]) == 3
    assert outsider_client.get("/api/v1/users/nobody/collections/").status_code == 404


def grow(owner, collections: int) -> None:
    """Up to `collections` public collections of `owner`, each with five workbooks of others."""
    for _ in range(Collection.objects.filter(owner=owner).count(), collections):
        CollectionFactory(owner=owner, workbooks=[WorkbookFactory() for _ in range(5)])


def count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries)


# The page of collections with their owners and counts; their covers (one prefetch); and for a
# member's list, the member.
@pytest.mark.parametrize(
    ("url", "expected"),
    [("/api/v1/users/owner/collections/", 3), ("/api/v1/collections/", 2)],
)
def test_list_query_counts_stay_flat(owner_client, owner, url, expected):
    grow(owner, 2)
    few = count(owner_client, url)
    grow(owner, 12)
    many = count(owner_client, url)

    assert few == many == expected


def test_the_schema_describes_the_collections_operations(api_client):
    schema = api_client.get("/api/v1/schema/?format=json").json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/collections/"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/collections/{id}/"])
    assert {"put", "delete"} <= set(paths["/api/v1/collections/{id}/workbooks/{workbook_id}/"])
    assert "post" in paths["/api/v1/collections/{id}/order/"]
    assert "get" in paths["/api/v1/users/{username}/collections/"]
    collection = schema["components"]["schemas"]["Collection"]
    assert set(collection["properties"]) == FIELDS
    verbs = schema["components"]["schemas"]["VerbEnum"]["enum"]
    assert {"collected", "embed_failing"} <= set(verbs)


def test_a_member_who_is_not_active_has_no_collections_listed(api_client):
    gone = UserFactory(username="gone", is_active=False)
    CollectionFactory(owner=gone)
    assert api_client.get("/api/v1/users/gone/collections/").status_code == 404


def test_adding_is_rate_limited_with_429(owner_client, owner, settings, fresh_minute):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "collect": 1}
    collection = CollectionFactory(owner=owner)
    first, second = WorkbookFactory(), WorkbookFactory()

    assert (
        owner_client.put(f"/api/v1/collections/{collection.pk}/workbooks/{first.pk}/").status_code
        == 200
    )
    refused = owner_client.put(f"/api/v1/collections/{collection.pk}/workbooks/{second.pk}/")

    assert refused.status_code == 429
    assert "Retry-After" in refused
    # Adding what is already there costs nothing.
    assert (
        owner_client.put(f"/api/v1/collections/{collection.pk}/workbooks/{first.pk}/").status_code
        == 200
    )


def test_creating_is_rate_limited_with_429(owner_client, owner, settings, fresh_minute):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "collection": 1}

    made = owner_client.post("/api/v1/collections/", {"title": "One"}, format="json")
    refused = owner_client.post("/api/v1/collections/", {"title": "Two"}, format="json")

    assert (made.status_code, refused.status_code) == (201, 429)
    assert "Retry-After" in refused
    assert Collection.objects.filter(owner=owner).count() == 1


def test_adding_to_a_full_collection_is_a_400(owner_client, owner, monkeypatch):
    monkeypatch.setattr("social.collection_services.MAX_WORKBOOKS", 1)
    collection = CollectionFactory(owner=owner, workbooks=[WorkbookFactory()])

    refused = owner_client.put(
        f"/api/v1/collections/{collection.pk}/workbooks/{WorkbookFactory().pk}/"
    )

    assert refused.status_code == 400
    assert refused.data["code"] == "collection_full"
