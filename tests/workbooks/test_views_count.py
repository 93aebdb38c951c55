"""View counters are counted exactly once: flushes that overlap share the pending views instead of
each counting all of them, and favoriting while a flush runs never deadlocks.

Each flush or favorite here runs in its own thread with its own connection, closed when it is done."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from social import services as social
from tests.factories import UserFactory, WorkbookFactory
from tests.threads import in_parallel
from workbooks import services, tasks
from workbooks.models import DailyActivity, PendingView, Workbook


def pend_views(workbooks: list[Workbook], total: int) -> dict[tuple[int, object], int]:
    """`total` pending views spread over the workbooks, today and yesterday; returns how many each
    workbook and day should be counted."""
    today = timezone.now().replace(hour=12)
    days = [today, today - timedelta(days=1)]
    views = [
        PendingView(workbook=workbooks[i % len(workbooks)], viewed_at=days[(i // 7) % 2])
        for i in range(total)
    ]
    PendingView.objects.bulk_create(views, batch_size=5000)
    expected: dict[tuple[int, object], int] = {}
    for view in views:
        key = (view.workbook_id, view.viewed_at.date())
        expected[key] = expected.get(key, 0) + 1
    return expected


def counted(workbooks: list[Workbook]) -> tuple[dict[int, int], dict[tuple[int, object], int]]:
    views = dict(
        Workbook.objects.filter(pk__in=[w.pk for w in workbooks]).values_list("pk", "view_count")
    )
    activity = {(row.workbook_id, row.day): row.views for row in DailyActivity.objects.all()}
    return views, activity


def per_workbook(expected: dict[tuple[int, object], int]) -> dict[int, int]:
    totals: dict[int, int] = {}
    for (workbook_id, _day), views in expected.items():
        totals[workbook_id] = totals.get(workbook_id, 0) + views
    return totals


@pytest.mark.django_db
def test_refreshing_trending_leaves_pending_views_to_the_view_flush():
    workbook = WorkbookFactory()
    PendingView.objects.create(workbook=workbook)

    tasks.refresh_trending()

    workbook.refresh_from_db()
    assert workbook.view_count == 0
    assert PendingView.objects.filter(workbook=workbook).count() == 1


@pytest.mark.django_db
def test_a_flush_counts_more_than_one_batch_in_one_run(monkeypatch):
    workbooks = WorkbookFactory.create_batch(3)
    expected = pend_views(workbooks, 25)
    monkeypatch.setattr(services, "FLUSH_BATCH", 10)

    assert services.flush_pending_views() == 25

    assert counted(workbooks) == (per_workbook(expected), expected)
    assert not PendingView.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_flushes_at_once_count_each_view_once_on_any_database():
    # SQLite runs one write transaction at a time; PostgreSQL shares the views between flushes.
    workbooks = WorkbookFactory.create_batch(10)
    expected = pend_views(workbooks, 2_000)

    results = in_parallel([services.flush_pending_views, services.flush_pending_views])

    # Each view is claimed by one flush: on SQLite one flush takes them all, on PostgreSQL the two may
    # share them (SKIP LOCKED), never count one twice.
    assert all(isinstance(result, int) for result in results), results
    assert sum(results) == 2_000
    assert counted(workbooks) == (per_workbook(expected), expected)
    assert not PendingView.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_flushes_at_once_count_twenty_thousand_views_once_on_postgresql():
    workbooks = WorkbookFactory.create_batch(50)
    expected = pend_views(workbooks, 20_000)

    results = in_parallel([services.flush_pending_views, services.flush_pending_views])

    assert all(isinstance(result, int) for result in results), results
    assert sum(results) == 20_000
    views, activity = counted(workbooks)
    assert sum(views.values()) == 20_000
    assert (views, activity) == (per_workbook(expected), expected)
    assert not PendingView.objects.exists()


def waiting_on_a_lock() -> bool:
    """Another connection to this database waits for a row lock (asked on this connection)."""
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL answers from the snapshot it took at the first look.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_flush_starting_while_a_favorite_holds_the_workbook_row_waits_instead_of_deadlocking(
    monkeypatch,
):
    workbook = WorkbookFactory()
    member = UserFactory()
    expected = pend_views([workbook], 30)
    holding_the_row = threading.Event()
    real_daily_favorites = social._daily_favorites

    def daily_favorites_once_the_flush_waits(target, delta):
        # The favorite has updated the workbook row: let the flush start, and go on to the daily
        # activity only when the flush waits on a lock (the old flush held the daily activity
        # row by then, and waited for this workbook row: a deadlock).
        holding_the_row.set()
        deadline = time.monotonic() + 10
        while not waiting_on_a_lock() and time.monotonic() < deadline:
            time.sleep(0.02)
        real_daily_favorites(target, delta)

    monkeypatch.setattr(social, "_daily_favorites", daily_favorites_once_the_flush_waits)

    def flush() -> int:
        assert holding_the_row.wait(10)
        return services.flush_pending_views()

    results = in_parallel([lambda: social.favorite(member, workbook), flush])

    assert results == [True, 30]
    workbook.refresh_from_db()
    assert (workbook.favorite_count, workbook.view_count) == (1, 30)
    today = timezone.now().date()
    assert DailyActivity.objects.get(workbook=workbook, day=today).favorites == 1
    assert counted([workbook])[1] == expected


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_favorites_and_flushes_running_together_neither_deadlock_nor_miscount(settings):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "favorite": 1_000}
    workbooks = WorkbookFactory.create_batch(4)
    members = UserFactory.create_batch(6)
    # Each member favorites the four in an order of its own, then takes back every other one.
    orders = [workbooks[i % 4 :] + workbooks[: i % 4] for i in range(len(members))]
    kept = [order[1::2] for order in orders]

    def favorite_then_take_back(member, order) -> Callable[[], None]:
        def call() -> None:
            for workbook in order:
                social.favorite(member, workbook)
            for workbook in order[::2]:
                social.unfavorite(member, workbook)

        return call

    def pend_and_flush() -> int:
        flushed = 0
        for _ in range(4):
            PendingView.objects.bulk_create(
                [PendingView(workbook=workbook) for workbook in workbooks for _ in range(25)]
            )
            flushed += services.flush_pending_views()
        return flushed

    results = in_parallel(
        [favorite_then_take_back(m, o) for m, o in zip(members, orders, strict=True)]
        + [pend_and_flush, pend_and_flush]
    )

    assert not [result for result in results if isinstance(result, Exception)], results
    flushed = results[-2] + results[-1] + services.flush_pending_views()  # the last ones' leftovers
    assert flushed == 2 * 4 * 4 * 25
    today = timezone.now().date()
    for workbook in workbooks:
        workbook.refresh_from_db()
        favorites = sum(workbook in mine for mine in kept)
        activity = DailyActivity.objects.get(workbook=workbook, day=today)
        assert (workbook.favorite_count, activity.favorites) == (favorites, favorites)
        assert (workbook.view_count, activity.views) == (200, 200)
