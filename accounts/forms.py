from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.template import loader

from sigma_playground.forms import https_url_fields

from . import profiles, selectors, services, suspension
from .models import User
from .tasks import send_email

logger = logging.getLogger(__name__)


class SignUpForm(forms.ModelForm):
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = User
        fields = ["username", "email"]
        widgets = {
            "username": forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True

    def validate_unique(self) -> None:
        # Uniqueness is case-insensitive and checked by services.register; the model's case-sensitive
        # check would only repeat part of it.
        pass

    def clean_password2(self) -> str:
        password1: str | None = self.cleaned_data.get("password1")
        password2: str = self.cleaned_data.get("password2", "")
        if password1 and password2 and password1 != password2:
            raise ValidationError("The two passwords differ.", code="password_mismatch")
        return password2

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # ModelForm's, not in the stubs
        password = self.cleaned_data.get("password2")
        if password:
            try:
                password_validation.validate_password(password, self.instance)
            except ValidationError as error:
                self.add_error("password1", error)

    def save(self, commit: bool = True) -> User:
        try:
            return services.register(
                username=self.cleaned_data["username"],
                email=self.cleaned_data["email"],
                password=self.cleaned_data["password1"],
            )
        except ValidationError as error:
            # A race lost to another sign-up: shown by the field like any other error.
            for field, messages in error.message_dict.items():
                self.add_error(field, messages)
            raise

    def clean(self):
        cleaned = super().clean()
        username, email = cleaned.get("username"), cleaned.get("email")
        if username and selectors.username_taken(username):
            self.add_error("username", "That username is taken.")
        elif username and selectors.username_retired(username):
            self.add_error("username", selectors.USERNAME_RETIRED)
        if email and selectors.email_taken(email):
            self.add_error("email", "An account with that email address already exists.")
        return cleaned


class SignInForm(forms.Form):
    username = forms.CharField(
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, request: HttpRequest, *args, **kwargs) -> None:
        self.request = request
        self.user: User | None = None
        # Set when the sign-in was refused for too many failures: the page answers 429 with it.
        self.throttled: services.SignInThrottled | None = None
        self.needs_second_factor = False
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        username, password = cleaned.get("username"), cleaned.get("password")
        if not (username and password):
            return cleaned
        try:
            self.user = services.sign_in(self.request, username, password)
        except services.SignInThrottled as error:
            self.throttled = error
            raise ValidationError(str(error), code="throttled") from None
        except services.SignInFailed:
            raise ValidationError(
                "That username and password don't match an account.", code="invalid_login"
            ) from None
        except services.SecondFactorRequired as step:
            self.user = step.user
            self.needs_second_factor = True
        except suspension.Suspended as error:
            raise ValidationError(str(error), code="suspended") from None
        return cleaned


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        help_text="The 6-digit code from your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def _link_field_name(kind: str) -> str:
    return f"link_{kind}"


def _pin_field_name(position: int) -> str:
    return f"pin_{position}"


class ProfileForm(forms.ModelForm):
    """The profile: names, bio, where the member is, a field per kind of link, and a choice per
    pin (so their order is chosen without JavaScript) among the member's published workbooks."""

    class Meta:
        model = User
        fields = ["full_name", "bio", "organisation", "location", "website"]
        formfield_callback = https_url_fields
        widgets = {"bio": forms.Textarea(attrs={"rows": 4})}
        help_texts = {"bio": "Up to 500 characters, shown on your profile."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        links = {link["kind"]: link["url"] for link in profiles.shown_links(self.instance.links)}
        for kind in profiles.LINK_KINDS:
            name = _link_field_name(kind.value)
            self.fields[name] = forms.URLField(
                label=kind.label,
                required=False,
                max_length=profiles.LINK_URL_MAX_LENGTH,
                assume_scheme="https",
                help_text=f"An address on {kind.hosts[0]}.",
            )
            self.initial.setdefault(name, links.get(kind.value, ""))
        pins = list(self.instance.pinned_workbook_ids or [])
        # The current pins are offered however old: one left out would be unpinned by the save.
        choices = [("", "Nothing pinned"), *profiles.pinnable(self.instance.pk, pins)]
        for position in range(1, profiles.MAX_PINS + 1):
            name = _pin_field_name(position)
            self.fields[name] = forms.TypedChoiceField(
                label=f"Pinned workbook {position}",
                choices=choices,
                coerce=int,
                empty_value=None,
                required=False,
            )
            if position <= len(pins):
                self.initial.setdefault(name, pins[position - 1])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        if cleaned.get("website"):
            try:
                cleaned["website"] = profiles.clean_website(cleaned["website"])
            except ValidationError as error:
                self.add_error("website", error)
        for kind in profiles.LINK_KINDS:
            name = _link_field_name(kind.value)
            if cleaned.get(name):
                try:
                    profiles.clean_link_url(kind.value, cleaned[name])
                except ValidationError as error:
                    self.add_error(name, error)
        pins = self.pinned_workbook_ids()
        if len(set(pins)) != len(pins):
            self.add_error(None, "Pin each workbook once.")
        return cleaned

    def pinned_workbook_ids(self) -> list[int]:
        names = (_pin_field_name(position) for position in range(1, profiles.MAX_PINS + 1))
        return [pk for name in names if (pk := self.cleaned_data.get(name)) is not None]

    def profile(self) -> dict[str, Any]:
        """What services.update_profile takes, from the cleaned form."""
        data = self.cleaned_data
        return {
            **{name: data[name] for name in self.Meta.fields},
            "links": [
                {"kind": kind.value, "url": data[_link_field_name(kind.value)]}
                for kind in profiles.LINK_KINDS
                if data.get(_link_field_name(kind.value))
            ],
            "pinned_workbook_ids": self.pinned_workbook_ids(),
        }


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset flow, with our email and sent by a Celery task instead of inside the request.
    Used by the HTML page and the API alike."""

    # Called with keyword arguments only (the views and the API), which Django's signature allows.
    def save(self, **kwargs: Any) -> None:  # type: ignore[override]
        kwargs["subject_template_name"] = "accounts/email/password_reset_subject.txt"
        kwargs["email_template_name"] = "accounts/email/password_reset.txt"
        super().save(**kwargs)

    def get_users(self, email: str):
        return (
            user
            for user in User.objects.filter(email__lower=email.lower(), is_active=True)
            if user.has_usable_password()
        )

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ) -> None:
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        html = (
            loader.render_to_string(html_email_template_name, context)
            if html_email_template_name
            else None
        )
        try:
            # The worker logs a task's arguments as given here ("Received task"): the body holds
            # the reset link, and `to` an email address.
            send_email.apply_async(
                (subject, body, [to_email], html), argsrepr="(redacted)", kwargsrepr="{}"
            )
        except Exception:
            # The broker is down: send it from here rather than lose it, or fail the request.
            logger.warning("could not queue an email; sending it in the request", exc_info=True)
            send_email(subject, body, [to_email], html)


class SetPasswordForm(auth_forms.SetPasswordForm):
    """Used by the reset-confirm page; the new password goes through the service like every other."""

    def save(self, commit: bool = True) -> User:
        services.change_password(self.user, self.cleaned_data["new_password1"])
        return self.user


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    def save(self, commit: bool = True) -> User:
        services.change_password(self.user, self.cleaned_data["new_password1"])
        return self.user


class ReconfirmForm(forms.Form):
    """What proves the member is the member before an action a stolen session must not do
    (services.confirm_member): the fields the member has (no password field without a password)."""

    password = forms.CharField(
        label="Your password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    otp = forms.CharField(
        label="Code from your authenticator app",
        required=False,
        max_length=32,
        help_text="Or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not user.has_usable_password():
            del self.fields["password"]
        if not user.mfa_enabled:
            del self.fields["otp"]


class DeleteAccountForm(ReconfirmForm):
    """Before the account goes (services.confirm_leaving)."""


class EmailChangeForm(ReconfirmForm):
    """Settings' new email address, and what proves it is the member asking
    (services.change_email): whoever has the address can reset the password."""

    email = forms.EmailField(
        label="New email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="We send a link to the new address; your address changes when you follow it.",
    )
    field_order = ["email", "password", "otp"]
