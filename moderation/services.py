"""Writes: a member's report, and the moderators' actions on what was reported.

Each moderator's action is one transaction that does the thing (through the lower apps' own
services, which keep visibility and the cached pages right), writes one ModerationAction, and closes
the target's open reports with it; a moderator takes at most SOCIAL_RATE_LIMITS["moderate"] of them
a minute (RateLimited past it). Content reported by MODERATION_HOLD_REPORTS distinct members with a
verified address, none of whose earlier reports of it a moderator dismissed, is held until a
moderator looks at it.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import suspension, verification
from accounts.models import User
from sigma_playground.models import Moderation
from sigma_playground.rates import check_rate
from social import services as social_services
from social.models import Comment
from workbooks import services as workbook_services
from workbooks.models import Workbook

from . import selectors
from .models import Action, ModerationAction, Reason, Report, Target
from .selectors import Found

# What a moderator writes; the log's column has room for a suspension's end after it.
REASON_MAX_LENGTH = 450
HELD_REASON = "Held for review: several members reported it. A moderator will look at it soon."


def report(reporter: User, kind: str, ref: str | int, reason: str, text: str = "") -> Report:
    """`reporter` reports the workbook or comment with id `ref`, or the member named `ref`.

    Raises Http404 for what they cannot see, ValidationError for their own content (code
    `own_content`), a second open report of the same target (`already_reported`) or a reason that
    needs a text; RateLimited past the "report" rate (SOCIAL_RATE_LIMITS)."""
    found = selectors.reportable(reporter, kind, ref)
    if found.owner_id == reporter.pk:
        raise ValidationError("You cannot report yourself or your own content.", code="own_content")
    text = text.strip()
    if reason not in Reason.values:
        raise ValidationError({"reason": ["Choose one of the reasons."]})
    if len(text) > Report.TEXT_MAX_LENGTH:
        raise ValidationError(
            {"text": [f"Keep it to {Report.TEXT_MAX_LENGTH} characters or fewer."]}
        )
    if reason == Reason.OTHER and not text:
        raise ValidationError({"text": ["Say what is wrong when the reason is “other”."]})
    if Report.objects.open().about(found.kind, found.id).filter(reporter=reporter).exists():
        raise _already_reported()
    check_rate(reporter, "report")
    with transaction.atomic():
        _lock(found)
        try:
            with transaction.atomic():  # a savepoint: the race's loser answers, not the database
                made = Report.objects.create(
                    reporter=reporter,
                    target_kind=found.kind,
                    target_id=found.id,
                    reason=reason,
                    text=text,
                )
        except IntegrityError:
            raise _already_reported() from None
        _hold_if_reported_enough(found)
    return made


def _already_reported() -> ValidationError:
    return ValidationError(
        "You already reported this; moderators will look at it.", code="already_reported"
    )


def _lock(found: Found) -> None:
    """The reported content's row, so that two reports reaching the threshold together hold it
    once."""
    if found.kind == Target.WORKBOOK:
        Workbook.objects.select_for_update().filter(pk=found.id).first()
    elif found.kind == Target.COMMENT:
        Comment.objects.select_for_update().filter(pk=found.id).first()


def _hold_if_reported_enough(found: Found) -> None:
    if found.kind == Target.USER:
        return  # a member is never hidden; moderators decide on a suspension
    reporters = _reporters_who_count(found)
    if reporters < settings.MODERATION_HOLD_REPORTS:
        return
    current = selectors.target(found.kind, found.id)
    if current.moderation != Moderation.VISIBLE:
        return  # already held or hidden
    _moderate(current, Moderation.HELD, HELD_REASON)
    _log(None, Action.HOLD, current, f"Held automatically: reported by {reporters} members.")


def _reporters_who_count(found: Found) -> int:
    """The distinct members whose open reports count towards holding the target. A few throwaway
    accounts must not take content down again and again: only verified addresses count (with
    EMAIL_VERIFICATION none no address is ever verified, so everyone does), and a moderator's
    dismissal stands against the members it answered, until others reach the threshold."""
    reports = Report.objects.open().about(found.kind, found.id)
    if verification.links_sent():
        reports = reports.filter(reporter__email_verified=True)
    dismissed = (
        Report.objects.about(found.kind, found.id)
        .filter(resolution__action=Action.DISMISS)
        .values("reporter")
    )
    return reports.exclude(reporter__in=dismissed).values("reporter").distinct().count()


def _moderate(
    found: Found, moderation: Moderation, reason: str, *, unpublish: bool = False
) -> None:
    if isinstance(found.obj, Workbook):
        workbook_services.moderate_workbook(
            found.obj, moderation=moderation, reason=reason, unpublish=unpublish
        )
    elif isinstance(found.obj, Comment):
        social_services.moderate_comment(found.obj, moderation=moderation, reason=reason)


def _log(moderator: User | None, action: Action, found: Found, reason: str) -> ModerationAction:
    return ModerationAction.objects.create(
        moderator=moderator,
        moderator_username=moderator.username if moderator else "",
        action=action,
        target_kind=found.kind,
        target_id=found.id,
        target_description=found.description,
        reason=reason,
    )


def _close_reports(found: Found, entry: ModerationAction) -> int:
    return (
        Report.objects.open()
        .about(found.kind, found.id)
        .update(closed_at=timezone.now(), resolution=entry)
    )


def _require_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": ["Say why: the log keeps it, and the author sees it."]})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError({"reason": [f"Keep it to {REASON_MAX_LENGTH} characters or fewer."]})
    return reason


def _moderators_reason(moderator: User, reason: str) -> str:
    """A moderator's action starts here: the reason it is logged with, and their per-minute limit."""
    reason = _require_reason(reason)
    check_rate(moderator, "moderate")
    return reason


