from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from accounts.models import User
from media.api.fields import PictureField
from sigma_playground.api import ModelSerializer, StrictCharField

from .. import services
from ..models import Tag, Workbook


class AuthorSerializer(serializers.ModelSerializer):
    avatar = PictureField()

    class Meta:
        model = User
        fields = ["username", "full_name", "avatar"]


def _django_errors(error: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(list(error.messages))


class TagNamesField(serializers.ListField):
    """Tag names in, tag names out (from the prefetched tags)."""

    def to_representation(self, tags) -> list[str]:
        return [tag.name for tag in tags.all()]


class WorkbookSerializer(ModelSerializer):
    url = serializers.SerializerMethodField()
    author = AuthorSerializer(read_only=True)
    tags = TagNamesField(child=StrictCharField(max_length=60), required=False, max_length=20)
    embed_url = StrictCharField(max_length=4096)
    status = serializers.ChoiceField(choices=Workbook.Status.choices, default=Workbook.Status.DRAFT)
    is_favorited = serializers.SerializerMethodField()
    thumbnail = PictureField()

    class Meta:
        model = Workbook
        fields = [
            "id", "slug", "url", "title", "description", "description_html", "embed_url",
            "embed_kind", "author", "tags", "status", "published_at", "updated_at",
            "view_count", "favorite_count", "comment_count", "is_favorited", "thumbnail",
        ]  # fmt: skip
        read_only_fields = [
            "id", "slug", "description_html", "embed_kind", "published_at", "updated_at",
            "view_count", "favorite_count", "comment_count",
        ]  # fmt: skip

    def get_url(self, workbook: Workbook) -> str:
        request = self.context.get("request")
        path = workbook.get_absolute_url()
        return request.build_absolute_uri(path) if request else path

    def get_is_favorited(self, workbook: Workbook) -> bool:
        return bool(getattr(workbook, "is_favorited", False))

    def validate_embed_url(self, value: str) -> str:
        try:
            return services.parse_embed_url(value).url
        except DjangoValidationError as error:
            raise _django_errors(error) from None

    def validate_tags(self, value: list[str]) -> list[str]:
        try:
            return services.clean_tag_names(value)
        except DjangoValidationError as error:
            raise _django_errors(error) from None


class TagSerializer(serializers.ModelSerializer):
    workbook_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Tag
        fields = ["name", "slug", "workbook_count"]


class EmbedSerializer(serializers.Serializer):
    src = serializers.CharField(
        allow_null=True,
        help_text="The iframe source for this viewer, or null when it cannot be framed here.",
    )
    expires_at = serializers.DateTimeField(allow_null=True)
    open_url = serializers.URLField(help_text="Opens the workbook in Sigma.")
    reason = serializers.CharField(allow_blank=True)
