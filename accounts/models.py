from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterator
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.validators import MinLengthValidator, RegexValidator, URLValidator
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils.crypto import salted_hmac

from media.storage import Picture
from sigma_playground.models import MaintainedFieldsMixin
from sigma_playground.observability import audit, logs

from .signals import sign_ins_ended

USERNAME_MAX_LENGTH = 30
# Django's own salt, so sessions made before `sessions_generation` existed stay valid.
_SESSION_HASH_SALT = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"
username_validator = RegexValidator(
    regex=r"^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?\Z",
    message=(
        "Use letters, digits, hyphens and underscores, starting and ending with a letter or digit."
    ),
    code="invalid_username",
)

# How a member whose account is gone is named wherever something of theirs stays (their comments
# on others' workbooks): pages, moderators' queue and log. One spelling for every app above.
DELETED_MEMBER = "deleted member"

# Whose changes are audit events (sigma_playground.observability.audit), with the groups (receivers).
_POWER_FIELDS = ("is_staff", "is_superuser", "is_active")
_PASSWORD_RESET_ROUTES = frozenset(
    {"accounts:password-reset-confirm", "api-password-reset-confirm"}
)


class UserManager(DjangoUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        # Sign-in is case-insensitive: "Ada" and "ada" are the same account.
        return self.get(username__lower=(username or "").lower())


class User(MaintainedFieldsMixin, AbstractUser):
    """A member of the gallery. Usernames and emails are unique whatever their case."""

    username = models.CharField(
        "username",
        max_length=USERNAME_MAX_LENGTH,
        unique=True,
        validators=[MinLengthValidator(3), username_validator],
        help_text="3 to 30 letters, digits, hyphens or underscores.",
        error_messages={"unique": "That username is taken."},
    )
    email = models.EmailField("email address", max_length=254)
    full_name = models.CharField(max_length=150, blank=True)
    bio = models.TextField(max_length=500, blank=True)
    website = models.URLField(
        max_length=200,
        blank=True,
        validators=[
            URLValidator(
                schemes=["http", "https"], message="Use an address starting with https://."
            )
        ],
    )
    organisation = models.CharField(max_length=120, blank=True)
    location = models.CharField(max_length=120, blank=True)
    # [{"kind", "url"}], one per kind, checked by accounts.profiles.clean_links.
    links = models.JSONField(default=list, blank=True)
    # Ids of up to three of the member's published workbooks, shown first on their profile. Not a
    # relation: workbooks sit above accounts. Checked when written and filtered when read
    # (accounts.profiles), so a pin whose workbook was unpublished or deleted is just not shown.
    pinned_workbook_ids = models.JSONField(default=list, blank=True)
    # Split names are not used: people's names don't split reliably into first and last.
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]

    # Proved by following the link sent to `email` (accounts.verification); EMAIL_VERIFICATION says
    # what waits for it.
    email_verified = models.BooleanField(default=False)
    # A new address waiting for its link: `email` changes only once the link is followed.
    pending_email = models.EmailField("new email address", max_length=254, blank=True)
    # Set by a moderator (moderation): no sign-in of any kind until then, with the reason shown.
    suspended_until = models.DateTimeField(null=True, blank=True, editable=False)
    suspension_reason = models.CharField(max_length=500, blank=True, editable=False)

    mfa_enabled = models.BooleanField("two-factor authentication", default=False)
    # Base32 TOTP secret; set by setup, in use once mfa_enabled is true.
    mfa_secret = models.CharField(max_length=64, blank=True)
    # The last TOTP time step accepted, so a code is never accepted twice.
    mfa_last_step = models.BigIntegerField(default=0)

    # Kept exact by social.services in the same transaction as each change (database-side arithmetic).
    follower_count = models.PositiveIntegerField(default=0, editable=False)
    following_count = models.PositiveIntegerField(default=0, editable=False)
    favorite_count = models.PositiveIntegerField(default=0, editable=False)

    # The picture in use (media.storage.Picture), written only by media.services.
    avatar = models.JSONField(null=True, blank=True, editable=False)

    # Part of every session's auth hash; raised (accounts.receivers) when the account is deactivated,
    # so its sessions stay ended even if it is reactivated. A new password ends them by itself.
    sessions_generation = models.PositiveIntegerField(default=0, editable=False)
    # Raised whenever one of the member's sessions ends or its cached copy may be out of date: a
    # cached copy is used only under the fence it was made with (accounts.sessions).
    session_fence = models.PositiveIntegerField(default=0, editable=False)

    objects: ClassVar[UserManager] = UserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]
        ordering = ["username"]

    # Kept by social.services with database-side arithmetic; a full save must not write old values.
    MAINTAINED_FIELDS = frozenset(
        {
            "follower_count",
            "following_count",
            "favorite_count",
            "avatar",
            "sessions_generation",
            "session_fence",
        }
    )

    def __str__(self) -> str:
        return self.username

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_is_active = instance.__dict__.get("is_active")
        instance._loaded_powers = {name: instance.__dict__.get(name) for name in _POWER_FIELDS}
        return instance

    def set_unusable_password(self) -> None:
        super().set_unusable_password()
        # Unlike set_password(), Django leaves no trace of this for save() to see; turning password
        # sign-in off (the admin offers it) must end sign-ins like a new password does.
        self._password_disabled = True

    def save(self, *args, **kwargs) -> None:
        # set_password() leaves the raw password in `_password` until the row is written.
        password_disabled = self.__dict__.pop("_password_disabled", False)
        password_changed = (
            self._password is not None  # type: ignore[attr-defined]  # AbstractBaseUser's own
            or password_disabled
        ) and not self._state.adding
        deactivated = not self.is_active and getattr(self, "_loaded_is_active", None) is True
        powers = self._changed_powers(kwargs.get("update_fields"))
        super().save(*args, **kwargs)
        self._loaded_is_active = self.is_active
        self._audit_save(password_changed, powers)
        reason = "password" if password_changed else "deactivated" if deactivated else None
        if reason is not None:
            transaction.on_commit(
                lambda: sign_ins_ended.send(sender=User, user=self, reason=reason)
            )

    def _changed_powers(self, update_fields) -> dict[str, list[bool]]:
        """The staff, superuser and active flags this save changes, as {field: [before, after]}."""
        loaded = getattr(self, "_loaded_powers", None)
        if loaded is None or self._state.adding:
            return {}
        return {
            name: [loaded[name], getattr(self, name)]
            for name in _POWER_FIELDS
            if loaded[name] is not None
            and loaded[name] != getattr(self, name)
            and (update_fields is None or name in update_fields)
        }

    def _audit_save(self, password_changed: bool, powers: dict[str, list[bool]]) -> None:
        # Logged as the row is written, while the request (the admin, the member) is known.
        if password_changed:
            context = logs.current()
            route = context.view_name() if context is not None else None
            name = "password_reset" if route in _PASSWORD_RESET_ROUTES else "password_changed"
            audit.event(name, subject_id=self.pk, subject=self.username)
        if powers:
            audit.event("role_changed", subject_id=self.pk, subject=self.username, changes=powers)
        # What the row now holds, for the next save to compare with.
        self._loaded_powers = {name: getattr(self, name) for name in _POWER_FIELDS}

    def _session_hash(self, secret: str | bytes | None = None) -> str:
        value = self.password
        if self.sessions_generation:  # zero: the hash Django makes, so no session ends at upgrade
            value = f"{value}:{self.sessions_generation}"
        return salted_hmac(_SESSION_HASH_SALT, value, secret=secret, algorithm="sha256").hexdigest()

    def get_session_auth_hash(self) -> str:
        return self._session_hash()

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret)

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ", 1)[0] if self.full_name else self.username

    @property
    def powers_withheld(self) -> bool:
        """Staff and superusers hold no permission until they have two-factor sign-in, where the site
        requires it of them (MFA_REQUIRED_FOR_STAFF): a guessed or reused password alone must not
        delete comments, read drafts or approve embeds, on any page or API path."""
        return (
            settings.MFA_REQUIRED_FOR_STAFF
            and (self.is_staff or self.is_superuser)
            and not self.mfa_enabled
        )

    @property
    def holds_powers(self) -> bool:
        """Only staff and superusers hold permissions: every role makes its members staff (to enter the
        admin) and the group carries the powers. A member's checks are answered without a query."""
        return (self.is_staff or self.is_superuser) and not self.powers_withheld

    def has_perm(self, perm: str, obj=None) -> bool:
        return self.holds_powers and super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        return self.holds_powers and super().has_module_perms(app_label)

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    @property
    def hue(self) -> int:
        """One of eight colours for the generated avatar, from the username, so it never changes."""
        return zlib.crc32(self.username.lower().encode()) % 8

    @property
    def picture(self) -> Picture | None:
        return Picture.from_ref(self.avatar)


