"""Email members want: what they chose in Settings, the email of a burst of activity, the weekly
digest, and the signed unsubscribe links that need no sign-in.

- Instant emails (comments on my workbooks, new followers, my workbook featured): notify starts a
  burst (services._email_soon); `send_instant`, run by a task EMAIL_BATCH_SECONDS later, sends one
  email of everything the burst brought, then ends it (services.end_email_burst).
- The weekly digest: `send_digests`, run by beat on Mondays, sends each member who wants it what
  the people they follow published in the week before; a DigestSent row, made in the transaction
  that sends, makes it once per member and week however often it runs.
- Nothing goes to an unverified address (unless EMAIL_VERIFICATION is none, where none is ever
  verified), nor to a deactivated or suspended member (email_selectors.can_email), and every email
  carries List-Unsubscribe with one-click POST.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core import signing
from django.core.mail import get_connection
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import User
from sigma_playground import mail

from . import email_selectors, services
from .models import DigestSent, EmailPreference, Notification, Verb

logger = logging.getLogger(__name__)

# What an unsubscribe link turns off: one kind, the instant ones (an email of several kinds), or all.
UNSUBSCRIBE_KINDS: dict[str, tuple[str, ...]] = {
    "comments": ("comments",),
    "followers": ("followers",),
    "featured": ("featured",),
    "digest": ("digest",),
    "instant": ("comments", "followers", "featured"),
    "all": EmailPreference.KINDS,
}
# What the unsubscribe page says the member will no longer get.
UNSUBSCRIBE_LABELS = {
    "comments": "emails about comments on your workbooks",
    "followers": "emails about new followers",
    "featured": "emails when your workbook is featured",
    "digest": "the weekly digest",
    "instant": "emails about comments, new followers and features",
    "all": "any email about activity (account emails such as password resets still come)",
}
_UNSUBSCRIBE_SALT = "social.emails.unsubscribe"

# An email shows this many notifications or workbooks at most, and links to the rest.
INSTANT_MAX_ITEMS = 20
DIGEST_MAX_ITEMS = 20
# Members read at a time by the digest job: its memory stays the same however many there are.
DIGEST_BATCH = 200


# --- Choices --------------------------------------------------------------------------------------


def set_preferences(user: User, choices: dict[str, bool]) -> EmailPreference:
    """Save the member's choices (EmailPreference.KINDS; all False: no email at all)."""
    services.check_rate(user, "email")
    values = {kind: bool(choices.get(kind)) for kind in EmailPreference.KINDS}
    preference, _ = EmailPreference.objects.update_or_create(user=user, defaults=values)
    return preference


def unsubscribe(user: User, kind: str) -> None:
    """Turn off what an unsubscribe link names (UNSUBSCRIBE_KINDS); saying it twice changes
    nothing."""
    services.check_rate(user, "email")
    EmailPreference.objects.update_or_create(
        user=user, defaults=dict.fromkeys(UNSUBSCRIBE_KINDS[kind], False)
    )


def unsubscribe_token(user_id: int, kind: str) -> str:
    """Signed, so that it needs no sign-in and cannot be made for someone else; it does not expire:
    an old email's link still works."""
    return signing.dumps([user_id, kind], salt=_UNSUBSCRIBE_SALT)


def unsubscribe_url(user_id: int, kind: str) -> str:
    return mail.absolute(reverse("social:unsubscribe", args=[unsubscribe_token(user_id, kind)]))


def read_unsubscribe_token(token: str) -> tuple[User, str]:
    """The member and kind a link names. Raises signing.BadSignature for a link we did not make
    (or for a member since deleted)."""
    value = signing.loads(token, salt=_UNSUBSCRIBE_SALT)
    match value:
        case [int(user_id), str(kind)] if kind in UNSUBSCRIBE_KINDS:
            pass
        case _:
            raise signing.BadSignature("Not an unsubscribe link.")
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise signing.BadSignature("No such member.")
    return user, kind


# --- Instant emails -------------------------------------------------------------------------------


def send_instant(user_id: int) -> bool:
    """Send the member's burst as one email, if it holds anything they still want; True if an
    email went. Idempotent: the preference row is locked while the email is sent and
    `last_emailed_id` moves past what it told in the same transaction, so a second run (a retry, a
    duplicate message) finds nothing new. An error sending rolls it all back: the retry, or the
    sweep for overdue bursts, sends it again."""
    with transaction.atomic():
        preference = (
            EmailPreference.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(user_id=user_id)
            .first()
        )
        if preference is None or preference.email_due_at is None:
            return False  # no burst under way: a duplicate of a task that ended it
        due = preference.email_due_at
        sent = False
        notifications = email_selectors.burst(preference, INSTANT_MAX_ITEMS + 1)
        if notifications:
            if email_selectors.can_email(preference.user):
                _instant_message(preference.user, notifications).send()
                sent = True
            preference.last_emailed_id = notifications[0].pk
            preference.save(update_fields=["last_emailed_id"])
    services.end_email_burst(user_id, due)
    return sent


