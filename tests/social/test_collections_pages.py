"""The collection pages without JavaScript: the profile's Collections tab, a collection's page with
its cover and order, the owner's forms (new, edit, delete, move up and down, remove), adding a
workbook from its page or a card, the lists the workbook and home pages load, the Atom feed, the
admin, and query counts that stay flat as collections grow."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from social import collection_selectors as selectors
from social.models import Collection, CollectionItem, FeaturedCollection
from tests.factories import CollectionFactory, UserFactory, WorkbookFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


def order_of(collection: Collection) -> list[str]:
    return [item.workbook.title for item in selectors.items_of(collection, collection.owner)]


def test_the_profile_tab_lists_public_collections_to_others_and_all_to_the_owner(client, owner):
    CollectionFactory(owner=owner, title="Open one")
    CollectionFactory(owner=owner, title="Secret one", visibility="private")

    others = client.get("/u/owner/collections/")
    assertContains(others, "Open one")
    assertNotContains(others, "Secret one")
    assertContains(others, 'href="/u/owner/collections/" aria-current="page"', html=False)

    client.force_login(owner)
    mine = client.get("/u/owner/collections/")
    assertContains(mine, "Secret one")
    assertContains(mine, "New collection")


def test_a_collection_page_shows_its_cover_author_and_workbooks_in_order(client, owner):
    a, b = WorkbookFactory(title="Alpha"), WorkbookFactory(title="Beta")
    CollectionFactory(owner=owner, title="Picks", slug="picks", workbooks=[b, a])

    response = client.get("/u/owner/c/picks/")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Beta") < html.index("Alpha")
    assertContains(response, 'class="coll-cover coll-cover--2"')
    assertContains(response, "A collection by")
    assertContains(response, "/feeds/u/owner/c/picks/")
    assertNotContains(response, "/move/")  # the owner's forms are the owner's only


def test_a_private_collection_page_is_a_404_to_others(client, owner, outsider):
    CollectionFactory(owner=owner, slug="mine", visibility="private")
    assert client.get("/u/owner/c/mine/").status_code == 404
    client.force_login(outsider)
    assert client.get("/u/owner/c/mine/").status_code == 404


def test_someone_elses_draft_never_shows_on_the_page(client, owner, outsider):
    gone = WorkbookFactory(author=outsider, title="Pulled back", status="draft")
    collection = CollectionFactory(owner=owner, slug="picks")
    CollectionItem.objects.create(collection=collection, workbook=gone, position=0)

    for viewer in (None, owner, outsider):
        if viewer:
            client.force_login(viewer)
        assertNotContains(client.get("/u/owner/c/picks/"), "Pulled back")


def test_the_owner_makes_edits_and_deletes_a_collection_with_forms(signed_in, owner):
    made = signed_in.post(
        "/collections/new/", {"title": "Finance", "description": "", "visibility": "public"}
    )
    assertRedirects(made, "/u/owner/c/finance/")

    edited = signed_in.post(
        "/u/owner/c/finance/edit/",
        {"title": "Finance picks", "description": "Good ones", "visibility": "unlisted"},
    )
    assertRedirects(edited, "/u/owner/c/finance/")
    collection = Collection.objects.get()
    assert (collection.title, collection.visibility) == ("Finance picks", "unlisted")

    deleted = signed_in.post("/u/owner/c/finance/delete/")
    assertRedirects(deleted, "/u/owner/collections/")
    assert not Collection.objects.exists()


def test_a_bad_form_is_shown_again_with_400(signed_in):
    response = signed_in.post("/collections/new/", {"title": "", "visibility": "public"})
    assert response.status_code == 400


def test_others_cannot_use_the_owners_forms(client, owner, outsider, workbook):
    collection = CollectionFactory(owner=owner, slug="picks", workbooks=[workbook])
    client.force_login(outsider)
    for action in ("edit", "delete", "move", "remove"):
        response = client.post(
            f"/u/owner/c/picks/{action}/", {"workbook": workbook.pk, "direction": "up"}
        )
        assert response.status_code == 404, action
    assert Collection.objects.filter(pk=collection.pk).exists()


def test_move_up_and_down_without_javascript(signed_in, owner):
    a, b, c = (WorkbookFactory(title=t) for t in "ABC")
    collection = CollectionFactory(owner=owner, slug="picks", workbooks=[a, b, c])

    response = signed_in.post("/u/owner/c/picks/move/", {"workbook": c.pk, "direction": "up"})

    assertRedirects(response, f"/u/owner/c/picks/#item-{c.pk}", fetch_redirect_response=False)
    assert order_of(collection) == ["A", "C", "B"]
    signed_in.post("/u/owner/c/picks/move/", {"workbook": a.pk, "direction": "down"})
    assert order_of(collection) == ["C", "A", "B"]
    page = signed_in.get("/u/owner/c/picks/")
    assertContains(page, "/u/owner/c/picks/move/")
    assertContains(page, f'data-collection-order="{collection.pk}"')


def test_remove_takes_it_out(signed_in, owner, workbook):
    collection = CollectionFactory(owner=owner, slug="picks", workbooks=[workbook])
    response = signed_in.post("/u/owner/c/picks/remove/", {"workbook": workbook.pk})
    assertRedirects(response, "/u/owner/c/picks/", fetch_redirect_response=False)
    assert order_of(collection) == []


def test_the_collect_page_adds_removes_and_makes_a_new_collection(signed_in, owner, outsider):
    WorkbookFactory(author=outsider, title="Churn", slug="churn")
    collection = CollectionFactory(owner=owner, title="Picks")

    page = signed_in.get("/w/churn/collect/")
    assertContains(page, "Picks")
    assertContains(page, 'value="add"')

    signed_in.post("/w/churn/collect/", {"collection": collection.pk, "action": "add"})
    assert order_of(collection) == ["Churn"]
    assertContains(signed_in.get("/w/churn/collect/"), 'value="remove"')
    signed_in.post("/w/churn/collect/", {"collection": collection.pk, "action": "remove"})
    assert order_of(collection) == []

    signed_in.post("/w/churn/collect/", {"title": "Fresh", "visibility": "private"})
    fresh = Collection.objects.get(title="Fresh")
    assert order_of(fresh) == ["Churn"]


def test_the_collect_page_refuses_others_collections_and_asks_visitors_to_sign_in(
    client, owner, outsider, workbook
):
    assert client.get(f"/w/{workbook.slug}/collect/").status_code == 302
    collection = CollectionFactory(owner=owner)
    client.force_login(outsider)
    response = client.post(
        f"/w/{workbook.slug}/collect/", {"collection": collection.pk, "action": "add"}
    )
    assert response.status_code == 404
    assert not CollectionItem.objects.exists()


def test_the_workbook_page_and_cards_link_to_adding_and_load_its_collections(client, workbook):
    CollectionFactory(title="Where it is", workbooks=[workbook])
    CollectionFactory(title="Hidden", visibility="private", workbooks=[workbook])

    page = client.get(workbook.get_absolute_url())
    assertContains(page, f"/w/{workbook.slug}/collect/")
    assertContains(page, f'data-load-collections="/w/{workbook.slug}/collections/"', html=False)
    assertContains(client.get("/explore/"), f"/w/{workbook.slug}/collect/")

    listed = client.get(f"/w/{workbook.slug}/collections/")
    assertContains(listed, "Where it is")
    assertNotContains(listed, "Hidden")


def test_the_home_page_loads_the_featured_collections(client, curator):
    shown = CollectionFactory(title="Curated", workbooks=[WorkbookFactory()])
    FeaturedCollection.objects.create(collection=shown, curated_by=curator)
    CollectionFactory(title="Not featured")

    assertContains(client.get("/"), 'data-load-collections="/collections/"', html=False)
    featured = client.get("/collections/")
    assertContains(featured, "Curated")
    assertNotContains(featured, "Not featured")


def test_a_featuring_out_of_its_window_or_of_a_private_collection_is_not_shown(client):
    now = timezone.now()
    ended = CollectionFactory(title="Ended")
    FeaturedCollection.objects.create(
        collection=ended, starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1)
    )
    private = CollectionFactory(title="Went private")
    FeaturedCollection.objects.create(collection=private)
    private.visibility = "private"
    private.save()

    featured = client.get("/collections/")
    assertNotContains(featured, "Ended")
    assertNotContains(featured, "Went private")


def test_the_atom_feed_lists_a_public_collections_published_workbooks(client, owner, outsider):
    shown = WorkbookFactory(title="In the feed")
    hidden = WorkbookFactory(author=outsider, title="A draft", status="draft")
    collection = CollectionFactory(owner=owner, slug="picks", workbooks=[shown])
    CollectionItem.objects.create(collection=collection, workbook=hidden, position=1)
    CollectionFactory(owner=owner, slug="secret", visibility="unlisted")

    feed = client.get("/feeds/u/owner/c/picks/")

    assert feed.status_code == 200
    assert feed["Content-Type"].startswith("application/atom+xml")
    assertContains(feed, "In the feed")
    assertNotContains(feed, "A draft")
    assert client.get("/feeds/u/owner/c/secret/").status_code == 404


def test_a_curator_features_a_public_collection_in_the_admin(client, curator):
    public = CollectionFactory(title="Public one")
    private = CollectionFactory(title="Private one", visibility="private")
    client.force_login(curator)

    listed = client.get("/admin/social/collection/")
    assertContains(listed, "Public one")
    assertNotContains(listed, "Private one")
    refused = client.post(
        "/admin/social/featuredcollection/add/",
        {
            "collection": private.pk,
            "position": 0,
            "starts_at_0": "2026-01-01",
            "starts_at_1": "00:00",
        },
    )
    assert refused.status_code == 200  # the form again, with the error
    saved = client.post(
        "/admin/social/featuredcollection/add/",
        {
            "collection": public.pk,
            "position": 0,
            "starts_at_0": "2026-01-01",
            "starts_at_1": "00:00",
        },
    )
    assert saved.status_code == 302
    featuring = FeaturedCollection.objects.get()
    assert (featuring.collection, featuring.curated_by) == (public, curator)


def count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries)


def grow(owner, collections: int, per_collection: int) -> None:
    for _ in range(Collection.objects.filter(owner=owner).count(), collections):
        CollectionFactory(
            owner=owner,
            workbooks=[WorkbookFactory(author=UserFactory()) for _ in range(per_collection)],
        )


# (page, queries for a visitor): the member, the page of collections with counts, the covers; a
# collection with its owner, its workbooks with their authors; the featured collections with
# counts, the covers; the workbook, its public collections; the collection, its latest workbooks.
PAGES = [
    ("/u/owner/collections/", 3),
    ("first collection", 2),
    ("/collections/", 2),
    ("workbook collections", 2),
    ("feed", 2),
]


@pytest.mark.parametrize(("url", "expected"), PAGES)
def test_page_query_counts_stay_flat(client, owner, url, expected):
    grow(owner, 2, 2)
    first = Collection.objects.order_by("pk").first()
    for collection in Collection.objects.all():
        FeaturedCollection.objects.get_or_create(collection=collection)
    workbook = first.items.first().workbook
    url = {
        "first collection": first.get_absolute_url(),
        "workbook collections": f"/w/{workbook.slug}/collections/",
        "feed": f"/feeds/u/owner/c/{first.slug}/",
    }.get(url, url)
    few = count(client, url)
    grow(owner, 12, 6)
    for collection in Collection.objects.all():
        FeaturedCollection.objects.get_or_create(collection=collection)
        CollectionItem.objects.get_or_create(
            collection=collection, workbook=workbook, defaults={"position": 99}
        )
    for _ in range(5):
        CollectionItem.objects.create(collection=first, workbook=WorkbookFactory(), position=50)
    many = count(client, url)

    assert few == many == expected


def test_the_new_collection_form_is_rate_limited(signed_in, owner, settings, fresh_minute):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "collection": 1}

    assert (
        signed_in.post("/collections/new/", {"title": "One", "visibility": "public"}).status_code
        == 302
    )
    refused = signed_in.post("/collections/new/", {"title": "Two", "visibility": "public"})

    assert refused.status_code == 429
    assert Collection.objects.filter(owner=owner).count() == 1


def test_collecting_into_a_new_collection_that_is_refused_leaves_no_empty_one(
    signed_in, owner, settings, fresh_minute
):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "collect": 1}
    WorkbookFactory(title="Churn", slug="churn")
    signed_in.post("/w/churn/collect/", {"title": "First", "visibility": "public"})

    WorkbookFactory(title="Other", slug="other")
    refused = signed_in.post("/w/other/collect/", {"title": "Second", "visibility": "public"})

    assert refused.status_code == 429
    assert list(Collection.objects.values_list("title", flat=True)) == ["First"]


def test_the_collection_page_is_paged_and_moves_keep_the_page(signed_in, owner, monkeypatch):
    monkeypatch.setattr("social.collection_views.PAGE_SIZE", 2)
    workbooks = [WorkbookFactory(title=t) for t in "ABCDE"]
    collection = CollectionFactory(owner=owner, slug="picks", workbooks=workbooks)

    first = signed_in.get("/u/owner/c/picks/")
    assert [i.workbook.title for i in first.context["items"]] == ["A", "B"]
    assertContains(first, "5 workbooks")
    assertContains(first, f'data-collection-order="{collection.pk}"')
    second = signed_in.get(f"/u/owner/c/picks/?{first.context['page'].next_query}")
    assert [i.workbook.title for i in second.context["items"]] == ["C", "D"]
    assert [i.workbook.title for i in second.context["cover"]] == ["A", "B", "C", "D"]
    # Dragging sends the shown order, which goes first: only the first page offers it.
    assertNotContains(second, "data-collection-order")

    here = second.context["here"]
    moved = signed_in.post(
        "/u/owner/c/picks/move/",
        {"workbook": workbooks[2].pk, "direction": "up", "next": here},
    )
    assert moved["Location"] == f"{here}#item-{workbooks[2].pk}"
    assert order_of(collection) == ["A", "C", "B", "D", "E"]


@pytest.mark.parametrize("url", ["/collections/", "workbook collections"])
def test_the_lists_pages_load_come_alone_as_a_fragment(client, curator, url):
    workbook = WorkbookFactory()
    shown = CollectionFactory(title="Curated", workbooks=[workbook])
    FeaturedCollection.objects.create(collection=shown, curated_by=curator)
    url = {"workbook collections": f"/w/{workbook.slug}/collections/"}.get(url, url)

    whole = client.get(url)
    fragment = client.get(f"{url}?fragment=1")

    assertContains(whole, "<html", html=False)
    assertContains(fragment, "Curated")
    assertContains(fragment, "data-collections-list", html=False)
    assertNotContains(fragment, "<html", html=False)
    assertNotContains(fragment, "<nav", html=False)
    assert count(client, f"{url}?fragment=1") == 2  # the list alone: no frame to render


def test_the_collect_page_query_count_stays_flat_as_the_members_collections_grow(
    signed_in, owner, workbook
):
    url = f"/w/{workbook.slug}/collect/"
    CollectionFactory(owner=owner)
    signed_in.get(url)  # the first request also reads the session and the bell, kept afterwards
    few = count(signed_in, url)
    for _ in range(5):
        CollectionFactory(owner=owner)
    many = count(signed_in, url)

    assert few == many
