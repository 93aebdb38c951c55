"""What the tables themselves guarantee: one open report per member and target, and a reason
"other" says what; the database refuses both even if code forgot to check."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from moderation.models import Report

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
