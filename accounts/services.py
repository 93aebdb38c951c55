"""Account actions, one function per thing a user does; used by the HTML views and the API alike."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from sigma_playground import jobs, mail
from sigma_playground.http import client_address, is_api
from sigma_playground.observability import audit as audit_events
from sigma_playground.observability import metrics
from sigma_playground.rates import RateLimited

from . import exports, mfa, profiles, providers, selectors, suspension, verification
from .emails import send_later
from .http import member
from .images import hold_avatar
from .models import USERNAME_MAX_LENGTH, DataExport, RetiredUsername, User, username_validator
from .signals import member_changed, member_deleting, sign_ins_ended
from .throttling import SignInThrottle, SignUpThrottle

# Set in a session signed in with the second factor (or that just proved one by turning MFA on);
# the admin lets a member with MFA in only with it.
SECOND_FACTOR_SESSION_KEY = "accounts:second_factor"


class Throttled(RateLimited):
    message = "Too many attempts."

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after, self.message)


class SignInThrottled(Throttled):
    message = "Too many failed sign-ins."


class SignUpThrottled(Throttled):
    message = "Too many sign-ups from your address."


class SignInFailed(Exception):
    pass


class SecondFactorRequired(Exception):
    """The password was right; a TOTP or recovery code is needed (or the one given was wrong)."""

    def __init__(self, user: User, wrong_code: bool) -> None:
        super().__init__("A code from your authenticator app is required.")
        self.user = user
        self.wrong_code = wrong_code


class MfaStateError(Exception):
    pass


# Every sign-in attempt, whatever the path (site form, its code step, the API, the admin's sign-in,
# which is the site's), is one audit event: who, from where, through which URL, and how it ended.

NOT_A_USERNAME = "<not a username>"


def _tried_name(username: str) -> str:
    """The name typed in a refused sign-in, if it can be one: people type their email address, or
    their password, into that field, and neither may be logged."""
    try:
        username_validator(username)
    except ValidationError:
        return NOT_A_USERNAME
    return username if len(username) <= USERNAME_MAX_LENGTH else NOT_A_USERNAME


def _signed_in(request: HttpRequest, user: User) -> None:
    method = "api" if is_api(request) else "web"
    metrics.signins.labels(method=method).inc()
    audit_events.event("signin", request=request, actor=user, method=method, path=request.path)


def _sign_in_failed(request: HttpRequest, username: str, reason: str) -> None:
    # The name tried is not the actor: nobody is signed in, and it may not be anyone's.
    audit_events.event(
        "signin_failed",
        request=request,
        username=_tried_name(username),
        reason=reason,
        path=request.path,
    )


def _locked_out(request: HttpRequest, guard: str, username: str = "") -> None:
    metrics.lockouts.labels(guard=guard).inc()
    named = {"username": _tried_name(username)} if username else {}
    audit_events.event("lockout", request=request, guard=guard, path=request.path, **named)


def _throttle(request: HttpRequest, username: str, guard: str = "signin") -> SignInThrottle:
    throttle = SignInThrottle(username, client_address(request))
    wait = throttle.retry_after()
    if wait is not None:
        _locked_out(request, guard, username)
        raise SignInThrottled(wait)
    return throttle


def sign_in(request: HttpRequest, username: str, password: str, otp: str | None = None) -> User:
    """Check a sign-in attempt: throttle first, then password, then the second factor if MFA is on.

    Every way in goes through here (the site's form, the token endpoint, and the admin, whose sign-in is
    the site's). Wrong passwords and wrong codes count against the throttle; a missing code does not (it
    is the normal first step of a two-step sign-in). A suspended member is refused
    (suspension.Suspended) once the password and any code are right.
    """
    throttle = _throttle(request, username)
    user = authenticate(request, username=username, password=password)
    if user is None:
        throttle.record_failure()
        _sign_in_failed(request, username, "wrong username or password")
        raise SignInFailed
    if user.mfa_enabled:
        if not otp:
            audit_events.event(
                "signin_code_required", request=request, actor=user, path=request.path
            )
            raise SecondFactorRequired(user, wrong_code=False)
        if not mfa.verify_second_factor(user, otp):
            throttle.record_failure()
            _sign_in_failed(request, username, "wrong code")
            raise SecondFactorRequired(user, wrong_code=True)
    throttle.record_success()
    _refuse_if_suspended(request, user)
    _signed_in(request, user)
    return user


def _refuse_if_suspended(request: HttpRequest, user: User) -> None:
    """suspension.Suspended, logged, for a suspended member whose credentials were right: asked
    only then, so nobody learns of a suspension (or its reason) without them."""
    try:
        suspension.refuse(user)
    except suspension.Suspended:
        _sign_in_failed(request, user.username, "suspended")
        raise


def _check_code(
    request: HttpRequest, user: User, verify: Callable[[], bool], guard: str = "code"
) -> None:
    """A code check of any kind counts against the same lockout as sign-in (the same secret is being
    guessed): 429 once it is reached, a failure counted for a wrong code."""
    throttle = _throttle(request, user.username, guard)
    if not verify():
        throttle.record_failure()
        raise SignInFailed
    throttle.record_success()


def confirm_password(request: HttpRequest, user: User, password: str) -> None:
    """The member's password, checked as a sign-in checks it (the same lockout), for an action that
    needs it: linking a sign-in provider to the account. Raises SignInThrottled or SignInFailed."""
    _check_code(request, user, lambda: user.check_password(password), guard="signin")


def complete_second_factor(request: HttpRequest, user: User, code: str) -> None:
    """Second step of the HTML sign-in, after the password was checked."""
    try:
        _check_code(request, user, lambda: mfa.verify_second_factor(user, code), guard="signin")
    except SignInFailed:
        _sign_in_failed(request, user.username, "wrong code")
        raise
    _refuse_if_suspended(request, user)
    _signed_in(request, user)


def admin_refusal(request: HttpRequest) -> str | None:
    """Why a signed-in staff member may not use the admin yet: "second_factor" (the account has MFA but
    this session was not signed in with it) or "mfa_setup" (staff must have MFA); None when they may."""
    user = member(request)
    if user.mfa_enabled and not request.session.get(SECOND_FACTOR_SESSION_KEY):
        return "second_factor"
    if user.powers_withheld:
        return "mfa_setup"
    return None


def spend_sign_up_attempt(request: HttpRequest) -> None:
    """Count one account-creation attempt against its address's budget (page and API alike); raises
    SignUpThrottled, counting nothing, once the budget is spent."""
    throttle = SignUpThrottle(client_address(request))
    wait = throttle.retry_after()
    if wait is not None:
        _locked_out(request, "signup")
        raise SignUpThrottled(wait)
    throttle.record_attempt()


def register(*, username: str, email: str, password: str) -> User:
    """Create an account and send the link that verifies its address. Raises ValidationError
    naming the field when the username or email is taken (checked first for a friendly message,
    and by the database's constraints against a race)."""
    errors = {}
    if selectors.username_taken(username):
        errors["username"] = "That username is taken."
    elif selectors.username_retired(username):
        errors["username"] = selectors.USERNAME_RETIRED
    if selectors.email_taken(email):
        errors["email"] = "An account with that email address already exists."
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError:
        raise ValidationError(
            {"username": "That username or email address was just taken."}
        ) from None
    metrics.signups.inc()
    audit_events.event("signup", actor=user)
    verification.send_link(user)
    return user


PROFILE_FIELDS = (
    "full_name",
    "bio",
    "website",
    "organisation",
    "location",
    "links",
    "pinned_workbook_ids",
)


def update_profile(
    user: User,
    *,
    full_name: str,
    bio: str,
    website: str,
    organisation: str | None = None,
    location: str | None = None,
    links: list[dict[str, str]] | None = None,
    pinned_workbook_ids: list[int] | None = None,
) -> User:
    """Save the member's profile (None: leave that field as it is); what shows it (their pages,
    their workbooks' author card and search entries) is told (accounts.signals.member_changed).
    Links, pins and a changed website are checked here (accounts.profiles): ValidationError under
    the field's name. (A website kept as it was is not: saving a pin must not fail on it.)"""
    errors: dict[str, list[str]] = {}
    if website != user.website:
        try:
            website = profiles.clean_website(website)
        except ValidationError as error:
            errors["website"] = error.messages
    if links is not None:
        try:
            links = profiles.clean_links(links)
        except ValidationError as error:
            errors["links"] = error.messages
    if pinned_workbook_ids is not None:
        try:
            pinned_workbook_ids = profiles.clean_pins(user.pk, pinned_workbook_ids)
        except ValidationError as error:
            errors["pinned_workbook_ids"] = error.messages
    if errors:
        raise ValidationError(errors)
    values = {
        "full_name": full_name,
        "bio": bio,
        "website": website,
        "organisation": organisation,
        "location": location,
        "links": links,
        "pinned_workbook_ids": pinned_workbook_ids,
    }
    fields = [name for name in PROFILE_FIELDS if values[name] is not None]
    for name in fields:
        setattr(user, name, values[name])
    user.save(update_fields=fields)
    member_changed.send(sender=User, user=user, fields=frozenset(fields))
    return user


def set_pinned(user: User, workbook_id: int, pinned: bool) -> User:
    """Pin one of the member's published workbooks to their profile (after those pinned already),
    or unpin it. Pins whose workbook is no longer published are dropped on the way; a fourth pin
    is refused (ValidationError, code `too_many_pins`). The member's row is read locked, so two
    pins at once each see the other's rather than one writing over the other. Returns the row as
    saved."""
    with transaction.atomic():
        saved = User.objects.select_for_update().get(pk=user.pk)
        pins = [
            pk
            for pk in profiles.shown_pins(user.pk, saved.pinned_workbook_ids)
            if pk != workbook_id
        ]
        if pinned:
            if len(pins) >= profiles.MAX_PINS:
                raise ValidationError(
                    f"You have pinned {profiles.MAX_PINS} workbooks already: unpin one first.",
                    code="too_many_pins",
                )
            pins.append(workbook_id)
        # Saved through the row just read: the caller's copy may be older than it.
        return update_profile(
            saved,
            full_name=saved.full_name,
            bio=saved.bio,
            website=saved.website,
            pinned_workbook_ids=pins,
        )


def set_active(user: User, active: bool) -> User:
    """Deactivate (or reactivate) an account: a deactivated member's sign-ins end (User.save) and
    their workbooks leave the listings, tag counts and search (accounts.signals.member_changed)."""
    user.is_active = active
    user.save(update_fields=["is_active"])
    member_changed.send(sender=User, user=user, fields=frozenset({"is_active"}))
    return user


def change_password(user: User, new_password: str) -> None:
    """Set a new password. Saving it ends the member's other sign-ins, as on every path that changes a
    password (accounts.signals.sign_ins_ended: API tokens revoked, other sessions end)."""
    user.set_password(new_password)
    user.save(update_fields=["password"])


PASSWORD_NEEDED = "Enter your current password to change your email address."  # noqa: S105


def change_email(
    request: HttpRequest, user: User, new_email: str, password: str = "", otp: str = ""
) -> User:
    """Ask for a new email address (accounts.verification.change_email: it waits for its link).
    Whoever controls the address can reset the password, so a new one needs what deleting the
    account needs (confirm_member: NotConfirmed, or SignInThrottled like a sign-in); the address
    the member already has (which also drops a waiting one) needs nothing. A password not sent at
    all is asked for without counting as a wrong one (a client that does not know yet)."""
    if verification.is_new_address(user, new_email):
        if user.has_usable_password() and not password:
            raise NotConfirmed("password", PASSWORD_NEEDED)
        confirm_member(request, user, password, otp, guard="email_change")
    return verification.change_email(user, new_email)


def user_for_reset_link(uidb64: str, token: str) -> User | None:
    """The user a password-reset link was made for, if the link is genuine and unused."""
    try:
        pk = force_str(urlsafe_base64_decode(uidb64))
        user = User.objects.get(pk=int(pk))
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        return None
    # The token hashes the password and last login, so it stops working once the password changes.
    if not default_token_generator.check_token(user, token):
        return None
    return user


def start_mfa_setup(user: User) -> tuple[str, str]:
    """A fresh secret, kept on the user until confirmed with a code; returns (secret, otpauth URL)."""
    if user.mfa_enabled:
        raise MfaStateError("Two-factor authentication is already on. Turn it off first.")
    user.mfa_secret = mfa.new_secret()
    # No code of the new secret has been used: the last step seen belonged to the old one.
    user.mfa_last_step = 0
    user.save(update_fields=["mfa_secret", "mfa_last_step"])
    return user.mfa_secret, mfa.provisioning_uri(user, user.mfa_secret)


def confirm_mfa(request: HttpRequest, user: User, code: str) -> list[str]:
    """Turn MFA on once the user proves their app has the secret; returns the recovery codes.
    Wrong codes count against the sign-in lockout (SignInThrottled once it is reached)."""
    if user.mfa_enabled:
        raise MfaStateError("Two-factor authentication is already on.")
    if not user.mfa_secret:
        raise MfaStateError("Start the setup first.")
    _check_code(request, user, lambda: mfa.verify_totp(user, code, secret=user.mfa_secret))
    with transaction.atomic():
        # Sign-ins made with the password alone end: a session or token opened before, by the member
        # or by whoever had the password, must not keep the powers the second factor now guards.
        # The caller keeps its own session with update_session_auth_hash.
        user.mfa_enabled = True
        user.sessions_generation = F("sessions_generation") + 1
        user.save(update_fields=["mfa_enabled", "sessions_generation"])
        user.refresh_from_db(fields=["sessions_generation"])
        transaction.on_commit(
            lambda: sign_ins_ended.send(sender=User, user=user, reason="second_factor_on")
        )
        codes = mfa.replace_recovery_codes(user)
    audit_events.event("mfa_enabled", request=request, actor=user)
    return codes


def disable_mfa(request: HttpRequest, user: User, code: str) -> None:
    """Turn MFA off with a current TOTP or a recovery code; wrong codes count like confirm_mfa's."""
    if not user.mfa_enabled:
        raise MfaStateError("Two-factor authentication is not on.")
    _check_code(request, user, lambda: mfa.verify_second_factor(user, code))
    with transaction.atomic():
        user.mfa_enabled = False
        user.mfa_secret = ""
        user.save(update_fields=["mfa_enabled", "mfa_secret"])
        user.recovery_codes.all().delete()
    audit_events.event("mfa_disabled", request=request, actor=user)


# --- Leaving: export and account deletion --------------------------------------------------------

EXPORT_LINK_SALT = "accounts.export"


class ExportThrottled(Throttled):
    message = "You asked for an export a moment ago."


def request_export(user: User) -> DataExport:
    """Start making the member's data export (accounts.exports) on a worker; the link is emailed
    and shown in Settings once it is ready. One every EXPORT_EVERY_MINUTES per member
    (ExportThrottled): each reads everything the member made. The member's row is locked so that
    two requests at once cannot both pass the check."""
    every = timedelta(minutes=settings.EXPORT_EVERY_MINUTES)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).exists()
        last = user.data_exports.order_by("-created_at").values_list("created_at", flat=True)
        newest = last.first()
        if newest is not None and newest > timezone.now() - every:
            wait = newest + every - timezone.now()
            raise ExportThrottled(max(1, math.ceil(wait.total_seconds())))
        export = DataExport.objects.create(user=user)
        jobs.later("accounts.tasks.build_export", str(export.pk))
    return export


