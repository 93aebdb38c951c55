from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sigma_playground.api import MAX_ID, StrictCharField

from ..models import Reason, Report, Target

USERNAME_MAX_LENGTH = 150
MAX_ID_DIGITS = len(str(MAX_ID))
TARGET_REF_SCHEMA = {
    "oneOf": [
        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        {"type": "string", "minLength": 1, "maxLength": USERNAME_MAX_LENGTH},
    ],
    "description": "The workbook's or comment's id, or the member's username.",
}


@extend_schema_field(TARGET_REF_SCHEMA)
class TargetRefField(serializers.Field):
    """An id or a username, as sent: which one the target takes is checked with the target."""

    default_error_messages = {"invalid": "An id, or a member's username."}

    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class NewReportSerializer(serializers.Serializer):
    """What POST /reports/ takes."""

    target = serializers.ChoiceField(choices=Target.choices)
    id = TargetRefField()
    reason = serializers.ChoiceField(choices=Reason.choices)
    text = StrictCharField(
        max_length=Report.TEXT_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text="What is wrong; required with the reason `other`. Only moderators read it.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        ref = attrs["id"]
        if attrs["target"] == Target.USER:
            if not isinstance(ref, str) or not 0 < len(ref) <= USERNAME_MAX_LENGTH:
                raise serializers.ValidationError({"id": ["A member is reported by username."]})
        else:
            attrs["id"] = _content_id(ref)
        return attrs


def _content_id(ref: int | str) -> int:
    """A workbook's or comment's id, sent as a number or as its digits."""
    if isinstance(ref, str):
        # An id fits a bigint, so has at most 19 digits; int() refuses a very long string outright.
        if not (ref.isascii() and ref.isdigit() and len(ref) <= MAX_ID_DIGITS):
            raise serializers.ValidationError({"id": ["A workbook's or comment's id."]})
        ref = int(ref)
    if not 0 < ref <= MAX_ID:
        raise serializers.ValidationError({"id": ["A workbook's or comment's id."]})
    return ref


class ReportSerializer(serializers.Serializer):
    """A report as its reporter sees it: `target` and `target_id` as they were sent."""

    id = serializers.IntegerField(read_only=True, help_text="The report's own id.")
    target = serializers.CharField(source="target_kind", read_only=True)
    target_id = serializers.SerializerMethodField()
    reason = serializers.CharField(read_only=True)
    text = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(TARGET_REF_SCHEMA)
    def get_target_id(self, report: Report) -> int | str:
        return self.context.get("ref", report.target_id)
