"""Rows of every kind the insights count, written directly: the services that write them are
tested where they live; here what matters is what is read back, and on which day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import cast

from django.utils import timezone

from accounts.models import User
from social.models import Collection, CollectionItem, Comment, Favorite
from tests.factories import UserFactory
from workbooks.models import DailyActivity, DailyReferrer, EmbedHealth, Workbook


def someone() -> User:
    """A new member (factory_boy types what it makes as the factory)."""
    return cast("User", UserFactory())


def today() -> date:
    return timezone.now().date()


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def activity(workbook: Workbook, days_ago: int, *, views=0, favorites=0, comments=0, adds=0,
             loads=0, errors=0, timeouts=0, referrers=None) -> None:  # fmt: skip
    """On the day `days_ago` days before today: these counts for `workbook`."""
    day = today() - timedelta(days=days_ago)
    if views:
        DailyActivity.objects.create(workbook=workbook, day=day, views=views)
    for _ in range(favorites):
        favorite = Favorite.objects.create(user=someone(), workbook=workbook)
        Favorite.objects.filter(pk=favorite.pk).update(created_at=at_noon(day))
    for _ in range(comments):
        comment = Comment.objects.create(author=someone(), workbook=workbook, body="Nice")
        Comment.objects.filter(pk=comment.pk).update(created_at=at_noon(day))
    for _ in range(adds):
        collection = Collection.objects.create(owner=someone(), title="Picks", slug="picks")
        item = CollectionItem.objects.create(collection=collection, workbook=workbook, position=0)
        CollectionItem.objects.filter(pk=item.pk).update(added_at=at_noon(day))
    if loads or errors or timeouts:
        EmbedHealth.objects.create(
            workbook=workbook, day=day, loads=loads, errors=errors, timeouts=timeouts
        )
    for domain, views_from in (referrers or {}).items():
        DailyReferrer.objects.create(workbook=workbook, day=day, domain=domain, views=views_from)
