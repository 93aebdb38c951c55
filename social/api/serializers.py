"""What the social API reads and writes: users and the social graph."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import WebsiteField
from accounts.models import User
from media.api.fields import PICTURE_SCHEMA
from sigma_playground.api import MAX_ID, ModelSerializer, StrictCharField
from sigma_playground.models import Moderation
from workbooks.api.serializers import AuthorSerializer

from .. import payloads, services
from ..models import Activity, Comment, Notification, Verb


class MemberSerializer(AuthorSerializer):
    """A member in a list (followers, following) or as the actor of something."""

    class Meta(AuthorSerializer.Meta):
        read_only_fields = AuthorSerializer.Meta.fields


class BlockedMemberSerializer(MemberSerializer):
    """A member you block. Expects `blocked_at` annotated (selectors.blocked_members)."""

    blocked_at = serializers.DateTimeField(read_only=True, help_text="When you blocked them.")

    class Meta(MemberSerializer.Meta):
        fields = [*MemberSerializer.Meta.fields, "blocked_at"]
        read_only_fields = fields


class ProfileSerializer(MemberSerializer):
    """Expects `workbook_count` and `is_following` annotated (views.profiles)."""

    website = WebsiteField(read_only=True)
    workbook_count = serializers.IntegerField(read_only=True, help_text="Listed workbooks.")
    is_following = serializers.BooleanField(
        read_only=True, help_text="Whether the viewer follows this member (false when anonymous)."
    )

    class Meta(MemberSerializer.Meta):
        fields = [
            "username", "full_name", "bio", "website", "avatar", "workbook_count",
            "follower_count", "following_count", "favorite_count", "is_following",
        ]  # fmt: skip
        read_only_fields = fields


# --- Targets: what an activity or a notification is about -----------------------------------------

WORKBOOK_TARGET: dict[str, Any] = {
    "type": "object",
    "required": ["type", "id", "slug", "title", "url"],
    "properties": {
        "type": {"type": "string", "enum": ["workbook"]},
        "id": {"type": "integer"},
        "slug": {"type": "string"},
        "title": {"type": "string"},
        "url": {"type": "string", "description": "The workbook's page, as a path."},
    },
}
MEMBER_TARGET: dict[str, Any] = {
    "type": "object",
    "required": ["type", "username", "full_name", "avatar"],
    "properties": {
        "type": {"type": "string", "enum": ["user"]},
        "username": {"type": "string"},
        "full_name": {"type": "string"},
        "avatar": PICTURE_SCHEMA,
    },
}
NOTIFICATION_TARGET = {
    **WORKBOOK_TARGET,
    "required": [*WORKBOOK_TARGET["required"], "comment_id"],
    "properties": {
        **WORKBOOK_TARGET["properties"],
        "comment_id": {
            "type": "integer",
            "nullable": True,
            "description": "The comment, for `commented`.",
        },
    },
    "nullable": True,
}


class ActivitySerializer(serializers.ModelSerializer):
    """Expects `actor`, `workbook` and `subject` selected with the activity (selectors.feed_for)."""

    actor = MemberSerializer(read_only=True)
    target = serializers.SerializerMethodField()

    class Meta:
        model = Activity
        fields = ["id", "verb", "actor", "target", "created_at"]
        read_only_fields = fields

    @extend_schema_field(
        {
            "oneOf": [WORKBOOK_TARGET, MEMBER_TARGET],
            "nullable": True,
            "description": "The workbook (published, favorited, commented) or the member followed.",
        }
    )
    def get_target(self, activity: Activity) -> dict[str, Any] | None:
        if activity.workbook is not None:
            workbook = activity.workbook
            return {
                "type": "workbook",
                "id": workbook.pk,
                "slug": workbook.slug,
                "title": workbook.title,
                "url": workbook.get_absolute_url(),
            }
        if activity.subject is not None:
            return {"type": "user", **payloads.person(activity.subject)}
        return None


@extend_schema_field(NOTIFICATION_TARGET)
class NotificationTargetField(serializers.ReadOnlyField):
    pass


class NotificationSerializer(serializers.Serializer):
    """Documents the notification; the body itself is payloads.notification, the same dict the
    websocket and the event stream send."""

    id = serializers.IntegerField()
    verb = serializers.ChoiceField(choices=Verb.choices)
    actor = MemberSerializer(allow_null=True)
    target = NotificationTargetField()
    created_at = serializers.DateTimeField()
    read = serializers.BooleanField()

    def to_representation(self, instance: Notification) -> dict[str, Any]:
        return payloads.notification(instance)


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        allow_empty=False,
        max_length=1000,
        help_text="Notifications to mark read (others' ids are ignored).",
    )
    all = serializers.BooleanField(required=False, help_text="Mark every notification read.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        wants_all = attrs.get("all", False)
        if wants_all and "ids" in attrs:
            raise serializers.ValidationError("Send either `ids` or `all`, not both.", code="both")
        if not wants_all and "ids" not in attrs:
            raise serializers.ValidationError("Send `ids: [...]` or `all: true`.", code="required")
        return attrs


class CommentSerializer(ModelSerializer):
    """Expects `author` and `workbook` loaded with the comment, and the request in the context."""

    author = MemberSerializer(
        read_only=True,
        allow_null=True,
        help_text="null once its author deleted their account (shown as a deleted member).",
    )
    workbook = serializers.IntegerField(source="workbook_id", read_only=True)
    body = StrictCharField(max_length=Comment.MAX_LENGTH)
    can_edit = serializers.SerializerMethodField(
        help_text="The viewer wrote it, less than 15 minutes ago."
    )
    can_delete = serializers.SerializerMethodField(
        help_text="The viewer wrote it, wrote the workbook, or is a moderator."
    )
    moderation = serializers.ChoiceField(
        choices=Moderation.choices,
        read_only=True,
        help_text='"" (shown to everyone), "held" (held for review after reports) or "hidden" '
        "(hidden by a moderator): a held or hidden comment is listed only to its author and "
        "moderators.",
    )
    moderation_reason = serializers.CharField(
        read_only=True, help_text="Why it is held or hidden; empty when shown to everyone."
    )

    class Meta:
        model = Comment
        fields = [
            "id", "workbook", "author", "body", "created_at", "edited_at", "can_edit",
            "can_delete", "moderation", "moderation_reason",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "edited_at"]

    def _viewer(self) -> User | None:
        request = self.context.get("request")
        return request.user if request is not None else None

    def get_can_edit(self, comment: Comment) -> bool:
        viewer = self._viewer()
        return viewer is not None and services.can_edit_comment(viewer, comment)

    def get_can_delete(self, comment: Comment) -> bool:
        viewer = self._viewer()
        return viewer is not None and services.can_delete_comment(viewer, comment)

    def validate_body(self, value: str) -> str:
        try:
            return services.clean_comment_body(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages[0], code=error.code) from None
