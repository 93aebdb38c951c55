"""Verified email: a member proves an address is theirs by following a link sent to it.

- The link is signed (an HMAC of the member's id and address state with SECRET_KEY), expires after
  EMAIL_VERIFICATION_LINK_HOURS, and works once: its hash covers `email`, `pending_email` and
  `email_verified`, so it stops working once followed or once the address changes (as Django's
  password-reset tokens cover the password).
- A changed address waits in `pending_email`; the link goes to the new address and the old one is
  told. `email` changes only when the link is followed; then the member's other sessions and API
  refresh tokens end and the old address is told again. Asking for a change needs the member's
  password and second factor first (accounts.services.change_email).
- EMAIL_VERIFICATION: "mandatory" (publishing and commenting wait: `require_verified`), "optional"
  (links are sent, nothing waits) or "none" (no link is sent, nothing waits).
"""

from __future__ import annotations

import time
from typing import TypeGuard

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.encoding import force_bytes, force_str
from django.utils.http import base36_to_int, int_to_base36, urlsafe_base64_decode
from django.utils.http import urlsafe_base64_encode as encode_id

from sigma_playground import mail
from sigma_playground.rates import RateLimited
from sigma_playground.refusals import Forbidden

from . import emails, selectors
from .models import User
from .signals import sign_ins_ended
from .throttling import VerificationEmailThrottle

MANDATORY, OPTIONAL, NONE = "mandatory", "optional", "none"
MODES = (MANDATORY, OPTIONAL, NONE)

_SALT = "accounts.verification"


class EmailUnverified(Forbidden):
    """The action waits until the member's address is verified (EMAIL_VERIFICATION mandatory)."""

    code = "email_unverified"
    page_template = "accounts/email_unverified.html"

    def __init__(self) -> None:
        super().__init__(
            "Verify your email address first: follow the link we sent you, or ask for a new one."
        )


# --- The link -------------------------------------------------------------------------------------


def _now() -> int:
    return int(time.time())


def _digest(user: User, timestamp: int) -> str:
    state = f"{user.pk}|{user.email}|{user.pending_email}|{user.email_verified}|{timestamp}"
    return salted_hmac(_SALT, state, algorithm="sha256").hexdigest()[:32]


def make_token(user: User, *, now: int | None = None) -> str:
    timestamp = _now() if now is None else now
    return f"{int_to_base36(timestamp)}-{_digest(user, timestamp)}"


def check_token(user: User, token: str, *, now: int | None = None) -> bool:
    """The token was made for this member in their current address state, and is not too old."""
    try:
        stamp, digest = token.split("-", 1)
        timestamp = base36_to_int(stamp)
    except ValueError:
        return False
    age = (_now() if now is None else now) - timestamp
    if not 0 <= age <= settings.EMAIL_VERIFICATION_LINK_HOURS * 3600:
        return False
    return constant_time_compare(digest, _digest(user, timestamp))


def link_path(user: User, *, now: int | None = None) -> str:
    uidb64 = encode_id(force_bytes(user.pk))
    token = make_token(user, now=now)
    return reverse("accounts:verify-email", args=[uidb64, token])