class RecoveryCode(models.Model):
    """A single-use MFA recovery code. Only its SHA-256 is stored; the code is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "code_hash"], name="accounts_recoverycode_user_hash_unique"
            )
        ]

    def __str__(self) -> str:
        return f"recovery code of {self.user_id} ({'used' if self.used_at else 'unused'})"


class TokenFamily(models.Model):
    """One sign-in through the token endpoint, and every refresh token rotated from it.

    Presenting an already-used refresh token revokes the whole family: one of the two parties holding it is
    not the user. Every refresh token carries its family's id in the `fam` claim.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="token_families")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name_plural = "token families"
        indexes = [models.Index(fields=["user", "revoked_at"], name="accounts_tokenfam_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.created_at:%Y-%m-%d %H:%M}"


class RetiredUsername(models.Model):
    """The username of a deleted account, refused to new members until `until` (RETIRED_USERNAME_DAYS),
    so nobody can take over the name others know and link to."""

    username = models.CharField(max_length=USERNAME_MAX_LENGTH, unique=True)  # lower case
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.username} (until {self.until:%Y-%m-%d})"


class DataExport(models.Model):
    """A member's ZIP of their data (accounts.exports): made by a worker, kept in the private
    storage under an unguessable name, fetched through a signed link until `expires_at`, then
    removed (accounts.tasks.remove_expired_exports)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="data_exports")
    created_at = models.DateTimeField(auto_now_add=True)
    # The ZIP's name in the private storage once made; blank while it is being prepared.
    file = models.CharField(max_length=255, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-created_at"], name="accounts_export_user_idx"),
            models.Index(fields=["expires_at"], name="accounts_export_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"export {self.pk} of {self.user_id}"

    @property
    def is_ready(self) -> bool:
        return bool(self.file)
