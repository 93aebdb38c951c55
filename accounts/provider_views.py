"""Pages of sign-in with a provider (/accounts/provider/...): the buttons' start, the provider's
callback, choosing a username, confirming a link with the password, unlinking, re-signing in."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from social_core.actions import do_auth, do_complete
from social_core.exceptions import (
    AuthAssociationError,
    AuthCanceled,
    AuthPolicyError,
    SocialAuthBaseException,
)
from social_core.utils import PARTIAL_TOKEN_SESSION_NAME
from social_django.utils import load_strategy, psa

from sigma_playground.errors import problem_page, retry_later
from sigma_playground.forms import form_retry_later, render_form
from sigma_playground.http import next_url

from . import pipeline, providers, services
from .forms import ReconfirmForm
from .http import AuthenticatedHttpRequest
from .models import User
from .views import settings_page

COMPLETE = "accounts:provider-complete"


def _enabled_or_404(backend: str) -> None:
    if not providers.is_enabled(backend):
        raise Http404("No such sign-in provider.")


def _start(request: HttpRequest, backend: str, intent: dict[str, Any]) -> HttpResponse:
    request.session[pipeline.INTENT] = intent
    return _begin(request, backend)


@psa(COMPLETE)
def _begin(request: Any, backend: str) -> HttpResponse:
    user = request.user if request.user.is_authenticated else None
    return do_auth(request.backend, user=user)


@never_cache
@csrf_protect
@require_POST
def begin(request: HttpRequest, backend: str) -> HttpResponse:
    """A "Continue with <provider>" button (sign-in and sign-up pages), or Settings' Link (signed in)."""
    _enabled_or_404(backend)
    if request.user.is_authenticated:
        # Linking first asks the member to confirm it is them (link_provider).
        return redirect("accounts:provider-link-start", backend=backend)
    return _start(
        request, backend, {"action": "signin", "next": next_url(request, reverse("home"))}
    )


@sensitive_post_parameters("password", "otp")
@never_cache
@login_required
@csrf_protect
@require_http_methods(["GET", "POST"])
def link_provider(request: AuthenticatedHttpRequest, backend: str) -> HttpResponse:
    """Settings' Link: the member confirms it is them (their password, or a sign-in again with a
    provider already linked when they have none, and their second factor when on), then on to
    the provider. A stolen session alone must not add a way back in that outlives a new password."""
    _enabled_or_404(backend)
    user: User = request.user
    if providers.linked(user).filter(provider=backend).exists():
        messages.info(request, f"{providers.label(backend)} is already linked.")
        return redirect("accounts:settings")
    form = ReconfirmForm(request.POST if request.method == "POST" else None, user=user)
    has_password = user.has_usable_password()
    context = {
        "form": form,
        "provider": providers.label(backend),
        "backend": backend,
        "has_password": has_password,
        "reauthenticated": has_password or providers.reauthenticated_recently(request, user),
        "reauth_methods": [] if has_password else providers.reauthentication_methods(user),
    }
    if request.method == "POST" and form.is_valid():
        providers.check_link_rate(user)
        data = form.cleaned_data
        try:
            services.confirm_member(
                request, user, data.get("password", ""), data.get("otp", ""), guard="provider_link"
            )
        except services.SignInThrottled as error:
            return form_retry_later(request, "accounts/provider_link_start.html", context, error)
        except services.NotConfirmed as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            intent = {"action": "link", "user_id": user.pk, "next": reverse("accounts:settings")}
            return _start(request, backend, intent)
    return render_form(request, "accounts/provider_link_start.html", context)


@never_cache
@login_required
@csrf_protect
@require_POST
def reauthenticate(request: AuthenticatedHttpRequest, backend: str) -> HttpResponse:
    """Sign in again through one of the member's linked providers, then back to `next` (a page on
    this site): account deletion asks for it from members who have no password."""
    _enabled_or_404(backend)
    if not providers.linked(request.user).filter(provider=backend).exists():
        raise Http404("That provider is not linked to your account.")
    after = next_url(request, reverse("accounts:settings"))
    return _start(request, backend, {"action": "reauth", "next": after})


@never_cache
@csrf_exempt  # the provider's redirect back; `state` (and the nonce, PKCE) tie it to this browser
@require_http_methods(["GET", "POST"])
def complete(request: HttpRequest, backend: str) -> HttpResponse:
    if not providers.is_enabled(backend):
        return _error(request, "That sign-in provider is not available.", 404)
    try:
        return _complete(request, backend)
    except pipeline.Refused as refusal:
        return _error(request, refusal.message, 403)
    except AuthCanceled:
        return _error(request, f"Sign-in with {providers.label(backend)} was cancelled.", 400)
    except AuthAssociationError:
        return _error(request, pipeline.already_linked_message(backend), 403)
    except AuthPolicyError as error:
        return _error(request, str(error), 403)
    except SocialAuthBaseException as error:
        # State missing or mismatched (a stale or replayed answer), a code refused, the provider
        # unreachable: the member can simply start again.
        return _error(request, f"{error} Please try again.", 400)


