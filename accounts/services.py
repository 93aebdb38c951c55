"""Account actions, one function per thing a user does; used by the HTML views and the API alike."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from . import mfa, selectors, tokens
from .models import User
from .throttling import SignInThrottle, client_address


class SignInThrottled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed sign-ins. Try again in {retry_after} seconds.")
        self.retry_after = retry_after


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


def _throttle(request: HttpRequest, username: str) -> SignInThrottle:
    throttle = SignInThrottle(username, client_address(request))
    wait = throttle.retry_after()
    if wait is not None:
        raise SignInThrottled(wait)
    return throttle


def sign_in(request: HttpRequest, username: str, password: str, otp: str | None = None) -> User:
    """Check a sign-in attempt: throttle first, then password, then the second factor if MFA is on.

    Wrong passwords and wrong codes count against the throttle; a missing code does not (it is the normal
    first step of a two-step sign-in).
    """
    throttle = _throttle(request, username)
    user = authenticate(request, username=username, password=password)
    if user is None:
        throttle.record_failure()
        raise SignInFailed
    if user.mfa_enabled:
        if not otp:
            raise SecondFactorRequired(user, wrong_code=False)
        if not mfa.verify_second_factor(user, otp):
            throttle.record_failure()
            raise SecondFactorRequired(user, wrong_code=True)
    throttle.record_success()
    return user


def complete_second_factor(request: HttpRequest, user: User, code: str) -> None:
    """Second step of the HTML sign-in, after the password was checked."""
    throttle = _throttle(request, user.username)
    if not mfa.verify_second_factor(user, code):
        throttle.record_failure()
        raise SignInFailed
    throttle.record_success()


def register(*, username: str, email: str, password: str) -> User:
    """Create an account. Raises ValidationError naming the field when the username or email is taken
    (checked first for a friendly message, and by the database's constraints against a race)."""
    errors = {}
    if selectors.username_taken(username):
        errors["username"] = "That username is taken."
    if selectors.email_taken(email):
        errors["email"] = "An account with that email address already exists."
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError:
        raise ValidationError(
            {"username": "That username or email address was just taken."}
        ) from None


def update_profile(user: User, *, full_name: str, bio: str, website: str) -> User:
    user.full_name, user.bio, user.website = full_name, bio, website
    user.save(update_fields=["full_name", "bio", "website"])
    return user


def change_password(user: User, new_password: str, *, reason: str = "password_change") -> None:
    """Set a new password and end every API login; browser sessions end through Django's auth hash."""
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        tokens.revoke_all_for_user(user, reason=reason)


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


def confirm_mfa(user: User, code: str) -> list[str]:
    """Turn MFA on once the user proves their app has the secret; returns the recovery codes."""
    if user.mfa_enabled:
        raise MfaStateError("Two-factor authentication is already on.")
    if not user.mfa_secret:
        raise MfaStateError("Start the setup first.")
    if not mfa.verify_totp(user, code, secret=user.mfa_secret):
        raise SignInFailed
    with transaction.atomic():
        user.mfa_enabled = True
        user.save(update_fields=["mfa_enabled"])
        return mfa.replace_recovery_codes(user)


def disable_mfa(user: User, code: str) -> None:
    if not user.mfa_enabled:
        raise MfaStateError("Two-factor authentication is not on.")
    if not mfa.verify_second_factor(user, code):
        raise SignInFailed
    with transaction.atomic():
        user.mfa_enabled = False
        user.mfa_secret = ""
        user.save(update_fields=["mfa_enabled", "mfa_secret"])
        user.recovery_codes.all().delete()