def user_for_link(uidb64: str, token: str) -> User | None:
    """The member a link was made for, if it is genuine, unused and in time."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
        user = User.objects.get(pk=pk, is_active=True)
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        return None
    return user if check_token(user, token) else None


# --- Who must wait ----------------------------------------------------------------------------------


def mode() -> str:
    return settings.EMAIL_VERIFICATION


def links_sent() -> bool:
    return mode() != NONE


def counts_as_verified(user: User) -> bool:
    """For what waits on verification: only in mandatory mode does an unverified address hold
    anything back."""
    return mode() != MANDATORY or user.email_verified


def may_email(user: User) -> bool:
    """Whether mail the member chose (comments, digests) may go to their address: a verified one,
    or any with EMAIL_VERIFICATION none, where no address is ever verified."""
    return mode() == NONE or user.email_verified


def must_verify(user: object) -> bool:
    """A signed-in member whose publishing and commenting wait (for the pages' notices)."""
    return isinstance(user, User) and not counts_as_verified(user)


def shows_banner(user: object) -> TypeGuard[User]:
    """The banner with the resend button: whenever a link is sent and not yet followed."""
    return (
        links_sent()
        and isinstance(user, User)
        and (not user.email_verified or bool(user.pending_email))
    )


def require_verified(user: User) -> None:
    if not counts_as_verified(user):
        raise EmailUnverified


# --- Sending ------------------------------------------------------------------------------------------


def _masked(address: str) -> str:
    """n***@example.com: enough for the old address's owner to recognise, not to read."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def send_link(user: User) -> None:
    """Email the link to the address waiting for it (the pending one, else the current one)."""
    if not links_sent():
        return
    to = user.pending_email or user.email
    message = mail.compose(
        to=to,
        template="accounts/email/verify",
        context={
            "user": user,
            "address": to,
            "changing": bool(user.pending_email),
            "link": mail.absolute(link_path(user)),
            "hours": settings.EMAIL_VERIFICATION_LINK_HOURS,
        },
    )
    emails.send_later(message)


def _spend_email(user: User) -> None:
    """One of the member's hourly verification emails (resends and address changes together)."""
    throttle = VerificationEmailThrottle(user.pk)
    wait = throttle.retry_after()
    if wait is not None:
        raise RateLimited(wait, "We have sent you several emails already.")
    throttle.record_email()


def resend(user: User) -> bool:
    """The member asks for a new link; throttled per member (RateLimited). False when there is
    nothing to verify."""
    if not links_sent() or (user.email_verified and not user.pending_email):
        return False
    _spend_email(user)
    send_link(user)
    return True


def mark_verified(user: User) -> User:
    """The member's address is theirs (a followed link, or a provider that vouches for it)."""
    if not user.email_verified:
        user.email_verified = True
        user.save(update_fields=["email_verified"])
    return user


def _normalized(address: str) -> str:
    return User.objects.normalize_email(address.strip())


def is_new_address(user: User, address: str) -> bool:
    """Whether `address` would change the member's address (not theirs already, whatever its
    case): only a change needs the member to prove who they are."""
    return _normalized(address).lower() != user.email.lower()


def change_email(user: User, new_email: str) -> User:
    """Ask for a new address: it waits in `pending_email` until its link is followed (sent to it),
    and the old address is told. With EMAIL_VERIFICATION none it changes at once. Raises
    ValidationError under `email` when another member has it; throttled like a resend, the
    throttle counted first, so that asking whether addresses have accounts is throttled too.

    The caller has made sure it is the member asking (accounts.services.change_email)."""
    new_email = _normalized(new_email)
    if not is_new_address(user, new_email):
        if user.pending_email:  # changed their mind: the waiting address and its link go
            user.pending_email = ""
            user.save(update_fields=["pending_email"])
        return user
    _spend_email(user)
    if selectors.email_taken(new_email, exclude_pk=user.pk):
        raise ValidationError({"email": "An account with that email address already exists."})
    if not links_sent():
        _take_address(user, new_email)
        return user
    user.pending_email = new_email
    user.save(update_fields=["pending_email"])
    send_link(user)
    emails.send_later(
        mail.compose(
            to=user.email,
            template="accounts/email/email_changing",
            context={"user": user, "new_address": _masked(new_email), "changed": False},
        )
    )
    return user


def _take_address(user: User, address: str) -> None:
    """The member's address becomes `address`. Whoever holds a session or refresh token of theirs
    may have been the one to change it, so every other sign-in ends, as for a new password (the
    sessions' auth hash moves with `sessions_generation`; accounts.signals.sign_ins_ended revokes
    the API's refresh tokens and closes sockets), and the old address is told."""
    if selectors.email_taken(address, exclude_pk=user.pk):
        raise ValidationError({"email": "An account with that email address already exists."})
    old_email = user.email
    user.email = address
    user.pending_email = ""
    user.email_verified = True
    user.sessions_generation = F("sessions_generation") + 1
    try:
        with transaction.atomic():
            user.save(
                update_fields=["email", "pending_email", "email_verified", "sessions_generation"]
            )
            transaction.on_commit(
                lambda: sign_ins_ended.send(sender=User, user=user, reason="email_changed")
            )
    except IntegrityError:  # taken between the check and the save
        user.refresh_from_db()
        raise ValidationError(
            {"email": "An account with that email address already exists."}
        ) from None
    user.refresh_from_db(fields=["sessions_generation"])
    emails.send_later(
        mail.compose(
            to=old_email,
            template="accounts/email/email_changing",
            context={"user": user, "new_address": _masked(address), "changed": True},
        )
    )


def confirm(user: User) -> User:
    """A followed link: the pending address becomes the member's (if still free), or the current
    one is verified. Raises ValidationError if the pending address was taken meanwhile."""
    if user.pending_email:
        _take_address(user, user.pending_email)
    else:
        mark_verified(user)
    return user
