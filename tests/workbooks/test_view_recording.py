"""A page view records its view without touching the workbook's row: no UPDATE, no row lock.

The counted view is one INSERT into the pending views, which carry no foreign key constraint: the
constraint's check would lock the workbook row (FOR KEY SHARE) on every counted view, making each
reader wait behind whoever holds that row and, on a popular workbook, behind the other readers.
"""

from __future__ import annotations

import re
import threading

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import BROWSER, WorkbookFactory
from workbooks import services
from workbooks.models import DailyActivity, PendingView, Workbook


def _dsn() -> str:
    database = connection.settings_dict
    return (
        f"host={database['HOST'] or '127.0.0.1'} port={database['PORT'] or 5432} "
        f"user={database['USER']} dbname={database['NAME']}"
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_page_view_never_waits_on_the_workbook_row(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = (
        False  # as in production: the flush is beat's, not the page's
    )
    workbook = WorkbookFactory(title="Busy")
    with psycopg.connect(_dsn()) as holder:
        # Another transaction holds the row as long as it likes (a delete, an edit's key change).
        holder.execute("SELECT id FROM workbooks_workbook WHERE id = %s FOR UPDATE", [workbook.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        try:
            with CaptureQueriesContext(connection) as captured:
                response = client.get(workbook.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
        holder.rollback()
    assert response.status_code == 200
    assert PendingView.objects.filter(workbook_id=workbook.pk).count() == 1
    writes = [
        query["sql"]
        for query in captured.captured_queries
        if re.search(r"^\s*UPDATE\b|\bFOR (NO KEY )?(UPDATE|SHARE)\b", query["sql"], re.I)
    ]
    assert writes == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_views_of_a_workbook_deleted_meanwhile_are_dropped_the_rest_counted_exactly():
    kept, gone = WorkbookFactory(), WorkbookFactory()
    PendingView.objects.bulk_create([PendingView(workbook=kept) for _ in range(7)])
    gone_id = gone.pk
    services.delete_workbook(gone)
    # A view recorded while the delete ran, after it had removed the workbook's pending views.
    PendingView.objects.bulk_create([PendingView(workbook_id=gone_id) for _ in range(3)])

    assert services.flush_pending_views() == 7

    assert Workbook.objects.get(pk=kept.pk).view_count == 7
    assert list(DailyActivity.objects.values_list("workbook_id", "views")) == [(kept.pk, 7)]
    assert not PendingView.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_readers_of_one_workbook_record_views_side_by_side(settings):
    """Many readers counted at once on one workbook all get their view in, while an edit holds
    the row: none waits on it, none is lost."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    workbook = WorkbookFactory(title="Popular")
    done: list[int] = []

    def view(n: int) -> None:
        from django.db import connection as own
        from django.test import Client

        try:
            with own.cursor() as cursor:
                cursor.execute("SET lock_timeout = '2s'")
            agent = f"{BROWSER} reader/{n}"
            if Client().get(workbook.get_absolute_url(), HTTP_USER_AGENT=agent).status_code == 200:
                done.append(n)
        finally:
            own.close()

    with psycopg.connect(_dsn()) as holder:
        holder.execute("SELECT id FROM workbooks_workbook WHERE id = %s FOR UPDATE", [workbook.pk])
        threads = [threading.Thread(target=view, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        holder.rollback()
    assert sorted(done) == list(range(8))
    assert services.flush_pending_views() == 8
    assert Workbook.objects.get(pk=workbook.pk).view_count == 8
