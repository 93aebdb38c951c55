"""Suspending a member: no sign-in of any kind until a date, with the moderator's reason shown.

A suspension is not a ban: the member's workbooks, comments and profile stay as they are. What
stops is every way in:

- `suspend` ends the sign-ins open now, as a deactivation does: the sessions' generation is raised
  (part of every session's auth hash, accounts.models.User), and once committed
  `accounts.signals.sign_ins_ended` (reason "suspended") revokes the API's refresh tokens and closes
  the member's sockets and event streams;
- `refuse` is asked by every sign-in path (accounts.services.sign_in for the password form and the
  token endpoint, the second-factor step, token refresh, the provider pipeline) and by every check
  of a credential already issued (a session, a bearer token, a socket): it raises `Suspended`;
- nothing has to happen when `suspended_until` passes: `is_suspended` compares it with the clock,
  so the member signs in again as before. `lift` ends a suspension early.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import formats, timezone

from sigma_playground.observability import audit
from sigma_playground.refusals import Forbidden

from .models import User
from .signals import sign_ins_ended

REASON_MAX_LENGTH = User._meta.get_field("suspension_reason").max_length or 500


class Suspended(Forbidden):
    """A suspended member tried to sign in, or to use a sign-in they had: the API answers 403 with
    code `suspended`; a sign-in form shows `str(error)` on the form."""

    code = "suspended"

    def __init__(self, until: datetime, reason: str) -> None:
        self.until = until
        self.reason = reason
        super().__init__(message(until, reason))


def message(until: datetime, reason: str) -> str:
    """What the member is told: when it ends, and why."""
    when = formats.date_format(timezone.localtime(until), "j F Y, H:i T")
    return (
        f"Your account is suspended until {when}: {reason}"
        if reason
        else f"Your account is suspended until {when}."
    )


def is_suspended(user, now: datetime | None = None) -> bool:
    """Whether `user` may not sign in now; read from the row in hand, no query."""
    until = getattr(user, "suspended_until", None)
    return until is not None and until > (now or timezone.now())


def refuse(user) -> None:
    """Raise Suspended if `user` is suspended now; else nothing. Every sign-in path asks here."""
    if is_suspended(user):
        raise Suspended(user.suspended_until, user.suspension_reason)


def suspend(user: User, *, until: datetime, reason: str) -> User:
    """Suspend `user` until `until` (aware, in the future) for `reason` (shown to them). Their
    sessions, tokens and sockets end now; their content stays. Suspending again replaces the date
    and the reason. Raises ValidationError for a date not in the future or a reason too long."""
    if timezone.is_naive(until):
        raise ValidationError("Give the end of the suspension with its time zone.", code="invalid")
    if until <= timezone.now():
        raise ValidationError("A suspension must end in the future.", code="invalid")
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            f"Keep the reason under {REASON_MAX_LENGTH} characters.", code="max_length"
        )
    with transaction.atomic():
        user.suspended_until = until
        user.suspension_reason = reason
        # As a deactivation: every session's auth hash changes, so each ends at its next request
        # (and stays ended after the suspension). A save, not an update: the bearer's kept copy
        # of the member is retired by the row's own signal (accounts.receivers).
        user.sessions_generation = F("sessions_generation") + 1
        user.save(update_fields=["suspended_until", "suspension_reason", "sessions_generation"])
        user.refresh_from_db(fields=["sessions_generation"])
        transaction.on_commit(
            lambda: sign_ins_ended.send(sender=User, user=user, reason="suspended")
        )
    audit.event(
        "member_suspended",
        subject_id=user.pk,
        subject=user.username,
        until=until.isoformat(),
        reason=reason,
    )
    return user


def lift(user: User) -> User:
    """End `user`'s suspension now (a suspension also ends by itself at `suspended_until`)."""
    user.suspended_until = None
    user.suspension_reason = ""
    user.save(update_fields=["suspended_until", "suspension_reason"])
    audit.event("member_suspension_lifted", subject_id=user.pk, subject=user.username)
    return user