def _resolve(moderator: User, action: Action, found: Found, reason: str) -> ModerationAction:
    """Log the moderator's action on `found` and close the open reports about it with that entry."""
    entry = _log(moderator, action, found, reason)
    _close_reports(found, entry)
    return entry


# --- Moderators' actions --------------------------------------------------------------------------


def hide_comment(moderator: User, comment: Comment, reason: str) -> ModerationAction:
    """Hide the comment from everyone but its author, who sees `reason`."""
    reason = _moderators_reason(moderator, reason)
    found = Found(Target.COMMENT, comment.pk, comment, comment.author_id)
    with transaction.atomic():
        social_services.moderate_comment(comment, moderation=Moderation.HIDDEN, reason=reason)
        entry = _resolve(moderator, Action.HIDE_COMMENT, found, reason)
    return entry


def unpublish_workbook(moderator: User, workbook: Workbook, reason: str) -> ModerationAction:
    """Take the workbook down: unpublished and hidden, its author sees `reason`."""
    reason = _moderators_reason(moderator, reason)
    found = Found(Target.WORKBOOK, workbook.pk, workbook, workbook.author_id)
    with transaction.atomic():
        workbook_services.moderate_workbook(
            workbook, moderation=Moderation.HIDDEN, reason=reason, unpublish=True
        )
        entry = _resolve(moderator, Action.UNPUBLISH_WORKBOOK, found, reason)
    return entry


def dismiss(moderator: User, found: Found, reason: str) -> ModerationAction:
    """Nothing to act on: the reports are closed, and held content is shown again. Content a
    moderator hid stays hidden."""
    reason = _moderators_reason(moderator, reason)
    with transaction.atomic():
        if found.moderation == Moderation.HELD:
            _moderate(found, Moderation.VISIBLE, "")
        entry = _resolve(moderator, Action.DISMISS, found, reason)
    return entry


def restore(moderator: User, found: Found, reason: str) -> ModerationAction:
    """Undo a hide or an unpublish: shown again (an unpublished workbook stays a draft, for its
    author to publish)."""
    reason = _moderators_reason(moderator, reason)
    with transaction.atomic():
        _moderate(found, Moderation.VISIBLE, "")
        entry = _resolve(moderator, Action.RESTORE, found, reason)
    return entry


def suspend(moderator: User, member: User, until: datetime, reason: str) -> ModerationAction:
    """No sign-in of any kind for `member` until `until`; their sessions and tokens end now."""
    reason = _moderators_reason(moderator, reason)
    if until <= timezone.now():
        raise ValidationError({"until": ["Choose a time in the future."]})
    if member.is_staff or member.is_superuser:
        raise ValidationError("Staff are not suspended here: ask a superuser.", code="staff")
    found = Found(Target.USER, member.pk, member, member.pk)
    with transaction.atomic():
        suspension.suspend(member, until=until, reason=reason)
        entry = _resolve(
            moderator, Action.SUSPEND, found, f"{reason} (until {until:%Y-%m-%d %H:%M} UTC)"
        )
    return entry


def lift_suspension(moderator: User, member: User, reason: str) -> ModerationAction:
    reason = _moderators_reason(moderator, reason)
    found = Found(Target.USER, member.pk, member, member.pk)
    with transaction.atomic():
        suspension.lift(member)
        entry = _log(moderator, Action.LIFT_SUSPENSION, found, reason)
    return entry