def build_export(export_id: str) -> None:
    """Make the ZIP of an export asked for, email its link, and drop the member's older exports.
    Safe to run twice (a retried task): a ready export is left as it is."""
    export = DataExport.objects.select_related("user").filter(pk=export_id).first()
    if export is None or export.is_ready:
        return
    name = exports.build(export.user)
    expires_at = timezone.now() + timedelta(hours=settings.EXPORT_LINK_HOURS)
    with transaction.atomic():
        made = DataExport.objects.filter(pk=export.pk, file="").update(
            file=name, expires_at=expires_at
        )
        if not made:  # the member left, or a twin run finished first: this file is nobody's
            transaction.on_commit(lambda: exports.remove(name))
            return
        older = list(
            DataExport.objects.filter(user_id=export.user_id, created_at__lt=export.created_at)
        )
        _remove_exports(older)
        export.file, export.expires_at = name, expires_at
        send_later(
            mail.compose(
                to=export.user.email,
                template="accounts/email/export_ready",
                context={
                    "member": export.user,
                    "url": mail.absolute(export_link(export)),
                    "expires_at": expires_at,
                    "hours": settings.EXPORT_LINK_HOURS,
                },
            )
        )


def export_link(export: DataExport) -> str:
    """The download page of a ready export, signed: it works for EXPORT_LINK_HOURS."""
    token = signing.dumps(str(export.pk), salt=EXPORT_LINK_SALT)
    return reverse("accounts:export-download", args=[token])


