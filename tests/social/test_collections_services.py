"""Collections' rules, in the services and selectors every page and the API share: who may change
a collection, which workbooks go in and who sees them, the order, and the `collected` notification."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from social import collection_selectors as selectors
from social import collection_services as services
from social import sentences
from social import services as social_services
from social.models import Collection, CollectionItem, MutedVerb, Notification, Verb
from tests.factories import CollectionFactory, UserFactory, WorkbookFactory
from workbooks import services as workbook_services
from workbooks.models import Workbook

pytestmark = pytest.mark.django_db


def titles(items) -> list[str]:
    return [item.workbook.title for item in items]


def test_create_makes_a_slug_of_the_title_unique_for_its_owner(owner, outsider):
    first = services.create(owner, title="Best of finance")
    second = services.create(owner, title="Best of finance")
    others = services.create(outsider, title="Best of finance")

    assert (first.slug, second.slug, others.slug) == (
        "best-of-finance",
        "best-of-finance-2",
        "best-of-finance",
    )
    assert first.visibility == Collection.Visibility.PUBLIC


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"title": "  "}, "blank"),
        ({"title": "x" * 121}, "max_length"),
        ({"title": "Ok", "description": "x" * 2001}, "max_length"),
        ({"title": "Ok", "visibility": "secret"}, "invalid_choice"),
    ],
)
def test_create_refuses_what_the_rules_refuse(owner, fields, code):
    with pytest.raises(ValidationError) as refused:
        services.create(owner, **fields)
    assert refused.value.code == code


def test_only_the_owner_changes_a_collection(owner, outsider, workbook):
    collection = CollectionFactory(owner=owner)
    for change in (
        lambda: services.update(outsider, collection, title="Mine now"),
        lambda: services.add(outsider, collection, workbook),
        lambda: services.remove(outsider, collection, workbook),
        lambda: services.reorder(outsider, collection, []),
        lambda: services.delete(outsider, collection),
    ):
        with pytest.raises(PermissionDenied):
            change()
    assert Collection.objects.get(pk=collection.pk).title == collection.title


def test_update_keeps_the_slug(owner):
    collection = services.create(owner, title="Draft title")
    services.update(owner, collection, title="Final title", visibility="unlisted")
    collection.refresh_from_db()
    assert (collection.title, collection.slug, collection.visibility) == (
        "Final title",
        "draft-title",
        "unlisted",
    )


def test_add_and_remove_are_idempotent_and_add_puts_it_last(owner):
    collection = CollectionFactory(owner=owner)
    first, second = WorkbookFactory(title="First"), WorkbookFactory(title="Second")

    assert services.add(owner, collection, first) is True
    assert services.add(owner, collection, second) is True
    assert services.add(owner, collection, first) is False
    assert titles(selectors.items_of(collection, owner)) == ["First", "Second"]

    assert services.remove(owner, collection, first) is True
    assert services.remove(owner, collection, first) is False
    assert titles(selectors.items_of(collection, owner)) == ["Second"]


def test_someone_elses_draft_is_refused_but_your_own_goes_in(owner, outsider):
    collection = CollectionFactory(owner=owner)
    theirs = WorkbookFactory(author=outsider, status="draft")
    mine = WorkbookFactory(author=owner, title="My draft", status="draft")

    with pytest.raises(ValidationError) as refused:
        services.add(owner, collection, theirs)
    assert refused.value.code == "not_published"
    services.add(owner, collection, mine)

    # The owner sees their own draft in their collection; nobody else does.
    assert titles(selectors.items_of(collection, owner)) == ["My draft"]
    assert selectors.items_of(collection, outsider) == []
    assert selectors.items_of(collection, AnonymousUser()) == []


def test_a_workbook_unpublished_later_disappears_from_others_views(owner, outsider):
    theirs = WorkbookFactory(author=outsider, title="Theirs")
    collection = CollectionFactory(owner=owner, workbooks=[theirs])
    assert titles(selectors.items_of(collection, AnonymousUser())) == ["Theirs"]

    workbook_services.unpublish(Workbook.objects.filter(pk=theirs.pk))

    for viewer in (owner, outsider, AnonymousUser(), UserFactory()):
        assert selectors.items_of(collection, viewer) == [], viewer
    listed = selectors.of_member(owner, owner).get()
    assert (listed.workbook_count, listed.cover_items) == (0, [])


def test_reorder_puts_the_named_first_and_keeps_the_rest_after(owner):
    a, b, c, d = (WorkbookFactory(title=t) for t in "ABCD")
    collection = CollectionFactory(owner=owner, workbooks=[a, b, c, d])

    services.reorder(owner, collection, [c.pk, a.pk])

    assert titles(selectors.items_of(collection, owner)) == ["C", "A", "B", "D"]


@pytest.mark.parametrize("problem", ["not_in_collection", "duplicate"])
def test_reorder_refuses_unknown_and_repeated_ids(owner, problem):
    a, b = WorkbookFactory(), WorkbookFactory()
    collection = CollectionFactory(owner=owner, workbooks=[a])
    ids = [a.pk, b.pk] if problem == "not_in_collection" else [a.pk, a.pk]

    with pytest.raises(ValidationError) as refused:
        services.reorder(owner, collection, ids)
    assert refused.value.code == problem


def test_move_swaps_with_the_neighbour_and_stops_at_the_ends(owner):
    a, b, c = (WorkbookFactory(title=t) for t in "ABC")
    collection = CollectionFactory(owner=owner, workbooks=[a, b, c])
    shown = [a.pk, b.pk, c.pk]

    services.move(owner, collection, c.pk, -1, shown)
    assert titles(selectors.items_of(collection, owner)) == ["A", "C", "B"]
    services.move(owner, collection, a.pk, -1, [a.pk, c.pk, b.pk])
    assert titles(selectors.items_of(collection, owner)) == ["A", "C", "B"]


def test_adding_someones_workbook_to_a_public_collection_tells_them(owner, outsider):
    theirs = WorkbookFactory(author=outsider)
    collection = CollectionFactory(owner=owner)

    services.add(owner, collection, theirs)

    told = Notification.objects.get(recipient=outsider)
    assert (told.actor, told.verb, told.workbook) == (owner, Verb.COLLECTED, theirs)


@pytest.mark.parametrize("case", ["own workbook", "private", "unlisted", "muted"])
def test_collected_is_not_sent_for_your_own_work_a_hidden_collection_or_when_muted(
    owner, outsider, case
):
    author = owner if case == "own workbook" else outsider
    visibility = case if case in ("private", "unlisted") else "public"
    if case == "muted":
        MutedVerb.objects.create(user=outsider, verb=Verb.COLLECTED)
    collection = CollectionFactory(owner=owner, visibility=visibility)

    services.add(owner, collection, WorkbookFactory(author=author))

    assert not Notification.objects.exists()


def test_the_collected_and_embed_failing_notifications_read_as_sentences(owner, outsider):
    workbook = WorkbookFactory(author=outsider, title="Churn <b>")
    collected = Notification(
        recipient=outsider, actor=owner, verb=Verb.COLLECTED, workbook=workbook
    )
    failing = Notification(recipient=outsider, verb=Verb.EMBED_FAILING, workbook=workbook)

    assert sentences.notification_sentence(collected) == (
        f'<a href="/u/{owner.username}/">{owner.display_name}</a> added '
        f'<a href="/w/{workbook.slug}/">Churn &lt;b&gt;</a> to a collection'
    )
    assert sentences.notification_sentence(failing) == (
        f'The embed of <a href="/w/{workbook.slug}/">Churn &lt;b&gt;</a> is failing for readers'
    )


def test_visibility_decides_who_opens_and_who_sees_it_listed(owner, outsider):
    public, unlisted, private = (
        CollectionFactory(owner=owner, visibility=v) for v in ("public", "unlisted", "private")
    )

    opened = set(Collection.objects.visible_to(outsider))
    listed = set(Collection.objects.listed_for(outsider).filter(owner=owner))

    assert opened == {public, unlisted}
    assert listed == {public}
    assert set(Collection.objects.listed_for(owner)) == {public, unlisted, private}
    assert set(Collection.objects.editable_by(outsider)) == set()
    assert set(Collection.objects.editable_by(owner)) == {public, unlisted, private}


def test_public_with_lists_only_public_collections_of_a_published_workbook(owner, workbook):
    shown = CollectionFactory(owner=owner, title="Shown", workbooks=[workbook])
    CollectionFactory(owner=owner, visibility="private", workbooks=[workbook])
    CollectionFactory(owner=UserFactory(is_active=False), workbooks=[workbook])

    assert selectors.public_with(workbook) == [shown]


def collected(recipient) -> int:
    return Notification.objects.filter(recipient=recipient, verb=Verb.COLLECTED).count()


def test_removing_takes_back_the_collected_notification_and_adding_again_does_not_repeat_it(
    owner, outsider, django_capture_on_commit_callbacks
):
    theirs = WorkbookFactory(author=outsider)
    collection = CollectionFactory(owner=owner)

    with django_capture_on_commit_callbacks(execute=True):
        services.add(owner, collection, theirs)
    assert collected(outsider) == 1
    services.remove(owner, collection, theirs)
    assert collected(outsider) == 0
    for _ in range(3):
        services.add(owner, collection, theirs)
        assert collected(outsider) == 0  # within the undo window: not told again
        services.remove(owner, collection, theirs.pk)


def test_a_workbook_still_in_another_public_collection_keeps_its_notification(owner, outsider):
    theirs = WorkbookFactory(author=outsider)
    first, second = CollectionFactory(owner=owner), CollectionFactory(owner=owner)
    services.add(owner, first, theirs)
    services.add(owner, second, theirs)
    assert collected(outsider) == 2  # two collections, each told once

    services.remove(owner, first, theirs)
    assert collected(outsider) == 2  # still collected in the second

    services.remove(owner, second, theirs)
    assert collected(outsider) == 0


def test_a_notification_older_than_the_undo_window_stays(owner, outsider):
    theirs = WorkbookFactory(author=outsider)
    collection = CollectionFactory(owner=owner)
    services.add(owner, collection, theirs)
    Notification.objects.update(created_at=timezone.now() - social_services.UNDO_WINDOW * 2)

    services.remove(owner, collection, theirs)

    assert collected(outsider) == 1


def test_a_collection_holds_at_most_max_workbooks(owner, monkeypatch):
    monkeypatch.setattr(services, "MAX_WORKBOOKS", 2)
    collection = CollectionFactory(owner=owner, workbooks=[WorkbookFactory(), WorkbookFactory()])

    with pytest.raises(ValidationError) as refused:
        services.add(owner, collection, WorkbookFactory())

    assert refused.value.code == "collection_full"
    assert collection.items.count() == 2


def test_creating_collections_is_rate_limited(owner, settings, fresh_minute):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "collection": 2}
    services.create(owner, title="One")
    services.create(owner, title="Two")

    with pytest.raises(social_services.RateLimited):
        services.create(owner, title="Three")

    assert Collection.objects.filter(owner=owner).count() == 2


def test_create_with_a_refused_add_leaves_no_empty_collection(owner, settings, fresh_minute):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "collect": 1}
    services.add(owner, CollectionFactory(owner=owner), WorkbookFactory())

    with pytest.raises(social_services.RateLimited):
        services.create_with(owner, WorkbookFactory(), title="New one")

    assert not Collection.objects.filter(owner=owner, title="New one").exists()


def test_free_slug_reads_one_bounded_query_however_many_slugs_share_the_base(owner):
    for n in range(1, 80):
        CollectionFactory(owner=owner, title="Maps", slug="maps" if n == 1 else f"maps-{n}")
    CollectionFactory(owner=owner, slug="maps-of-the-world")

    with CaptureQueriesContext(connection) as captured:
        slug = services._free_slug(owner, "Maps")

    assert len(captured.captured_queries) == 1
    assert "LIKE" not in captured.captured_queries[0]["sql"].upper()
    assert slug.startswith("maps-")
    assert not Collection.objects.filter(slug=slug).exists()
    assert services._free_slug(owner, "Maps of the") == "maps-of-the"


@pytest.mark.postgres  # row locks: SQLite has none to take
def test_add_and_reorder_lock_the_collection_row(owner):
    collection = CollectionFactory(owner=owner, workbooks=[WorkbookFactory()])

    for change in (
        lambda: services.add(owner, collection, WorkbookFactory()),
        lambda: services.reorder(owner, collection, []),
    ):
        with CaptureQueriesContext(connection) as captured:
            change()
        table = Collection._meta.db_table
        assert any(
            f'FROM "{table}"' in q["sql"] and "FOR UPDATE" in q["sql"]
            for q in captured.captured_queries
        )


def test_add_looks_for_the_workbook_in_the_collection_once(owner):
    collection = CollectionFactory(owner=owner, workbooks=[WorkbookFactory()])
    workbook = WorkbookFactory()
    table = CollectionItem._meta.db_table

    with CaptureQueriesContext(connection) as captured:
        assert services.add(owner, collection, workbook)

    lookups = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT")
        and f'FROM "{table}"' in q["sql"]
        and '"workbook_id" = ' in q["sql"]
    ]
    assert len(lookups) == 1
    assert services.add(owner, collection, workbook) is False