@psa(COMPLETE)
def _complete(request: Any, backend: str) -> HttpResponse:
    user = request.user if request.user.is_authenticated else None
    return do_complete(request.backend, _no_login, user=user)


def _no_login(*args, **kwargs) -> None:
    # accounts.pipeline.finish signs in (or asks for the second factor) and answers a redirect, so
    # social-core never gets to sign anyone in itself.
    raise AssertionError("provider sign-in ends in accounts.pipeline.finish")


def _error(request: HttpRequest, message: str, status: int) -> HttpResponse:
    request.session.pop(pipeline.INTENT, None)
    return problem_page(request, status, message, title="Sign-in did not work")


@never_cache
def error(request: HttpRequest) -> HttpResponse:
    return _error(request, "Sign-in with that provider did not work. Please try again.", 400)


# --- The pipeline's two questions ---------------------------------------------------------------


def _pending(request: HttpRequest) -> tuple[str, str, dict[str, Any]] | None:
    """(partial token, provider, what the pipeline knows) of the sign-in waiting for an answer."""
    token = request.session.get(PARTIAL_TOKEN_SESSION_NAME)
    partial = load_strategy(request).partial_load(token) if isinstance(token, str) else None
    if partial is None or token is None:
        return None
    return token, str(partial.backend), dict(partial.kwargs)


def _resume(
    request: HttpRequest, token: str, provider: str, uid: str, **decided: Any
) -> HttpResponse:
    """Back to the waiting pipeline (accounts.pipeline.sign_up_or_link), with who it is: an
    account's `user_id`, or the `username` of the account to make."""
    request.session[pipeline.DECIDED] = {"provider": provider, "uid": uid, **decided}
    url = reverse(COMPLETE, args=[provider])
    return redirect(f"{url}?{urlencode({'partial_token': token})}")


def _start_again(request: HttpRequest) -> HttpResponse:
    messages.info(request, "That sign-in took too long or was already used. Please start again.")
    return redirect("accounts:login")


class UsernameForm(forms.Form):
    username = forms.CharField(
        max_length=30,
        help_text="3 to 30 letters, digits, hyphens or underscores. It is in your profile's address.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        try:
            return pipeline.check_username(username)
        except ValidationError as error:
            raise ValidationError(error.message_dict["username"]) from None


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def choose_username(request: HttpRequest) -> HttpResponse:
    pending = _pending(request)
    if pending is None:
        return _start_again(request)
    token, provider, known = pending
    details = known.get("details") or {}
    email = (details.get("email") or "").strip()
    initial = {"username": pipeline.suggested_username(details.get("username") or "", email)}
    form = UsernameForm(request.POST or None, initial=initial)
    context = {"form": form, "provider": providers.label(provider), "email": email}
    if request.method == "POST":
        try:
            services.spend_sign_up_attempt(request)
        except services.SignUpThrottled as throttled:
            messages.error(request, str(throttled))
            return retry_later(
                render_form(request, "accounts/provider_username.html", context), throttled
            )
        if form.is_valid():
            # The account is made with its link when the pipeline resumes (or not at all).
            username = form.cleaned_data["username"]
            return _resume(request, token, provider, str(known.get("uid")), username=username)
    return render_form(request, "accounts/provider_username.html", context)


class LinkPasswordForm(forms.Form):
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


@sensitive_post_parameters("password")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def confirm_link(request: HttpRequest) -> HttpResponse:
    pending = _pending(request)
    if pending is None:
        return _start_again(request)
    token, provider, known = pending
    email = ((known.get("details") or {}).get("email") or "").strip()
    account = pipeline.account_to_link(email, bool(known.get("email_verified")))
    if account is None:
        return _start_again(request)
    form = LinkPasswordForm(request.POST or None)
    context = {"form": form, "provider": providers.label(provider), "email": email}
    if request.method == "POST" and form.is_valid():
        try:
            services.confirm_password(request, account, form.cleaned_data["password"])
        except services.SignInThrottled as throttled:
            return form_retry_later(
                request, "accounts/provider_link.html", context, throttled, field="password"
            )
        except services.SignInFailed:
            form.add_error("password", "That is not the password of this account.")
        else:
            return _resume(request, token, provider, str(known.get("uid")), user_id=account.pk)
    return render_form(request, "accounts/provider_link.html", context)


# --- Settings ----------------------------------------------------------------------------------


@never_cache
@login_required
@csrf_protect
@require_POST
def unlink(request: AuthenticatedHttpRequest, backend: str) -> HttpResponse:
    providers.check_link_rate(request.user)
    try:
        providers.unlink(request.user, backend)
    except providers.LastWayIn as refusal:
        messages.error(request, str(refusal))
        return settings_page(request, status=400)
    messages.success(request, f"{providers.label(backend)} is unlinked.")
    return redirect("accounts:settings")
