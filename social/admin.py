"""The admin for collections: curators see members' public collections and feature them on the home
page, in time windows as workbooks are featured (workbooks.admin.FeaturedAdmin)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from sigma_playground.admin import FeaturingAdmin, on_site_link

from .models import Collection, FeaturedCollection


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "visibility", "items_count", "updated_at", "on_site"]
    list_filter = ["visibility", "updated_at"]
    list_select_related = ["owner"]
    search_fields = ["title", "owner__username"]
    fields = ("title", "owner", "slug", "visibility", "description", "created_at", "updated_at")
    readonly_fields = fields
    ordering = ["-updated_at", "-id"]

    @admin.display(description="Workbooks", ordering="items_count")
    def items_count(self, collection: Collection) -> int:
        return getattr(collection, "items_count", 0)

    def view_on_site(self, collection: Collection) -> str | None:
        # Only a public collection's page opens for anyone but its owner.
        return collection.get_absolute_url() if collection.is_public else None

    @admin.display(description="On the site")
    def on_site(self, collection: Collection) -> str:
        return on_site_link(self.view_on_site(collection))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Collection]:
        # Members' private and unlisted collections are theirs: staff see only the public ones.
        found = super().get_queryset(request).annotate(items_count=Count("items"))
        if request.user.is_superuser:
            return found
        return found.filter(visibility=Collection.Visibility.PUBLIC)

    # Members make and change their collections on the site; here they are only looked up.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Collection | None = None) -> bool:
        return False


@admin.register(FeaturedCollection)
class FeaturedCollectionAdmin(FeaturingAdmin):
    list_display = [
        "collection", "position", "starts_at", "ends_at", "note", "curated_by", "is_current",
    ]  # fmt: skip
    list_select_related = ["collection__owner", "curated_by"]
    search_fields = ["collection__title", "note"]
    autocomplete_fields = ["collection"]
    fields = ["collection", "position", "starts_at", "ends_at", "note", "curated_by"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "collection":
            # Only a public collection can be featured: a private one's id typed into the form is
            # refused instead of showing it on the home page.
            kwargs["queryset"] = Collection.objects.filter(visibility=Collection.Visibility.PUBLIC)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.curated_by = request.user
        super().save_model(request, obj, form, change)
