"""A view flush killed mid-run loses no view and counts none twice.

The flush runs in a process of its own, stops after claiming its batch (deleted, not yet committed)
and is killed there, as a worker killed by the OOM killer or a deploy would be. What a reader sees
meanwhile: view counts a minute or two behind, never wrong. What is kept: every pending view, put
back by the database when the killed transaction is rolled back; the next flush counts each once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.db import connection

from tests.factories import WorkbookFactory
from tests.processes import ROOT, test_database_url
from workbooks import services
from workbooks.models import DailyActivity, PendingView

pytestmark = pytest.mark.django_db(transaction=True)

FLUSH_THEN_HANG = """
import time
import django

django.setup()
from workbooks import services

claim = services._claim_pending_views

def claim_then_hang(limit):
    claimed = claim(limit)
    print(sum(claimed.values()), flush=True)
    time.sleep(60)  # killed here, its batch deleted but not committed
    return claimed

services._claim_pending_views = claim_then_hang
services.flush_pending_views()
"""


def wait_for_the_killed_transaction_to_end() -> None:
    """PostgreSQL rolls a dead client's transaction back as soon as it notices the closed socket."""
    if connection.vendor != "postgresql":
        return  # SQLite's lock went with the process; its unfinished writes are never read
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.05)
    pytest.fail("the killed flush's transaction was still open after 10 s")


def test_a_flush_killed_after_claiming_its_batch_leaves_every_view_to_the_next_flush():
    workbook = WorkbookFactory()
    PendingView.objects.bulk_create([PendingView(workbook=workbook) for _ in range(300)])
    flusher = subprocess.Popen(
        [sys.executable, "-c", FLUSH_THEN_HANG],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "sigma_playground.settings",
            "DEBUG": "true",
            "DATABASE_URL": test_database_url(),
        },
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert flusher.stdout.readline().strip() == "300"  # claimed, within its transaction
        if connection.vendor == "postgresql":
            # Meanwhile another flush skips the claimed views rather than counting them too.
            assert services.flush_pending_views() == 0
        flusher.kill()
        assert flusher.wait(timeout=10) == -9
    finally:
        flusher.kill()
        flusher.wait(timeout=10)
        flusher.stdout.close()

    wait_for_the_killed_transaction_to_end()
    workbook.refresh_from_db()
    assert workbook.view_count == 0
    assert PendingView.objects.filter(workbook=workbook).count() == 300

    assert services.flush_pending_views() == 300

    workbook.refresh_from_db()
    assert workbook.view_count == 300
    assert DailyActivity.objects.get(workbook=workbook).views == 300
    assert not PendingView.objects.exists()
