"""Collection writes, shared by the pages, the API and the admin: one transaction each.

Callers find the collection through `Collection.objects.editable_by(user)`; each function checks
ownership again, so a caller that forgets cannot change someone else's collection. No kept page
shows collections (the workbook and home pages load theirs after the page), so these writes have no
gallery cache to retire.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.text import slugify

from accounts.models import User
from workbooks.models import Workbook

from . import services
from .models import Collection, CollectionItem, Verb

SLUG_BASE_LENGTH = 100
# How many numbered slugs (`base-2`, `base-3`, ...) one query tries before a random suffix.
SLUG_CANDIDATES = 50
# At most this many workbooks in one collection: its page, its order and its feed stay bounded.
MAX_WORKBOOKS = 500
NOT_YOURS = "Only its owner may change a collection."


def _check_owner(user: User, collection: Collection) -> None:
    if collection.owner_id != user.pk:
        raise PermissionDenied(NOT_YOURS)


def _clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationError("Give the collection a title.", code="blank")
    if len(title) > Collection.TITLE_MAX_LENGTH:
        raise ValidationError(
            f"Keep the title under {Collection.TITLE_MAX_LENGTH} characters.", code="max_length"
        )
    return title


def _clean_description(description: str) -> str:
    description = (description or "").strip()
    if len(description) > Collection.DESCRIPTION_MAX_LENGTH:
        raise ValidationError(
            f"Keep the description under {Collection.DESCRIPTION_MAX_LENGTH:,} characters.",
            code="max_length",
        )
    return description


def _clean_visibility(visibility: str) -> str:
    if visibility not in Collection.Visibility.values:
        raise ValidationError("Choose public, unlisted or private.", code="invalid_choice")
    return visibility


def _free_slug(owner: User, title: str) -> str:
    """The title's slug, with a number after it if the owner already has one like it.

    One query over a bounded set of candidates (however many of the owner's slugs share the
    base); if every numbered one is taken, a random suffix."""
    base = slugify(title)[:SLUG_BASE_LENGTH].strip("-") or "collection"
    candidates = [base, *(f"{base}-{n}" for n in range(2, SLUG_CANDIDATES + 1))]
    taken = set(
        Collection.objects.filter(owner=owner, slug__in=candidates).values_list("slug", flat=True)
    )
    for slug in candidates:
        if slug not in taken:
            return slug
    return f"{base}-{get_random_string(8).lower()}"


def create(
    owner: User,
    *,
    title: str,
    description: str = "",
    visibility: str = Collection.Visibility.PUBLIC,
) -> Collection:
    """A new collection; at most settings.SOCIAL_RATE_LIMITS["collection"] per member per minute."""
    fields = {
        "title": _clean_title(title),
        "description": _clean_description(description),
        "visibility": _clean_visibility(visibility),
    }
    services.check_rate(owner, "collection")
    for _ in range(3):  # two members' requests may take the same slug at once: the loser retries
        try:
            with transaction.atomic():
                return Collection.objects.create(
                    owner=owner, slug=_free_slug(owner, fields["title"]), **fields
                )
        except IntegrityError:
            continue
    raise ValidationError("Try again in a moment.", code="slug_taken")


def create_with(
    owner: User,
    workbook: Workbook,
    *,
    title: str,
    description: str = "",
    visibility: str = Collection.Visibility.PUBLIC,
) -> Collection:
    """A new collection holding this workbook, in one transaction: when the workbook is refused
    (or the adding is rate-limited), no empty collection is left behind."""
    with transaction.atomic():
        collection = create(owner, title=title, description=description, visibility=visibility)
        add(owner, collection, workbook)
    return collection


def update(user: User, collection: Collection, **changes: str) -> Collection:
    """Change the title, description or visibility. The slug stays: addresses keep working."""
    _check_owner(user, collection)
    cleaners = {
        "title": _clean_title,
        "description": _clean_description,
        "visibility": _clean_visibility,
    }
    for field, value in changes.items():
        setattr(collection, field, cleaners[field](value))
    collection.save(update_fields=[*changes, "updated_at"])
    return collection


def delete(user: User, collection: Collection) -> None:
    _check_owner(user, collection)
    collection.delete()


def _touch(collection: Collection) -> None:
    collection.updated_at = timezone.now()
    Collection.objects.filter(pk=collection.pk).update(updated_at=collection.updated_at)


def _lock(collection: Collection) -> None:
    """Lock the collection's row until the transaction ends: two adds (or an add and a reorder)
    then take turns, so neither computes its positions from a state the other is changing."""
    Collection.objects.select_for_update().filter(pk=collection.pk).values_list("pk").first()


def _told_key(user: User, collection: Collection, workbook_id: int) -> str:
    return f"collected:{user.pk}:{collection.pk}:{workbook_id}"


def add(user: User, collection: Collection, workbook: Workbook) -> bool:
    """Put the workbook last in the collection (idempotent); True when it was not there yet.

    Someone else's unpublished workbook is refused, and so is a workbook beyond MAX_WORKBOOKS.
    Adding someone else's workbook to a public collection tells its author (`collected`,
    muteable), once per collection and workbook within the undo window: taking it out and putting
    it back does not tell them again."""
    _check_owner(user, collection)
    if not workbook.is_public and workbook.author_id != user.pk:
        raise ValidationError(
            "Only published workbooks can be added to a collection.", code="not_published"
        )
    with transaction.atomic():
        _lock(collection)
        if CollectionItem.objects.filter(collection=collection, workbook=workbook).exists():
            return False
        services.check_rate(user, "collect")
        stats = collection.items.aggregate(last=Max("position"), count=Count("id"))
        if stats["count"] >= MAX_WORKBOOKS:
            raise ValidationError(
                f"A collection holds at most {MAX_WORKBOOKS} workbooks.", code="collection_full"
            )
        last = stats["last"]
        # Every add holds the collection's row lock: the item checked missing above stays missing.
        CollectionItem.objects.create(
            collection=collection,
            workbook=workbook,
            position=0 if last is None else last + 1,
        )
        _touch(collection)
        if collection.is_public and workbook.is_public and workbook.author_id != user.pk:
            _notify_collected(user, collection, workbook)
    return True


def _notify_collected(user: User, collection: Collection, workbook: Workbook) -> None:
    """Tell the author, unless this collection already did within the undo window."""
    key = _told_key(user, collection, workbook.pk)
    if cache.get(key):
        return
    services.notify(workbook.author_id, user, Verb.COLLECTED, workbook=workbook)
    # Marked once committed: a rolled-back add told nobody, and must not silence the next one.
    window = int(services.UNDO_WINDOW.total_seconds())
    transaction.on_commit(lambda: cache.set(key, True, timeout=window), robust=True)


def remove(user: User, collection: Collection, workbook: Workbook | int) -> bool:
    """Take the workbook out of the collection (idempotent); True when it was there.

    Within the undo window this takes back the `collected` notification the adding sent, unless
    another of the member's public collections still holds the workbook."""
    _check_owner(user, collection)
    workbook_id = workbook if isinstance(workbook, int) else workbook.pk
    with transaction.atomic():
        _lock(collection)
        deleted, _ = CollectionItem.objects.filter(
            collection=collection, workbook_id=workbook_id
        ).delete()
        if deleted:
            _touch(collection)
            _retract_collected(user, workbook_id)
    return bool(deleted)