def export_from_link(token: str, member: User) -> DataExport | None:
    """The ready export the signed `token` names, if the signature holds, it has not expired and
    it is `member`'s; None otherwise (the link alone is not enough: it travels by email)."""
    try:
        export_id = signing.loads(
            token, salt=EXPORT_LINK_SALT, max_age=timedelta(hours=settings.EXPORT_LINK_HOURS)
        )
    except signing.BadSignature:  # SignatureExpired included
        return None
    return (
        DataExport.objects.filter(pk=export_id, user=member, expires_at__gt=timezone.now())
        .exclude(file="")
        .first()
    )


def current_export(user: User) -> DataExport | None:
    """The member's newest export, while it is being prepared or its link still works."""
    export = user.data_exports.order_by("-created_at").first()
    if export is None:
        return None
    if export.expires_at is not None and export.expires_at <= timezone.now():
        return None
    if not export.is_ready and export.created_at < timezone.now() - UNFINISHED_EXPORT_AGE:
        return None  # its job was lost; the cleanup removes it
    return export


# An export not made within this time never will be (its task gave up): the cleanup removes it.
UNFINISHED_EXPORT_AGE = timedelta(hours=6)


def remove_expired_exports(now: datetime | None = None) -> int:
    """Exports whose link expired, and those never finished: their files and rows. Returns how
    many (the hourly beat job)."""
    now = now or timezone.now()
    gone = list(
        DataExport.objects.filter(
            Q(expires_at__lte=now) | Q(file="", created_at__lt=now - UNFINISHED_EXPORT_AGE)
        )
    )
    with transaction.atomic():
        _remove_exports(gone)
    return len(gone)


