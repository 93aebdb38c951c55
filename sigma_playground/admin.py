"""Admin pieces shared by the apps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.db.models import Field
from django.http import HttpRequest
from django.utils.html import format_html

from .models import Featuring

# The list's own fields, compact enough for a laptop's 1366 px with both sidebars: the browser's
# date-and-time field instead of the admin's two inputs with their shortcuts (about half as wide),
# and a note that wraps in a small text area instead of scrolling out of sight in a one-line input.
# The admin's list gives its editable fields no <label>: each names itself (aria-label), as its
# column's heading reads, for screen readers and voice control.
_LIST_WIDGETS = {
    "starts_at": forms.DateTimeInput(
        attrs={"type": "datetime-local", "aria-label": "Starts at"}, format="%Y-%m-%dT%H:%M"
    ),
    "ends_at": forms.DateTimeInput(
        attrs={"type": "datetime-local", "aria-label": "Ends at"}, format="%Y-%m-%dT%H:%M"
    ),
    "note": forms.Textarea(attrs={"rows": 3, "cols": 22, "aria-label": "Note"}),
    "position": forms.NumberInput(attrs={"class": "vPositionField", "aria-label": "Position"}),
}

# Generic for the checker only: ModelAdmin cannot be subscripted at run time.
if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = admin.ModelAdmin


def on_site_link(url: str | None) -> str:
    """A list's "View on site" cell: the object's public page, straight (not through the admin's
    redirect), so a curator sees where it goes before following it."""
    if not url:
        return "-"
    return format_html('<a href="{}" class="viewsitelink">View on site</a>', url)


class FeaturingAdmin(_ModelAdmin):
    """The list and form of a curator's picks (sigma_playground.models.Featuring): a subclass names
    what its picks feature in `list_display`, `fields`, `search_fields` and `autocomplete_fields`."""

    list_editable = ["position", "starts_at", "ends_at", "note"]
    change_list_template = "admin/featuring_change_list.html"
    list_filter = ["starts_at", "ends_at"]
    readonly_fields = ["curated_by"]
    ordering = ["position", "-starts_at"]

    def get_changelist_formset(self, request: HttpRequest, **kwargs: Any) -> Any:
        def compact(db_field: Field[Any, Any], **field_kwargs: Any) -> forms.Field | None:
            # The model's own form field (a plain DateTimeField: the admin's is the split one).
            if db_field.name in _LIST_WIDGETS:
                return db_field.formfield(widget=_LIST_WIDGETS[db_field.name], **field_kwargs)
            return self.formfield_for_dbfield(db_field, request, **field_kwargs)

        return super().get_changelist_formset(request, formfield_callback=compact, **kwargs)

    @admin.display(boolean=True, description="Now")
    def is_current(self, featuring: Featuring) -> bool:
        return featuring.is_current
