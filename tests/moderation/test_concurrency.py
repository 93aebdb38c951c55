"""Reports arriving at once: the same member's twin reports make one, and members reaching the hold
threshold together hold the content once. Races only a real database with row locks shows."""

import pytest

from moderation import services
from moderation.models import ModerationAction, Report
from sigma_playground.models import Moderation
from tests.factories import UserFactory, WorkbookFactory
from tests.threads import in_parallel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def reporting(member, workbook):
    def call():
        return services.report(member, "workbook", workbook.pk, "spam")

    return call


def test_one_members_twin_reports_make_one():
    member, workbook = UserFactory(), WorkbookFactory()

    results = in_parallel([reporting(member, workbook) for _ in range(4)])

    assert sum(isinstance(result, Report) for result in results) == 1
    refused = [result for result in results if not isinstance(result, Report)]
    assert {getattr(error, "code", None) for error in refused} == {"already_reported"}
    assert Report.objects.count() == 1


def test_members_reaching_the_threshold_together_hold_it_once(settings):
    settings.MODERATION_HOLD_REPORTS = 3
    workbook = WorkbookFactory()
    members = UserFactory.create_batch(6)

    results = in_parallel([reporting(member, workbook) for member in members])

    assert all(isinstance(result, Report) for result in results), results
    workbook.refresh_from_db()
    assert workbook.moderation == Moderation.HELD
    assert ModerationAction.objects.filter(action="hold").count() == 1