def _remove_exports(gone: list[DataExport]) -> None:
    """Rows now; their files once that is committed (accounts.receivers.remove_export_file)."""
    if gone:
        DataExport.objects.filter(pk__in=[export.pk for export in gone]).delete()


class NotConfirmed(Exception):
    """The member could not be re-checked before an action that needs it (deleting the account,
    linking a sign-in provider): `field` ("password", "otp" or "reauthenticate") says what is
    wrong, `message` how to put it right."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


PASSWORD_WRONG = "That password is not right."  # noqa: S105 - a message
CODE_NEEDED = "Enter a code from your authenticator app (or a recovery code)."
CODE_WRONG = "That code is not valid. Codes work once and change every 30 seconds."
REAUTHENTICATE = "Sign in again with your provider first, then come back to this page."
REAUTHENTICATE_ON_SITE = (
    "Your account has no password, and a sign-in again with your provider counts only on the site: "
    "do this on the site, or set a password first."
)


def confirm_member(
    request: HttpRequest, user: User, password: str, otp: str = "", *, guard: str
) -> None:
    """Check the member really is the member before an action a stolen session must not do: their
    password (or, for a member without one, a sign-in with one of their providers just now, in this
    session, which this spends) and their second factor when it is on. Wrong passwords and codes
    count against the sign-in lockout (SignInThrottled, 429): this form guesses the same secrets."""
    throttle = _throttle(request, user.username, guard=guard)
    reauthenticated = False
    if user.has_usable_password():
        if not user.check_password(password or ""):
            throttle.record_failure()
            raise NotConfirmed("password", PASSWORD_WRONG)
    elif providers.reauthenticated_recently(request, user):
        reauthenticated = True
    else:
        bearer = providers.bearer_request(request)
        raise NotConfirmed("reauthenticate", REAUTHENTICATE_ON_SITE if bearer else REAUTHENTICATE)
    if user.mfa_enabled:
        if not otp:
            raise NotConfirmed("otp", CODE_NEEDED)
        if not mfa.verify_second_factor(user, otp):
            throttle.record_failure()
            raise NotConfirmed("otp", CODE_WRONG)
    throttle.record_success()
    if reauthenticated:
        providers.spend_reauthentication(request)


def confirm_leaving(request: HttpRequest, user: User, password: str, otp: str = "") -> None:
    """confirm_member before the account goes."""
    confirm_member(request, user, password, otp, guard="delete_account")


def delete_account(user: User) -> None:
    """Delete the member and what they made, in one transaction.

    The apps above hear of it first (accounts.signals.member_deleting), while what the row takes
    with it by cascade is still there to read: workbooks retire their pages and thumbnails,
    social puts other members' counters right. The cascade then removes their workbooks (with
    the comments on them), favorites, follows, collections, notifications, pictures, exports and
    sign-ins; their comments on others' workbooks stay, shown as by a "deleted member". The
    username is retired for RETIRED_USERNAME_DAYS, so nobody can take over the name others know."""
    with transaction.atomic():
        hold_avatar(user)  # before the row is locked, as the admin's delete does
        locked = User.objects.select_for_update().get(pk=user.pk)
        member_deleting.send(sender=User, user=locked)
        OutstandingToken.objects.filter(user=locked).delete()  # kept otherwise (SET_NULL)
        RetiredUsername.objects.update_or_create(
            username=locked.username.lower(),
            defaults={"until": timezone.now() + timedelta(days=settings.RETIRED_USERNAME_DAYS)},
        )
        member_id, username = locked.pk, locked.username
        locked.delete()
        # Their open sockets and event streams close (social), as when any sign-in ends. The row
        # is gone, so receivers get a stand-in that still has its id.
        gone = User(pk=member_id, username=username)
        transaction.on_commit(lambda: sign_ins_ended.send(sender=User, user=gone, reason="deleted"))
    audit_events.event("account_deleted", subject_id=member_id, subject=username)
