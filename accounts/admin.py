from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from sigma_playground.admin import on_site_link

from . import selectors, services
from .models import TokenFamily, User
from .signals import member_changed


class _RefusesRetiredUsernames:
    """A username of an account deleted lately is not given to another (RETIRED_USERNAME_DAYS)."""

    def clean_username(self):
        # The creation form checks the name is free; the change form has no check of its own.
        inherited = getattr(super(), "clean_username", None)
        username = inherited() if inherited else self.cleaned_data.get("username")
        initial = getattr(self.instance, "username", None) if self.instance.pk else None
        if username and username != initial and selectors.username_retired(username):
            raise ValidationError(selectors.USERNAME_RETIRED, code="retired")
        return username


class MemberChangeForm(_RefusesRetiredUsernames, UserChangeForm):
    pass


class MemberCreationForm(_RefusesRetiredUsernames, AdminUserCreationForm):
    pass


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = MemberChangeForm
    add_form = MemberCreationForm
    list_display = [
        "username", "email", "full_name", "is_staff", "mfa_enabled", "date_joined", "on_site",
    ]  # fmt: skip
    list_filter = ["is_staff", "is_superuser", "is_active", "mfa_enabled", "groups", "date_joined"]
    search_fields = ["username", "email", "full_name"]
    ordering = ["-date_joined"]
    readonly_fields = ["last_login", "date_joined", "mfa_enabled"]
    # Like the profile form: "example.com" means https://example.com (and no Django 6.0 warning).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            "Profile",
            {"fields": ("full_name", "email", "bio", "website", "organisation", "location")},
        ),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Security", {"fields": ("mfa_enabled", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),
    )

    def view_on_site(self, obj: User) -> str:
        # The member's public profile (its URL is named, so accounts imports no gallery code).
        return reverse("workbooks:author", args=[obj.username])

    @admin.display(description="On the site")
    def on_site(self, obj: User) -> str:
        return on_site_link(self.view_on_site(obj))

    # Other apps hear of a member changed or deleted here as from accounts' services: the admin
    # is one more writer, not a reason for them to watch the User table's model signals.

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change and form.changed_data:
            member_changed.send(sender=User, user=obj, fields=frozenset(form.changed_data))

    def delete_model(self, request, obj) -> None:
        # The same leaving as the member's own (accounts.services.delete_account): their export
        # files go, the username is retired, their API tokens and open sockets end.
        services.delete_account(obj)

    def delete_queryset(self, request, queryset) -> None:
        # One transaction, as deleting one member is (the admin's delete view): the members go
        # together, or none of them does.
        with transaction.atomic():
            for user in queryset.order_by("pk"):
                services.delete_account(user)


@admin.register(TokenFamily)
class TokenFamilyAdmin(admin.ModelAdmin):
    """API sign-ins; revoke one to end that device's session at its next refresh."""

    list_display = ["user", "created_at", "revoked_at", "revoked_reason"]
    list_filter = ["revoked_reason"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    readonly_fields = ["id", "user", "created_at"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected sign-ins")
    def revoke(self, request, queryset):
        queryset.filter(revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_reason="admin"
        )

    def has_add_permission(self, request) -> bool:
        return False