def _instant_message(member: User, notifications: list[Notification]) -> Any:
    shown = notifications[:INSTANT_MAX_ITEMS]
    groups = {
        verb: [item for item in shown if item.verb == verb] for verb in EmailPreference.INSTANT
    }
    kinds = [EmailPreference.INSTANT[verb] for verb, items in groups.items() if items]
    kind = kinds[0] if len(kinds) == 1 else "instant"
    context = {
        "member": member,
        "subject": _instant_subject(groups),
        "comments": groups[Verb.COMMENTED],
        "followers": groups[Verb.FOLLOWED],
        "featured": groups[Verb.FEATURED],
        "more": len(notifications) > INSTANT_MAX_ITEMS,
        "notifications_url": mail.absolute(reverse("social:notifications")),
        "preferences_url": mail.absolute(reverse("accounts:settings") + "#email"),
        "stop_urls": {kind: unsubscribe_url(member.pk, kind) for kind in kinds},
    }
    return mail.compose(
        to=member.email,
        template="social/email/instant",
        context=context,
        unsubscribe_url=unsubscribe_url(member.pk, kind),
    )


def _instant_subject(groups: dict[str, list[Notification]]) -> str:
    """One notification says what happened; several are counted. The subject names the actor by
    username, never by display name: a name a member chooses freely ("Sigma Security Team") would
    read as the site speaking in the one line most readers trust. Member-written text cannot add a
    header: mail.compose makes the subject one line."""
    items = [item for group in groups.values() for item in group]
    if len(items) == 1:
        item = items[0]
        who = f"@{item.actor.username}" if item.actor else "Someone"
        what = f" “{item.workbook.title}”" if item.workbook else ""
        sentences: dict[str, str] = {
            Verb.COMMENTED: f"{who} commented on{what}",
            Verb.FOLLOWED: f"{who} followed you",
            Verb.FEATURED: f"Your workbook{what} is featured",
        }
        return sentences[item.verb]
    parts = [
        _count(len(groups[Verb.COMMENTED]), "new comment"),
        _count(len(groups[Verb.FOLLOWED]), "new follower"),
        _count(len(groups[Verb.FEATURED]), "workbook featured", "workbooks featured"),
    ]
    return _join([part for part in parts if part])


def _count(n: int, one: str, many: str | None = None) -> str:
    if not n:
        return ""
    return f"1 {one}" if n == 1 else f"{n} {many or one + 's'}"


def _join(parts: Iterable[str]) -> str:
    words = list(parts)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


# --- The weekly digest ----------------------------------------------------------------------------


def send_digests(week: date, after_user_id: int = 0, *, batches: int | None = None) -> int | None:
    """Send `week`'s digest to the next DIGEST_BATCH members after `after_user_id` who want it
    (`batches` times, or until done); returns the last member's id to go on from, or None when
    every member had it. A member with nothing new gets none."""
    done = 0
    while batches is None or done < batches:
        members = email_selectors.digest_recipients(week, after_user_id, DIGEST_BATCH)
        if not members:
            return None
        # One SMTP connection for the batch, not one per email.
        with get_connection() as connection:
            for member in members:
                _send_digest(member, week, connection)
        after_user_id = members[-1].pk
        done += 1
        if len(members) < DIGEST_BATCH:
            return None
    return after_user_id


def _send_digest(member: User, week: date, connection: Any) -> bool:
    """The member's digest, once: the DigestSent row is made in the transaction that sends it, so a
    second run (or one at the same time) finds it and sends nothing, and an email that could not be
    sent leaves no row and goes at the next run."""
    workbooks = email_selectors.digest_workbooks(member, week, DIGEST_MAX_ITEMS + 1)
    if not workbooks:
        return False
    start, end = email_selectors.digest_window(week)
    message = mail.compose(
        to=member.email,
        template="social/email/digest",
        context={
            "member": member,
            "workbooks": workbooks[:DIGEST_MAX_ITEMS],
            "more": len(workbooks) > DIGEST_MAX_ITEMS,
            "start": start,
            "end": end,
            "feed_url": mail.absolute(reverse("social:feed")),
            "preferences_url": mail.absolute(reverse("accounts:settings") + "#email"),
        },
        unsubscribe_url=unsubscribe_url(member.pk, "digest"),
    )
    message.connection = connection
    try:
        with transaction.atomic():
            DigestSent.objects.create(user=member, week=week)
            message.send()
    except IntegrityError:
        return False  # another run sent it
    except smtplib.SMTPRecipientsRefused:
        # This address is refused, not the server down: the others still get theirs.
        logger.warning("digest refused by the mail server: member=%s", member.pk)
        return False
    return True
