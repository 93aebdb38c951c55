from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.utils import html

from media.api.fields import PictureField
from sigma_playground.api import MAX_ID, ModelSerializer, StrictCharField

from .. import profiles, selectors
from ..models import User


def _confirming_field(help_text: str, max_length: int, **extra: Any) -> StrictCharField:
    # Optional here: whether the member must send it is the service's answer (accounts.services).
    return StrictCharField(
        required=False,
        allow_blank=True,
        write_only=True,
        max_length=max_length,
        help_text=help_text,
        **extra,
    )


def confirm_password_field(help_text: str) -> StrictCharField:
    """The password a member confirms it is them with."""
    return _confirming_field(
        help_text, 4096, trim_whitespace=False, style={"input_type": "password"}
    )


def confirm_otp_field(help_text: str) -> StrictCharField:
    """The second-factor code that goes with a confirming password."""
    return _confirming_field(help_text, 32)


class RegisterSerializer(ModelSerializer):
    password = StrictCharField(write_only=True, style={"input_type": "password"})

    class Meta:
        model = User
        fields = ["id", "username", "email", "password"]
        read_only_fields = ["id"]
        extra_kwargs = {
            # Case-insensitive uniqueness is checked below; DRF's own check is case-sensitive.
            "username": {"validators": User._meta.get_field("username").validators},
            "email": {"required": True, "allow_blank": False},
        }

    def validate_username(self, value: str) -> str:
        if selectors.username_taken(value):
            raise serializers.ValidationError("That username is taken.", code="unique")
        if selectors.username_retired(value):
            raise serializers.ValidationError(selectors.USERNAME_RETIRED, code="retired")
        return value

    def validate_email(self, value: str) -> str:
        if selectors.email_taken(value):
            raise serializers.ValidationError(
                "An account with that email address already exists.", code="unique"
            )
        return value

    def validate(self, attrs: dict) -> dict:
        candidate = User(username=attrs["username"], email=attrs["email"])
        try:
            password_validation.validate_password(attrs["password"], candidate)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"password": list(error.messages)}) from None
        return attrs


class TokenObtainSerializer(serializers.Serializer):
    username = StrictCharField(max_length=254)
    password = StrictCharField(style={"input_type": "password"}, trim_whitespace=False)
    otp = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=20,
        help_text="A TOTP or recovery code; required when the account has MFA on.",
    )


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)


class RefreshSerializer(serializers.Serializer):
    refresh = StrictCharField()


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField()


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = StrictCharField(max_length=64)
    token = StrictCharField(max_length=128)
    new_password = StrictCharField(style={"input_type": "password"}, trim_whitespace=False)


class WebsiteField(serializers.URLField):
    """A member's web site: an http(s) URL, or null when there is none (the row stores "").
    On input, null and "" both clear it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", User._meta.get_field("website").max_length)
        super().__init__(allow_blank=True, allow_null=True, **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> str:
        if data is None:
            return ""
        if data is not serializers.empty and not isinstance(data, str):
            self.fail("invalid")
        value = super().run_validation(data)
        if value:
            # DRF's URLValidator allows ftp; the model's allows http and https only.
            User._meta.get_field("website").run_validators(value)
        return value

    # An empty website is null in the API, where the stubs' Field says a string.
    def to_representation(self, value: str) -> str | None:  # type: ignore[override]
        return value or None


class WebsiteFieldSchema(OpenApiSerializerFieldExtension):
    target_class = WebsiteField

    def map_serializer_field(self, auto_schema, direction: str) -> dict[str, Any]:
        url = {
            "type": "string",
            "format": "uri",
            "pattern": "^https?://",
            "maxLength": self.target.max_length,
        }
        if direction == "response":
            return {**url, "nullable": True, "description": "An http(s) URL, or null."}
        return {
            "oneOf": [url, {"type": "string", "maxLength": 0}],
            "nullable": True,
            "description": 'An http(s) URL; null or "" removes it.',
        }


class LinkSerializer(serializers.Serializer):
    """One of a member's links: its kind and an https address on that kind's site."""

    kind = serializers.ChoiceField(choices=profiles.LINK_KIND_CHOICES)
    url = StrictCharField(
        max_length=profiles.LINK_URL_MAX_LENGTH,
        help_text="An https address on the kind's own site (a GitHub link on github.com).",
    )


class LinksField(serializers.ListField):
    """A list of links. Sent as a form, each `links` value is text, which is not a link: refused,
    where DRF's own reading of a form's list of objects finds none and would pass over it."""

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            return dictionary.getlist(self.field_name)
        return super().get_value(dictionary)


class MeSerializer(ModelSerializer):
    avatar = PictureField()
    website = WebsiteField(required=False)
    links = LinksField(
        child=LinkSerializer(),
        required=False,
        max_length=profiles.MAX_LINKS,
        help_text="At most one link of each kind.",
    )
    pinned_workbook_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=profiles.MAX_PINS,
        help_text=(
            "Up to three of your published workbooks, shown first on your profile, in this order."
            " A workbook unpublished or deleted since it was pinned is left out."
        ),
    )

    email = serializers.EmailField(
        required=False,
        max_length=254,
        help_text=(
            "A new address waits in `pending_email` until the link sent to it is followed; the"
            " current address is told. Password resets keep using the current one. A new address"
            " needs `password` (and `otp` when two-factor sign-in is on) in the same body."
        ),
    )
    password = confirm_password_field("The account's current password: needed with a new `email`.")
    otp = confirm_otp_field(
        "A TOTP or recovery code: needed with a new `email` when two-factor sign-in is on."
    )

    pending_email = serializers.EmailField(
        read_only=True,
        allow_null=True,
        help_text="A new address waiting for its link to be followed; null when none.",
    )

    class Meta:
        model = User
        fields = [
            "id", "username", "email", "email_verified", "pending_email", "full_name", "bio",
            "website", "organisation", "location", "links", "pinned_workbook_ids", "avatar",
            "mfa_enabled", "password", "otp",
        ]  # fmt: skip
        read_only_fields = [
            "id", "username", "email_verified", "pending_email", "avatar", "mfa_enabled",
        ]  # fmt: skip

    # Whether another member has the address is answered by accounts.services.change_email, once
    # the password is checked and the hourly email budget counted: never for the asking.

    def to_representation(self, instance: User) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["pending_email"] = instance.pending_email or None
        # Pins are kept as written; what is shown is what the profile shows.
        data["pinned_workbook_ids"] = profiles.shown_pins(instance.pk, instance.pinned_workbook_ids)
        data["links"] = [
            {"kind": link["kind"], "url": link["url"]}
            for link in profiles.shown_links(instance.links)
        ]
        return data


class MfaSetupSerializer(serializers.Serializer):
    secret = serializers.CharField(read_only=True)
    otpauth_url = serializers.CharField(read_only=True)


class MfaCodeSerializer(serializers.Serializer):
    code = StrictCharField(max_length=20)


class RecoveryCodesSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(child=serializers.CharField(), read_only=True)


class DeleteAccountSerializer(serializers.Serializer):
    password = confirm_password_field(
        "The account's password (members without one re-sign in with their provider)."
    )
    otp = confirm_otp_field("A TOTP or recovery code: required when two-factor sign-in is on.")


class ExportStartedSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["preparing"], read_only=True)
    id = serializers.UUIDField(read_only=True)
    requested_at = serializers.DateTimeField(read_only=True)
    detail = serializers.CharField(read_only=True)
