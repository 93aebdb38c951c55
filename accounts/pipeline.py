"""Sign-in with a provider: what happens once a provider has said who someone is.

The rules, shared by the pages (social-core's pipeline, SOCIAL_AUTH_PIPELINE) and the API
(accounts.api.providers):

- an identity already linked signs its member in;
- a signed-in member linking from Settings gets the identity linked (never one linked to someone else);
- otherwise, only when the provider vouches for an address (`email_verified`) that is an account's,
  the identity is linked to that account once the member confirms with its password;
- otherwise a new account is made, the member choosing its username (checked as on sign-up), verified
  only when the provider vouched for the address, and with no password;
- the sign-in then goes through what every sign-in does: inactive and suspended accounts are refused,
  and a member with two-factor authentication on is asked for a code (accounts:login-verify).
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from social_core.exceptions import AuthPolicyError
from social_core.pipeline.partial import partial
from social_django.models import UserSocialAuth

from sigma_playground.observability import audit as audit_events
from sigma_playground.observability import metrics

from . import providers, selectors, suspension
from .models import USERNAME_MAX_LENGTH, User
from .views import AUTH_BACKEND, PENDING_SECOND_FACTOR

# What the member set out to do when they pressed the button (accounts.provider_views.begin).
INTENT = "accounts:provider_intent"
# What the choose-username or confirm-link page decided, for the pipeline it resumes.
DECIDED = "accounts:provider_decided"


class Refused(AuthPolicyError):
    """A provider sign-in we will not complete; `message` says why, on the error page."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message, stage="pipeline")
        self.message = message


# --- Rules ------------------------------------------------------------------------------------


def check_username(username: str) -> str:
    """A username for a new account, checked as sign-up checks it; ValidationError otherwise."""
    field = User._meta.get_field("username")
    try:
        MaxLengthValidator(USERNAME_MAX_LENGTH)(username)
        field.run_validators(username)
    except ValidationError as error:
        raise ValidationError({"username": error.messages}) from None
    if selectors.username_taken(username):
        raise ValidationError({"username": "That username is taken."})
    if selectors.username_retired(username):
        raise ValidationError({"username": selectors.USERNAME_RETIRED})
    return username


def suggested_username(identity_username: str, email: str) -> str:
    """The provider's name for the person, as a starting point for the form (it may be taken)."""
    candidate = identity_username or email.partition("@")[0]
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in candidate).strip("-_")
    return cleaned[:USERNAME_MAX_LENGTH]


def account_to_link(email: str, email_verified: bool) -> User | None:
    """The account a first sign-in may be linked to: only one whose address the provider vouched for."""
    if not (email and email_verified):
        return None
    return User.objects.filter(email__lower=email.lower()).first()


def refuse_new_account(provider: str, email: str) -> None:
    """Why an identity cannot make an account (raises Refused): no address, or the address is an
    account's the provider did not vouch for (linking it would hand that account over)."""
    name = providers.label(provider)
    if not email:
        raise Refused(f"{name} did not share an email address with us, which an account needs.")
    if selectors.email_taken(email):
        raise Refused(
            f"An account already uses {email}, and {name} did not confirm that the address is yours. "
            f"Sign in with your password, then link {name} in Settings.",
        )


def create_member(*, username: str, email: str, email_verified: bool) -> User:
    """A new account for a provider sign-in: no password (a provider is its way in)."""
    check_username(username)
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=None)
            user.email_verified = email_verified
            user.save(update_fields=["email_verified"])
    except IntegrityError:
        raise ValidationError({"username": "That username was just taken."}) from None
    metrics.signups.inc()
    audit_events.event("signup", actor=user, method="provider")
    return user


def link(user: User, identity: providers.Identity, *, announce: bool = True) -> UserSocialAuth:
    """Link an identity to `user`; refused (Refused) when it is linked to another member already.
    The member is told by email (`announce`; not for the link an account is made with)."""
    existing = UserSocialAuth.objects.filter(
        provider=identity.provider, uid=identity.uid, id_key=identity.id_key
    ).first()
    if existing is not None:
        if existing.user_id != user.pk:
            raise Refused(already_linked_message(identity.provider))
        return existing
    extra = {"email": identity.email} if identity.email else {}
    try:
        with transaction.atomic():
            made = UserSocialAuth.objects.create(
                user=user,
                provider=identity.provider,
                uid=identity.uid,
                id_key=identity.id_key,
                extra_data=extra,
            )
    except IntegrityError:  # linked by a request running at the same time
        raise Refused(already_linked_message(identity.provider)) from None
    if announce:
        providers.tell_member(user, identity.provider, linked=True)
    return made


def already_linked_message(provider: str) -> str:
    return f"That {providers.label(provider)} account is linked to another member."


def refusal(user: User) -> str | None:
    """Why `user` may not sign in now (deactivated, or suspended by a moderator), or None."""
    if not user.is_active:
        return "This account is deactivated."
    try:
        suspension.refuse(user)
    except suspension.Suspended as error:
        return str(error)
    return None


