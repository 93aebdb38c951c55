"""How a picture appears in the API: {thumb, small, medium} URLs of its WebP variants, or null."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from media.storage import Picture

_URL = {"type": "string", "format": "uri"}
PICTURE_SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": "WebP variants: thumb is 150 px square, small and medium 300 and 600 px on the "
    "long side. Null when there is no picture (pages then show generated initials or a placeholder).",
    "properties": {"thumb": _URL, "small": _URL, "medium": _URL},
    "required": ["thumb", "small", "medium"],
}


def picture_urls(picture: Picture | None, request=None) -> dict[str, str] | None:
    if picture is None:
        return None
    urls = picture.urls()
    if request is not None:
        urls = {name: request.build_absolute_uri(url) for name, url in urls.items()}
    return urls


@extend_schema_field(PICTURE_SCHEMA)
class PictureField(serializers.Field):
    """Read-only; reads the model's `picture` property."""

    def __init__(self, **kwargs) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance) -> Picture | None:
        return instance.picture

    def to_representation(self, value: Picture) -> dict[str, str] | None:
        return picture_urls(value, self.context.get("request"))
