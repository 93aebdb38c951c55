"""The report form members fill in, and the action form moderators fill in (the admin)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.utils import timezone

from sigma_playground.models import Moderation

from .models import Action, Reason, Report, Target
from .services import REASON_MAX_LENGTH


class ReportForm(forms.Form):
    reason = forms.ChoiceField(
        label="What is wrong?", choices=Reason.choices, widget=forms.RadioSelect
    )
    text = forms.CharField(
        label="Anything moderators should know",
        required=False,
        max_length=Report.TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Required for “Something else”. Only moderators read it.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("reason") == Reason.OTHER and not (data.get("text") or "").strip():
            self.add_error("text", "Say what is wrong when the reason is “Something else”.")
        return data


# What a moderator can choose on a target's page (an Action each; holding is automatic).
DECISION_LABELS = {
    Action.HIDE_COMMENT: "Hide the comment (its author sees the reason)",
    Action.UNPUBLISH_WORKBOOK: "Unpublish the workbook (its author sees the reason)",
    Action.DISMISS: "Dismiss the reports (shows held content again)",
    Action.RESTORE: "Restore it (a moderator hid it; an unpublished workbook stays a draft)",
    Action.SUSPEND: "Suspend the member",
    Action.LIFT_SUSPENSION: "Lift the member's suspension",
}

PERIODS = [("1", "1 day"), ("7", "7 days"), ("30", "30 days"), ("date", "Until a date")]


def decisions_for(kind: str, moderation: str, suspended: bool) -> list[Action]:
    """What a moderator can do about a target of this kind, in this state."""
    restore = [Action.RESTORE] if moderation == Moderation.HIDDEN else []
    if kind == Target.COMMENT:
        return [Action.HIDE_COMMENT, Action.DISMISS, *restore]
    if kind == Target.WORKBOOK:
        return [Action.UNPUBLISH_WORKBOOK, Action.DISMISS, *restore]
    return [Action.SUSPEND, Action.DISMISS, *([Action.LIFT_SUSPENSION] if suspended else [])]


class ActionForm(forms.Form):
    decision = forms.ChoiceField(label="Action", widget=forms.RadioSelect)
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the moderation log; a hidden comment's or unpublished workbook's "
        "author and a suspended member see it.",
    )
    period = forms.ChoiceField(
        label="Suspend for", choices=PERIODS, required=False, initial="7", widget=forms.RadioSelect
    )
    until = forms.DateField(
        label="Until (a date, UTC)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, decisions: list[Action], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        decision = cast(forms.ChoiceField, self.fields["decision"])
        decision.choices = [(d, DECISION_LABELS[d]) for d in decisions]
        if Action.SUSPEND not in decisions:
            del self.fields["period"]
            del self.fields["until"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == Action.SUSPEND:
            data["ends_at"] = self._ends_at(data)
        return data

    def _ends_at(self, data: dict[str, Any]) -> datetime | None:
        period = data.get("period")
        if period in {"1", "7", "30"}:
            return timezone.now() + timedelta(days=int(period))
        if period == "date":
            day = data.get("until")
            if day is None:
                self.add_error("until", "Choose the date the suspension ends.")
                return None
            ends = datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
            if ends <= timezone.now():
                self.add_error("until", "Choose a date in the future.")
                return None
            return ends
        self.add_error("period", "Choose how long.")
        return None
