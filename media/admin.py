from django.contrib import admin

from .models import Image
from .templatetags.media_tags import picture


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    """Uploads and their processing, for support: read-only (members change pictures themselves)."""

    list_display = ["id", "kind", "status", "owner", "holder", "created_at", "processed_at"]
    list_filter = ["kind", "status", "created_at"]
    search_fields = ["owner__username", "holder", "content_hash"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "id", "kind", "status", "error", "owner", "holder", "preview", "width", "height",
        "content_hash", "fallback", "sizes", "source", "created_at", "processed_at",
    ]  # fmt: skip
    fields = [*readonly_fields]

    @admin.display(description="Picture")
    def preview(self, image: Image) -> str:
        return picture(image.picture, "small") or "-"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
