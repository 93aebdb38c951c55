"""Collection reads: each function returns what a page or list needs in a fixed number of queries.

A collection may hold workbooks that are not published (its owner's own drafts, or someone else's
workbook unpublished since it was added). Only published workbooks are shown to anyone, except that
the owner sees their own drafts in their own collections: someone else's draft never appears.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery

from accounts.models import User
from workbooks.models import Workbook, public

from .models import Collection, CollectionItem, FeaturedCollection

# How many thumbnails make a collection's cover.
COVER_SIZE = 4
# How many public collections the workbook page lists, and the home page features.
LISTED = 12

Viewer = User | AnonymousUser


def shown_items(viewer: Viewer, prefix: str = "") -> Q:
    """The collection items `viewer` sees, as a filter on CollectionItem (or, with
    prefix="items__", on Collection): published workbooks, and the owner's own drafts for them."""
    published = public(f"{prefix}workbook__")
    if not viewer.is_authenticated:
        return published
    owner = "owner" if prefix else "collection__owner"
    return published | Q(**{f"{prefix}workbook__author": viewer, owner: viewer})


def _cover(viewer: Viewer) -> Prefetch:
    items = (
        CollectionItem.objects.filter(shown_items(viewer))
        .select_related("workbook")
        .only(
            "collection_id",
            "position",
            "workbook__id",
            "workbook__slug",
            "workbook__title",
            "workbook__thumbnail",
        )
        .order_by("position", "id")
    )
    return Prefetch("items", queryset=items[:COVER_SIZE], to_attr="cover_items")


def with_listing(collections: QuerySet[Collection], viewer: Viewer) -> QuerySet[Collection]:
    """What a list shows of each collection: its owner, how many workbooks the viewer sees in it
    and its cover (one query for the page, one for the covers)."""
    return (
        collections.select_related("owner")
        .annotate(
            workbook_count=Count("items", filter=shown_items(viewer, prefix="items__")),
        )
        .prefetch_related(_cover(viewer))
    )


def by_id(viewer: Viewer) -> QuerySet[Collection]:
    """The collections `viewer` may reach by id (the API's /collections/{id}/): public ones and
    their own. Someone else's unlisted collection is shared by its page's address only, so ids
    counted one by one must not find it."""
    return Collection.objects.listed_for(viewer)


def visible(viewer: Viewer) -> QuerySet[Collection]:
    """Every collection `viewer` may reach by id, as the API shows each."""
    return with_listing(by_id(viewer), viewer)


def of_member(viewer: Viewer, owner: User) -> QuerySet[Collection]:
    """A member's collections as `viewer` sees them listed: the public ones, or all for the owner."""
    collections = Collection.objects.listed_for(viewer).filter(owner=owner)
    return with_listing(collections, viewer).order_by("-updated_at", "-id")


def page(viewer: Viewer, username: str, slug: str) -> Collection:
    """The collection page's object with its owner and `workbook_count` (the workbooks the viewer
    sees in it); raises Collection.DoesNotExist."""
    return (
        Collection.objects.visible_to(viewer)
        .select_related("owner")
        .annotate(workbook_count=Count("items", filter=shown_items(viewer, prefix="items__")))
        .get(owner__username__iexact=username, slug=slug)
    )


def items_query(collection: Collection, viewer: Viewer) -> QuerySet[CollectionItem]:
    """The collection's workbooks `viewer` sees, in order, with their authors (for paging)."""
    return (
        collection.items.filter(shown_items(viewer))
        .select_related("workbook__author")
        .defer("workbook__description", "workbook__description_html")
        .order_by("position", "id")
    )


def items_of(collection: Collection, viewer: Viewer) -> list[CollectionItem]:
    """The collection's workbooks `viewer` sees, in order, with their authors: one query."""
    return list(items_query(collection, viewer))


def cover_of(collection: Collection, viewer: Viewer) -> list[CollectionItem]:
    """The first workbooks `viewer` sees in the collection, for its cover: one query."""
    return list(items_query(collection, viewer)[:COVER_SIZE])


def public_with(workbook: Workbook) -> list[Collection]:
    """The public collections of active members that hold this published workbook, latest changed
    first."""
    if not workbook.is_public:
        return []
    return list(
        Collection.objects.filter(
            visibility=Collection.Visibility.PUBLIC,
            owner__is_active=True,
            items__workbook=workbook,
        )
        .select_related("owner")
        .order_by("-updated_at", "-id")[:LISTED]
    )


def choices_for(viewer: User, workbook: Workbook) -> list[Collection]:
    """The viewer's collections, each with `has_workbook`: whether it holds this workbook, and
    its owner (each links to its page, whose address names the owner)."""
    holds = CollectionItem.objects.filter(collection=OuterRef("pk"), workbook=workbook)
    return list(
        Collection.objects.filter(owner=viewer)
        .select_related("owner")
        .annotate(has_workbook=Exists(holds))
        .order_by("title", "id")
    )


def featured(viewer: Viewer, limit: int = LISTED) -> list[Collection]:
    """The collections featured now, in curated order: public ones of active members only."""
    picks = (
        FeaturedCollection.objects.open()
        .filter(collection=OuterRef("pk"))
        .order_by("position", "-starts_at")
    )
    shown = Collection.objects.filter(
        Exists(picks), visibility=Collection.Visibility.PUBLIC, owner__is_active=True
    )
    return list(
        with_listing(shown, viewer)
        .annotate(feature_position=Subquery(picks.values("position")[:1]))
        .order_by("feature_position", "-updated_at", "-id")[:limit]
    )


def feed_items(collection: Collection) -> list[CollectionItem]:
    """A public collection's feed: the latest added of its published workbooks, with authors."""
    return list(
        collection.items.filter(shown_items(AnonymousUser()))
        .select_related("workbook__author")
        .order_by("-added_at", "-id")[:30]
    )