def _retract_collected(user: User, workbook_id: int) -> None:
    still_collected = CollectionItem.objects.filter(
        collection__owner=user,
        collection__visibility=Collection.Visibility.PUBLIC,
        workbook_id=workbook_id,
    ).exists()
    if still_collected:
        return
    workbook = Workbook.objects.only("id", "author_id").filter(pk=workbook_id).first()
    if workbook is not None:
        services._retract(workbook.author_id, user, Verb.COLLECTED, workbook)


def reorder(user: User, collection: Collection, workbook_ids: Iterable[int]) -> None:
    """Put these workbooks first, in this order; the others keep their order after them.

    Each id must be in the collection, and only once."""
    _check_owner(user, collection)
    wanted = list(workbook_ids)
    if len(set(wanted)) != len(wanted):
        raise ValidationError("A workbook is listed twice.", code="duplicate")
    with transaction.atomic():
        _lock(collection)
        items = list(
            collection.items.select_for_update()
            .order_by("position", "id")
            .only("id", "workbook_id", "position")
        )
        by_workbook = {item.workbook_id: item for item in items}
        missing = [pk for pk in wanted if pk not in by_workbook]
        if missing:
            raise ValidationError(
                f"Not in this collection: {', '.join(map(str, missing))}.",
                code="not_in_collection",
            )
        first = set(wanted)
        ordered = [by_workbook[pk] for pk in wanted] + [
            item for item in items if item.workbook_id not in first
        ]
        for position, item in enumerate(ordered):
            item.position = position
        CollectionItem.objects.bulk_update(ordered, ["position"])
        _touch(collection)


def move(
    user: User, collection: Collection, workbook_id: int, offset: int, shown: list[int]
) -> None:
    """Move a workbook one place up (offset -1) or down (+1) among those the owner sees (`shown`,
    in order): the forms' way to reorder without JavaScript."""
    if workbook_id not in shown:
        raise ValidationError("That workbook is not in this collection.", code="not_in_collection")
    index = shown.index(workbook_id)
    target = index + offset
    if not 0 <= target < len(shown):
        return  # already first (or last)
    order = list(shown)
    order[index], order[target] = order[target], order[index]
    reorder(user, collection, order)
