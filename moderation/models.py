"""Members' reports of workbooks, comments and members, and the moderators' audit log.

A report names its target by kind and id, not by a foreign key: a report outlives what it is about
(a deleted comment's reports still say who reported what, and why), and one table holds all three
kinds. The audit log is written once and never changed: `ModerationAction` refuses updates and
deletes in code, and its admin is read-only.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q


class Target(models.TextChoices):
    WORKBOOK = "workbook", "Workbook"
    COMMENT = "comment", "Comment"
    USER = "user", "Member"


class Reason(models.TextChoices):
    SPAM = "spam", "Spam"
    ABUSE = "abuse", "Abuse or harassment"
    HARMFUL = "harmful", "Harmful or dangerous"
    COPYRIGHT = "copyright", "Copyright"
    OTHER = "other", "Something else"


class ReportQuerySet(models.QuerySet["Report"]):
    def open(self) -> ReportQuerySet:
        return self.filter(closed_at__isnull=True)

    def about(self, kind: str, target_id: int) -> ReportQuerySet:
        return self.filter(target_kind=kind, target_id=target_id)


class Report(models.Model):
    TEXT_MAX_LENGTH = 1000

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made"
    )
    target_kind = models.CharField(max_length=10, choices=Target.choices)
    # A workbook's or comment's id, or a member's id (the API takes the username).
    target_id = models.BigIntegerField()
    reason = models.CharField(max_length=10, choices=Reason.choices)
    text = models.TextField(max_length=TEXT_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Open until a moderator acts on its target (or dismisses it): then the action that closed it.
    closed_at = models.DateTimeField(null=True, blank=True)
    resolution = models.ForeignKey(
        "ModerationAction", on_delete=models.PROTECT, null=True, blank=True, related_name="closed"
    )

    objects = ReportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open report per member and target: reporting again adds nothing to the count.
            models.UniqueConstraint(
                fields=["reporter", "target_kind", "target_id"],
                condition=Q(closed_at__isnull=True),
                name="moderation_one_open_report",
            ),
            models.CheckConstraint(
                condition=~Q(reason="other", text=""), name="moderation_other_says_what"
            ),
        ]
        indexes = [
            # The queue: open reports by target.
            models.Index(
                fields=["target_kind", "target_id"],
                condition=Q(closed_at__isnull=True),
                name="moderation_open_target_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"report {self.pk} of {self.target_kind} {self.target_id}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Action(models.TextChoices):
    HOLD = "hold", "Held automatically"
    HIDE_COMMENT = "hide_comment", "Hid the comment"
    UNPUBLISH_WORKBOOK = "unpublish_workbook", "Unpublished the workbook"
    DISMISS = "dismiss", "Dismissed the reports"
    RESTORE = "restore", "Restored the content"
    SUSPEND = "suspend", "Suspended the member"
    LIFT_SUSPENSION = "lift_suspension", "Lifted the suspension"


class ImmutableRow(Exception):
    """The audit log is written once: no update, no delete."""


class ModerationActionQuerySet(models.QuerySet["ModerationAction"]):
    def update(self, **kwargs: Any) -> int:
        raise ImmutableRow("The moderation log cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableRow("The moderation log cannot be deleted from.")


class ModerationAction(models.Model):
    """One entry of the audit log: who did what to which target, when and why. Written by
    moderation.services only; never changed or deleted."""

    # None when automatic (a hold), or once the moderator's account is deleted: the one change the
    # database makes to a written entry. The name copied beside it still says who it was.
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    moderator_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    target_kind = models.CharField(max_length=10, choices=Target.choices)
    target_id = models.BigIntegerField()
    # What the target was when acted on (a title, a comment's first words, a username): the row may
    # change or go, the log says what the moderator saw.
    target_description = models.CharField(max_length=300)
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ModerationActionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "moderation log entry"
        verbose_name_plural = "moderation log"
        indexes = [
            models.Index(fields=["target_kind", "target_id"], name="moderation_log_target_idx")
        ]

    def __str__(self) -> str:
        who = self.moderator_username or "automatic"
        return f"{who}: {self.get_action_display()} ({self.target_kind} {self.target_id})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableRow("The moderation log cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableRow("The moderation log cannot be deleted from.")
