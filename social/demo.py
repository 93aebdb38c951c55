"""Demo collections for `make run` (seed_demo): public ones in an order, one unlisted, one private,
and one featured on the home page."""

from __future__ import annotations

from accounts.models import User
from workbooks.models import Workbook

from . import collection_services
from .models import Collection, FeaturedCollection

PUBLIC = Collection.Visibility.PUBLIC
DEMO_COLLECTIONS = [
    # owner, title, visibility, description, workbook titles in their order
    (
        "ada",
        "Finance essentials",
        PUBLIC,
        "Where the money comes from and where it goes: start here for revenue and spend.",
        [
            "Quarterly revenue by region",
            "Cloud spend by team",
            "Pipeline coverage",
            "Marketing attribution",
        ],
    ),
    (
        "grace",
        "Running the operation",
        PUBLIC,
        "Queues, stock and hiring: the workbooks an operations team opens every morning.",
        ["Support queue health", "Inventory days of supply", "Hiring funnel"],
    ),
    (
        "katherine",
        "Public data to explore",
        PUBLIC,
        "Open data sets, ready to filter and drill into.",
        ["Flight delays, 2015 to 2024", "Energy mix of the grid", "Launch window calculator"],
    ),
    (
        "katherine",
        "Examples for workshop attendees",
        Collection.Visibility.UNLISTED,
        "Shared by its address with the people in the room.",
        ["Launch window calculator", "A workbook that fails to load"],
    ),
    (
        "ada",
        "Reading list",
        Collection.Visibility.PRIVATE,
        "To look at more closely later.",
        ["Support queue health", "Energy mix of the grid"],
    ),
]
FEATURED_TITLE = "Finance essentials"


def ensure_demo_collections(users: dict[str, User], curator: User) -> int:
    """Create the demo collections that are missing (found by owner and title, as the demo's
    workbooks are) and feature one; returns how many were created. A collection that exists
    is left as it is, so a re-run adds nothing and keeps what a developer changed."""
    created = 0
    for owner, title, visibility, description, titles in DEMO_COLLECTIONS:
        if Collection.objects.filter(owner=users[owner], title=title).exists():
            continue
        workbooks = {
            workbook.title: workbook
            for workbook in Workbook.objects.published().filter(
                author__in=list(users.values()), title__in=titles
            )
        }
        collection = collection_services.create(
            users[owner], title=title, description=description, visibility=visibility
        )
        for workbook_title in titles:  # each is put last: the list's order is the collection's
            if workbook_title in workbooks:
                collection_services.add(users[owner], collection, workbooks[workbook_title])
        created += 1
    _feature(users, curator)
    return created


def _feature(users: dict[str, User], curator: User) -> None:
    """Feature one public collection on the home page from now until unfeatured, as the demo
    features workbooks: only while nothing is featured, so a curator's own picks are kept."""
    if FeaturedCollection.objects.exists():
        return
    owner = next(row[0] for row in DEMO_COLLECTIONS if row[1] == FEATURED_TITLE)
    collection = Collection.objects.filter(
        owner=users[owner], title=FEATURED_TITLE, visibility=PUBLIC
    ).first()
    if collection is not None:
        FeaturedCollection.objects.create(
            collection=collection,
            position=1,
            note="Four workbooks that tell a finance team's story.",
            curated_by=curator,
        )
