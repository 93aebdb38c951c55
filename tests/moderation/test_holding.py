"""Which reports count towards holding content: a few throwaway accounts cannot take it down, and
a moderator's dismissal stands against the members it answered."""

import pytest

from moderation import services
from sigma_playground.models import Moderation
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def unverified(count: int) -> list:
    return [UserFactory(username=f"throwaway{n}", email_verified=False) for n in range(count)]


def report_all(members, workbook) -> None:
    for member in members:
        services.report(member, "workbook", workbook.pk, "spam")


def moderation_of(workbook) -> str:
    workbook.refresh_from_db()
    return workbook.moderation


@pytest.mark.parametrize("mode", ["mandatory", "optional"])
def test_only_reporters_with_a_verified_address_hold_content(
    workbook, reporters, hold_at_three, settings, mode
):
    settings.EMAIL_VERIFICATION = mode
    report_all(unverified(3), workbook)
    assert moderation_of(workbook) == Moderation.VISIBLE

    report_all(reporters[:2], workbook)
    assert moderation_of(workbook) == Moderation.VISIBLE
    report_all(reporters[2:3], workbook)
    assert moderation_of(workbook) == Moderation.HELD


def test_without_verification_every_reporter_counts(workbook, hold_at_three, settings):
    settings.EMAIL_VERIFICATION = "none"

    report_all(unverified(3), workbook)

    assert moderation_of(workbook) == Moderation.HELD


def test_a_dismissal_stands_until_other_members_reach_the_threshold(
    workbook, reporters, moderator, hold_at_three
):
    report_all(reporters[:3], workbook)
    assert moderation_of(workbook) == Moderation.HELD
    services.dismiss(moderator, services.selectors.target("workbook", workbook.pk), "Fine.")
    assert moderation_of(workbook) == Moderation.VISIBLE

    report_all(reporters[:3], workbook)  # the same members again
    assert moderation_of(workbook) == Moderation.VISIBLE
    report_all(reporters[3:5], workbook)
    assert moderation_of(workbook) == Moderation.VISIBLE  # two new ones are not three
    report_all([UserFactory(username="newcomer")], workbook)
    assert moderation_of(workbook) == Moderation.HELD
