"""Reads for the members' emails (social.emails): who may be emailed, what a burst's email tells,
and who gets a week's digest with what."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts import verification
from accounts.models import User
from accounts.suspension import is_suspended
from sigma_playground.models import Moderation
from workbooks.models import Workbook

from .models import DigestSent, EmailPreference, Follow, Notification


def can_email(user: User) -> bool:
    """Nothing goes to an unverified address (with EMAIL_VERIFICATION none no address is ever
    verified, so any will do: verification.may_email), nor to a deactivated or suspended member."""
    return (
        bool(user.email)
        and verification.may_email(user)
        and user.is_active
        and not is_suspended(user)
    )


def emailable_members() -> QuerySet[User]:
    """can_email, as a query."""
    members = User.objects.filter(is_active=True)
    if verification.mode() != verification.NONE:
        members = members.filter(email_verified=True)
    return members.exclude(email="").exclude(suspended_until__gt=timezone.now())


def preferences_of(user: User) -> EmailPreference:
    """The member's choices: saved, or the defaults (unsaved) until they choose."""
    return EmailPreference.objects.filter(user=user).first() or EmailPreference(user=user)


def unsent_notifications(preference: EmailPreference) -> QuerySet[Notification]:
    """What the burst's email tells: unread notifications of the kinds the member wants by email,
    newer than the last email's, and no comment a moderator held or hid."""
    return Notification.objects.filter(
        Q(comment__isnull=True) | Q(comment__moderation=Moderation.VISIBLE),
        recipient_id=preference.user_id,
        pk__gt=preference.last_emailed_id,
        verb__in=preference.wanted_verbs(),
        read=False,
    )


def burst(preference: EmailPreference, limit: int) -> list[Notification]:
    """The newest `limit` of unsent_notifications, newest first, with what the email shows of
    each, in one query."""
    rows = unsent_notifications(preference).select_related(
        "actor", "workbook", "workbook__author", "comment"
    )
    return list(rows.order_by("-pk")[:limit])


def overdue_bursts(due_before: datetime, limit: int) -> list[int]:
    """Members whose burst's email should have been sent before `due_before`: its task's message
    was lost."""
    overdue = EmailPreference.objects.filter(email_due_at__lt=due_before).order_by("email_due_at")
    return list(overdue.values_list("user_id", flat=True)[:limit])


def week_of(moment: datetime) -> date:
    """The Monday (UTC) of the week `moment` is in: a digest's week."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def digest_window(week: date) -> tuple[datetime, datetime]:
    """A digest tells of the workbooks published in the seven days before its week's Monday."""
    end = datetime.combine(week, time.min, tzinfo=UTC)
    return end - timedelta(days=7), end


def digest_recipients(week: date, after_user_id: int, limit: int) -> list[User]:
    """The next `limit` members, in id order after `after_user_id`, who want the digest (no choice
    saved counts as yes), may be emailed, follow someone, and have not had this week's."""
    members = (
        emailable_members()
        .filter(pk__gt=after_user_id)
        .exclude(email_preference__digest=False)
        .filter(Exists(Follow.objects.filter(follower=OuterRef("pk"))))
        .exclude(Exists(DigestSent.objects.filter(user=OuterRef("pk"), week=week)))
    )
    return list(members.order_by("pk")[:limit])


def digest_workbooks(member: User, week: date, limit: int) -> list[Workbook]:
    """The newest `limit` workbooks the people `member` follows published in the week before
    `week`, with their authors, in one query."""
    start, end = digest_window(week)
    published = Workbook.objects.listed().filter(
        author__follower_links__follower=member,
        published_at__gte=start,
        published_at__lt=end,
    )
    return list(published.select_related("author").order_by("-published_at", "-pk")[:limit])
