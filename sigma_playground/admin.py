"""Admin pieces shared by the apps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin

from .models import Featuring

# Generic for the checker only: ModelAdmin cannot be subscripted at run time.
if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = admin.ModelAdmin


class FeaturingAdmin(_ModelAdmin):
    """The list and form of a curator's picks (sigma_playground.models.Featuring): a subclass names
    what its picks feature in `list_display`, `fields`, `search_fields` and `autocomplete_fields`."""

    list_editable = ["position", "starts_at", "ends_at", "note"]
    list_filter = ["starts_at", "ends_at"]
    readonly_fields = ["curated_by"]
    ordering = ["position", "-starts_at"]

    @admin.display(boolean=True, description="Now")
    def is_current(self, featuring: Featuring) -> bool:
        return featuring.is_current