# --- Pipeline steps (pages) ---------------------------------------------------------------------


def remember_email_verified(backend, response, details, *args, **kwargs) -> dict[str, Any]:
    return {
        "email_verified": providers.email_verified(
            backend.name, response, (details.get("email") or "").strip()
        )
    }


def _intent(strategy) -> dict[str, Any]:
    return strategy.request.session.get(INTENT) or {}


@partial
def sign_up_or_link(strategy, backend, details, uid, user=None, social=None, *args, **kwargs):
    """Decide who this identity is: a signed-in member (linking or signing in again), the member it
    is linked to, an account to link (confirm-link page), or a new account (choose-username page)."""
    intent = _intent(strategy)
    if intent.get("action") == "reauth":
        # Only one of the member's own links proves it is them; a new link would prove nothing.
        if user is None or social is None or social.user_id != user.pk:
            raise Refused(
                f"Sign in with a {providers.label(backend.name)} account linked to yours.",
            )
        return {"user": user}
    if user is not None:
        if social is None and not (
            intent.get("action") == "link" and intent.get("user_id") == user.pk
        ):
            # A new link only from Settings' link page, once the member confirmed it is them: a
            # stolen session must not add a way back in.
            raise Refused(
                f"To link {providers.label(backend.name)}, start from Settings and confirm it is you."
            )
        return {"user": user}
    decided = strategy.request.session.get(DECIDED) or {}
    if decided.get("provider") == backend.name and decided.get("uid") == str(uid):
        del strategy.request.session[DECIDED]
        if decided.get("username"):
            return _new_member(strategy, backend, details, uid, decided["username"], kwargs)
        chosen = User.objects.filter(pk=decided["user_id"]).first()
        if chosen is not None:  # (else deleted meanwhile: ask again)
            return {"user": chosen, "is_new": False}
    email = (details.get("email") or "").strip()
    if account_to_link(email, kwargs.get("email_verified", False)) is not None:
        return redirect("accounts:provider-link")
    refuse_new_account(backend.name, email)
    return redirect("accounts:provider-username")


def _new_member(strategy, backend, details, uid, chosen: str, kwargs: dict[str, Any]) -> Any:
    """The account the member chose a username for, made now with its link, in one transaction:
    a sign-in abandoned before this leaves no account behind to hold the address."""
    email = (details.get("email") or "").strip()
    refuse_new_account(backend.name, email)  # (the address may have been taken meanwhile)
    identity = providers.Identity(
        provider=backend.name,
        uid=str(uid),
        id_key=kwargs.get("id_key") or backend.id_key(),
        email=email,
        email_verified=bool(kwargs.get("email_verified")),
        username="",
        full_name="",
        response={},
    )
    try:
        with transaction.atomic():
            user = create_member(
                username=chosen, email=email, email_verified=identity.email_verified
            )
            social = link(user, identity, announce=False)
    except ValidationError as taken:
        messages.error(strategy.request, " ".join(taken.message_dict["username"]))
        return redirect("accounts:provider-username")
    return {"user": user, "social": social, "is_new": True}


def finish(strategy, backend, user, social=None, details=None, *args, **kwargs) -> HttpResponse:
    """Sign the member in (or ask for their code), or finish a link or a re-sign-in."""
    request = strategy.request
    if kwargs.get("new_association") and not kwargs.get("is_new"):
        # Linked to an existing account (Settings, or the confirm-link page): tell its address.
        providers.tell_member(user, backend.name, linked=True)
    intent = request.session.pop(INTENT, None) or {}
    after = intent.get("next") or reverse("home")
    name = providers.label(backend.name)
    email = ((details or {}).get("email") or "").strip()
    if social is not None and email and (social.extra_data or {}).get("email") != email:
        social.extra_data = {**(social.extra_data or {}), "email": email}
        social.save(update_fields=["extra_data"])
    if intent.get("action") == "reauth":
        providers.mark_reauthenticated(request, user)
        return redirect(after)
    if request.user.is_authenticated:
        messages.success(request, f"{name} is linked: you can sign in with it.")
        return redirect("accounts:settings")
    return sign_in(request, user, after, how=backend.name)


def sign_in(request: HttpRequest, user: User, after: str, *, how: str) -> HttpResponse:
    """The end of a provider sign-in: refused, on to the second factor, or signed in."""
    why = refusal(user)
    if why is not None:
        raise Refused(why)
    if user.mfa_enabled:
        # The same half-finished sign-in the password form leaves (accounts.views.signin).
        request.session.cycle_key()
        request.session[PENDING_SECOND_FACTOR] = {
            "user_id": user.pk,
            "at": time.time(),
            "next": after,
        }
        return redirect("accounts:login-verify")
    login(request, user, backend=AUTH_BACKEND)
    metrics.signins.labels(method="web").inc()
    audit_events.event("signin", request=request, actor=user, method=f"provider:{how}")
    return redirect(after)
