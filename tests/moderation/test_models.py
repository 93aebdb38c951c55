"""What the tables themselves guarantee: one open report per member and target, and a reason
"other" says what; the database refuses both even if code forgot to check."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from moderation import services
from moderation.models import ModerationAction, Report

pytestmark = pytest.mark.django_db


def test_the_database_keeps_one_open_report_per_member_and_target(workbook, reporter):
    Report.objects.create(
        reporter=reporter, target_kind="workbook", target_id=workbook.pk, reason="spam"
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        Report.objects.create(
            reporter=reporter, target_kind="workbook", target_id=workbook.pk, reason="abuse"
        )

    Report.objects.update(closed_at=timezone.now())
    Report.objects.create(
        reporter=reporter, target_kind="workbook", target_id=workbook.pk, reason="spam"
    )
    assert Report.objects.open().count() == 1
    assert Report.objects.count() == 2


def test_the_database_refuses_other_without_a_word(workbook, reporter):
    with pytest.raises(IntegrityError), transaction.atomic():
        Report.objects.create(
            reporter=reporter, target_kind="workbook", target_id=workbook.pk, reason="other"
        )


def test_a_moderators_deleted_account_leaves_their_log_entries_with_their_name(workbook, moderator):
    entry = services.unpublish_workbook(moderator, workbook, "Copied.")

    moderator.delete()

    entry = ModerationAction.objects.get(pk=entry.pk)
    assert (entry.moderator, entry.moderator_username, entry.reason) == (
        None,
        "moderator",
        "Copied.",
    )


def test_a_reporters_deleted_account_takes_their_reports(workbook, reporter):
    services.report(reporter, "workbook", workbook.pk, "spam")

    reporter.delete()

    assert not Report.objects.exists()
