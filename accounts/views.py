from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts.http import AuthenticatedHttpRequest
from media import selectors as media_selectors
from media import services as media_services
from media.forms import PictureForm, report_outcome
from media.models import Image
from media.storage import upload_storage
from sigma_playground.errors import retry_later
from sigma_playground.forms import form_retry_later, render_form
from sigma_playground.http import next_url

from . import exports, mfa, providers, services, settings_sections, suspension, verification
from .forms import (
    CodeForm,
    DeleteAccountForm,
    EmailChangeForm,
    PasswordChangeForm,
    PasswordResetForm,
    ProfileForm,
    SetPasswordForm,
    SignInForm,
    SignUpForm,
)
from .models import User

PENDING_SECOND_FACTOR = "accounts:pending_second_factor"
PENDING_SECOND_FACTOR_SECONDS = 300
AUTH_BACKEND = "django.contrib.auth.backends.ModelBackend"


class InvalidFormIs400:
    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    after = next_url(request, reverse("home"))
    if request.method == "POST":
        try:
            services.spend_sign_up_attempt(request)
        except services.SignUpThrottled as error:
            messages.error(request, str(error))
            # Not validated: even a refused sign-up would say whether a name or address is taken.
            form = SignUpForm(
                initial={name: request.POST.get(name) for name in ("username", "email")}
            )
            return retry_later(
                render_form(request, "accounts/signup.html", {"form": form, "next": after}), error
            )
    if request.method == "POST" and form.is_valid():
        try:
            user = form.save()
        except ValidationError:
            pass  # the form now carries the error by its field
        else:
            login(request, user, backend=AUTH_BACKEND)
            welcome = f"Welcome to Sigma Playground, {user.username}."
            if verification.links_sent():
                welcome += f" We sent a link to {user.email}: follow it to verify your address."
            messages.success(request, welcome)
            return redirect(after)
    return render_form(request, "accounts/signup.html", {"form": form, "next": after})


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def signin(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request, request.POST or None)
    after = next_url(request, reverse("home"))
    context = {"form": form, "next": after}
    if request.method == "POST":
        if form.is_valid() and form.user is not None:
            if form.needs_second_factor:
                # A new key for the half-finished sign-in, as login() gives the finished one: a
                # key planted before the password (a fixed cookie) cannot be used to finish it.
                request.session.cycle_key()
                request.session[PENDING_SECOND_FACTOR] = {
                    "user_id": form.user.pk,
                    "at": time.time(),
                    "next": after,
                }
                return redirect("accounts:login-verify")
            login(request, form.user, backend=AUTH_BACKEND)
            return _after_sign_in(request, form.user, after)
        if form.throttled is not None:  # shown on the form, with what was typed
            return retry_later(render_form(request, "accounts/login.html", context), form.throttled)
    return render_form(request, "accounts/login.html", context)


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def signin_verify(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING_SECOND_FACTOR)
    if not pending or time.time() - pending["at"] > PENDING_SECOND_FACTOR_SECONDS:
        request.session.pop(PENDING_SECOND_FACTOR, None)
        messages.info(request, "Please sign in again.")
        return redirect("accounts:login")
    user = User.objects.filter(pk=pending["user_id"], is_active=True).first()
    if user is None:
        return redirect("accounts:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.complete_second_factor(request, user, form.cleaned_data["code"])
        except services.SignInThrottled as error:
            return form_retry_later(
                request, "accounts/login_verify.html", {"form": form}, error, field="code"
            )
        except services.SignInFailed:
            form.add_error(
                "code", "That code is not valid. Codes work once and change every 30 seconds."
            )
        except suspension.Suspended as error:
            # The half-finished sign-in cannot be finished: a new one is refused the same way.
            del request.session[PENDING_SECOND_FACTOR]
            form.add_error(None, str(error))
        else:
            del request.session[PENDING_SECOND_FACTOR]
            login(request, user, backend=AUTH_BACKEND)
            request.session[services.SECOND_FACTOR_SESSION_KEY] = True
            return _after_sign_in(request, user, pending["next"])
    return render_form(request, "accounts/login_verify.html", {"form": form})


def _after_sign_in(request: HttpRequest, user: User, after: str) -> HttpResponse:
    if user.powers_withheld:
        messages.warning(
            request,
            "Staff need two-factor sign-in. Set it up now to use the admin and your staff powers.",
        )
        return redirect("accounts:mfa")
    return redirect(after)


@never_cache
@require_http_methods(["GET"])
def verify_email(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The link from a verification email, followed signed in or not (the link is the proof)."""
    user = verification.user_for_link(uidb64, token)
    if user is None:
        return _verify_failed(
            request,
            "This link has expired, was already used, or was made for an address that has "
            "changed since.",
        )
    # Who follows it, read before a new address ends the member's sessions: theirs stays.
    followed_by_member = request.user.is_authenticated and request.user.pk == user.pk
    try:
        verification.confirm(user)
    except ValidationError as error:  # the new address was taken meanwhile
        return _verify_failed(request, error.message_dict["email"][0])
    if followed_by_member:
        update_session_auth_hash(request, user)
    return render(request, "accounts/verify_done.html", {"address": user.email})


def _verify_failed(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "accounts/verify_failed.html", {"message": message}, status=400)


@login_required
@require_POST
def resend_verification(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The banner's and the refusals' button: a new link (too many: 429, from the services' refusal)."""
    if verification.resend(request.user):
        address = request.user.pending_email or request.user.email
        messages.success(request, f"We sent a new link to {address}.")
    else:
        messages.info(request, "Your email address is already verified.")
    return redirect(next_url(request, reverse("accounts:settings")))


@sensitive_post_parameters("password", "otp")
@login_required
@require_POST
def email_change(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Settings' email address: a new one, once the password (or a provider sign-in just now) and
    the second factor prove it is the member, waits for its link (accounts.verification). Too
    many wrong passwords or emails: 429, from the services' refusal."""
    form = EmailChangeForm(request.POST, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.change_email(
                request, request.user, data["email"], data.get("password", ""), data.get("otp", "")
            )
        except services.NotConfirmed as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        except ValidationError as error:
            form.add_error("email", error.message_dict["email"])
        else:
            if not verification.links_sent():
                # Changed at once: the other sign-ins ended, this one stays.
                update_session_auth_hash(request, request.user)
            if request.user.pending_email:
                messages.success(
                    request,
                    f"We sent a link to {request.user.pending_email}: your address changes when "
                    "you follow it.",
                )
            else:
                messages.success(request, "Your email address is saved.")
            return redirect("accounts:settings")
    return settings_page(request, email_form=form, status=400)


class SignOutView(auth_views.LogoutView):
    """POST only (Django's LogoutView refuses GET): a link or an image tag cannot sign anyone out."""


@login_required
@require_http_methods(["GET", "POST"])
def settings_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Its own instance: a refused form must not leave its values on request.user, shown in the nav.
    form = ProfileForm(request.POST or None, instance=User.objects.get(pk=request.user.pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_profile(request.user, **form.profile())
        except ValidationError as error:
            # A pin that is no longer the member's published workbook (unpublished meanwhile).
            for messages_of_field in error.message_dict.values():
                form.add_error(None, messages_of_field)
        else:
            messages.success(request, "Your profile is saved.")
            return redirect("accounts:settings")
    return settings_page(request, form=form)


def settings_page(
    request: AuthenticatedHttpRequest,
    *,
    form: ProfileForm | None = None,
    picture_form: PictureForm | None = None,
    email_form: EmailChangeForm | None = None,
    status: int | None = None,
) -> HttpResponse:
    """The settings page; also shown with a refused avatar upload (avatar)."""
    form = form or ProfileForm(instance=User.objects.get(pk=request.user.pk))
    context = {
        "form": form,
        "picture_form": picture_form or PictureForm(),
        "email_form": email_form or EmailChangeForm(user=request.user),
        # EMAIL_VERIFICATION none: no address is ever verified, so neither a badge nor a link.
        "verification_links_sent": verification.links_sent(),
        # Without a password, a sign-in just now with one of their providers lets them change it.
        "email_reauth_methods": []
        if request.user.has_usable_password()
        else providers.reauthentication_methods(request.user),
        "picture_upload": media_selectors.unfinished_upload(
            kind=Image.Kind.AVATAR, holder=request.user.pk
        ),
        "recovery_codes_left": mfa.remaining_recovery_codes(request.user)
        if request.user.mfa_enabled
        else None,
        "more_sections": settings_sections.render_all(request),
        **_export_context(request.user),
    }
    if status is None:
        return render_form(request, "accounts/settings.html", context)
    return render(request, "accounts/settings.html", context, status=status)


def _export_context(user: User) -> dict[str, object]:
    """Settings' "Your data": the export being prepared, or its link while it works."""
    current = services.current_export(user)
    ready = current is not None and current.is_ready
    return {
        "data_export": current,
        "export_url": services.export_link(current) if ready and current else None,
    }


@login_required
@require_POST
def avatar(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The settings page's picture: upload a new one (processed after the request), or remove it."""
    if request.POST.get("action") == "remove":
        media_services.remove_avatar(request.user)
        messages.success(request, "Your picture is removed.")
        return redirect("accounts:settings")
    form = PictureForm(request.POST, request.FILES, request=request)
    image = form.save(owner=request.user, kind=Image.Kind.AVATAR)
    if image is None:
        return settings_page(request, picture_form=form, status=form.status_code)
    report_outcome(request, image, "picture")
    return redirect("accounts:settings")


@sensitive_post_parameters("code")  # a TOTP or an unspent recovery code: not in a 500's report
@login_required
@never_cache  # no-store: the page shows the secret, then the recovery codes
@require_http_methods(["GET", "POST"])
def mfa_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Turn two-factor authentication on (secret, QR code, confirm with a code) or off (with a code)."""
    user: User = request.user
    form = CodeForm(request.POST or None)
    context: dict = {"form": form}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "start":
                services.start_mfa_setup(user)
                return redirect("accounts:mfa")
            if form.is_valid() and action == "confirm":
                context["recovery_codes"] = services.confirm_mfa(
                    request, user, form.cleaned_data["code"]
                )
                # The code just proved the second factor in this session, which stays signed in
                # while every other sign-in ends.
                update_session_auth_hash(request, user)
                request.session[services.SECOND_FACTOR_SESSION_KEY] = True
                messages.success(request, "Two-factor authentication is on.")
                return render(request, "accounts/mfa_recovery_codes.html", context)
            if form.is_valid() and action == "disable":
                services.disable_mfa(request, user, form.cleaned_data["code"])
                messages.success(request, "Two-factor authentication is off.")
                return redirect("accounts:settings")
        except services.MfaStateError as error:
            messages.error(request, str(error))
            return redirect("accounts:mfa")
        except services.SignInThrottled as error:
            form.add_error("code", str(error))
            return retry_later(_mfa_page(request, user, context), error)
        except services.SignInFailed:
            form.add_error("code", "That code is not valid. Check your app's clock and try again.")
    return _mfa_page(request, user, context)


def _mfa_page(request: HttpRequest, user: User, context: dict) -> HttpResponse:
    if not user.mfa_enabled and user.mfa_secret:
        uri = mfa.provisioning_uri(user, user.mfa_secret)
        context.update(secret=user.mfa_secret, qr_svg=mfa.qr_code_svg(uri))
    return render_form(request, "accounts/mfa.html", context)


class PasswordChangeView(InvalidFormIs400, auth_views.PasswordChangeView):
    form_class = PasswordChangeForm
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:settings")

    def form_valid(self, form):
        messages.success(
            self.request, "Your password is changed. Other devices have been signed out."
        )
        return super().form_valid(form)


class PasswordResetView(InvalidFormIs400, auth_views.PasswordResetView):
    pass


class PasswordResetConfirmView(InvalidFormIs400, auth_views.PasswordResetConfirmView):
    pass


password_change = PasswordChangeView.as_view()
password_reset = PasswordResetView.as_view(
    form_class=PasswordResetForm,
    template_name="accounts/password_reset.html",
    success_url=reverse_lazy("accounts:password-reset-done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="accounts/password_reset_done.html"
)
password_reset_confirm = PasswordResetConfirmView.as_view(
    form_class=SetPasswordForm,
    template_name="accounts/password_reset_confirm.html",
    success_url=reverse_lazy("accounts:password-reset-complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="accounts/password_reset_complete.html"
)


# --- Leaving: export and account deletion -----------------------------------------------------------


@login_required
@require_POST
def export(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Settings' "Export my data": made by a worker, the link emailed and shown on Settings. Asked
    for again too soon: 429, from the services' refusal."""
    services.request_export(request.user)
    messages.success(
        request, "Your export is being prepared. We will email you a link when it is ready."
    )
    return redirect(reverse("accounts:settings") + "#data-title")


@login_required
@never_cache
@require_http_methods(["GET"])
def export_download(request: AuthenticatedHttpRequest, token: str) -> HttpResponseBase:
    """The ZIP, for its owner only, while the signed link is valid: the link travels by email,
    which can be forwarded or read by others, and the ZIP holds the member's private data (drafts,
    private collections, email address). Anyone else, a forged or expired link: 404."""
    data_export = services.export_from_link(token, request.user)
    if data_export is None:
        raise Http404("This link has expired or is not yours.")
    return FileResponse(
        upload_storage().open(data_export.file, "rb"),
        as_attachment=True,
        filename=exports.filename(request.user),
        content_type="application/zip",
    )


@sensitive_post_parameters("password", "otp")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def delete_account(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Delete the account, once the password (or a provider sign-in just now) and the second
    factor prove it is the member. Wrong ones: the form again, 400 (429 once too many)."""
    user: User = request.user
    # Bound on any POST: a member without a password or a second factor sends no field at all.
    form = DeleteAccountForm(request.POST if request.method == "POST" else None, user=user)
    has_password = user.has_usable_password()
    context = {
        "form": form,
        "has_password": has_password,
        # Without a password, a sign-in just now with one of their providers proves it is them.
        "reauth_methods": [] if has_password else providers.reauthentication_methods(user),
    }
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.confirm_leaving(request, user, data.get("password", ""), data.get("otp", ""))
        except services.SignInThrottled as error:
            return form_retry_later(request, "accounts/delete.html", context, error)
        except services.NotConfirmed as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            services.delete_account(user)
            logout(request)
            messages.success(request, "Your account and everything you made here are deleted.")
            return redirect("home")
    return render_form(request, "accounts/delete.html", context)
