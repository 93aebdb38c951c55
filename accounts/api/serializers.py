from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from media.api.fields import PictureField

from .. import selectors
from ..models import User


class RegisterSerializer(serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, style={"input_type": "password"})

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
    username = serializers.CharField(max_length=254)
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=20,
        help_text="A TOTP or recovery code; required when the account has MFA on.",
    )


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField()


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class MeSerializer(serializers.ModelSerializer):
    avatar = PictureField()

    class Meta:
        model = User
        fields = ["id", "username", "email", "full_name", "bio", "website", "avatar", "mfa_enabled"]
        read_only_fields = ["id", "username", "email", "avatar", "mfa_enabled"]

    def validate_website(self, value: str) -> str:
        # DRF swaps the model's URLValidator (http and https only) for its own, which allows ftp.
        User._meta.get_field("website").run_validators(value)
        return value


class MfaSetupSerializer(serializers.Serializer):
    secret = serializers.CharField(read_only=True)
    otpauth_url = serializers.CharField(read_only=True)


class MfaCodeSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=20)


class RecoveryCodesSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(child=serializers.CharField(), read_only=True)
