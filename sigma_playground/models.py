"""Model helpers shared by the apps."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

# Mixed into models only: typed as one for the checker, a plain class at run time (Django's model
# metaclass would otherwise make the mixin a model itself).
if TYPE_CHECKING:
    _Base = models.Model
else:
    _Base = object


class MaintainedFieldsMixin(_Base):
    """Fields written only by database-side updates (counters, say): a full `save()` of
    an instance loaded before they changed must not put the old values back."""

    MAINTAINED_FIELDS: frozenset[str] = frozenset()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in self.MAINTAINED_FIELDS
            ]
        super().save(*args, **kwargs)


class FeaturingQuerySet(models.QuerySet[Any]):
    def open(self, now: datetime | None = None) -> FeaturingQuerySet:
        """The picks whose window is open now: started, and not ended."""
        now = now or timezone.now()
        return self.filter(starts_at__lte=now).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))


class Featuring(models.Model):
    """A curator's pick for the home page, shown in `position` order while its window is open: a
    workbook (workbooks.Featured) or a collection (social.FeaturedCollection). A concrete pick adds
    what it features, its own indexes, and the check that it ends after it starts."""

    position = models.PositiveSmallIntegerField(default=0)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until unfeatured.")
    note = models.CharField("curator's note", max_length=280, blank=True)
    curated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FeaturingQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["position", "-starts_at"]

    @property
    def is_current(self) -> bool:
        now = timezone.now()
        return self.starts_at <= now and (self.ends_at is None or self.ends_at > now)


class Moderation(models.TextChoices):
    """Where a member's content stands with the moderators (the moderation app decides)."""

    VISIBLE = "", "Visible"
    # Reported by enough distinct members (MODERATION_HOLD_REPORTS): hidden from everyone but its
    # author and moderators until a moderator reviews it.
    HELD = "held", "Held for review"
    # Taken down by a moderator; `moderation_reason` is shown to the author.
    HIDDEN = "hidden", "Hidden by a moderator"


class Moderated(models.Model):
    """A workbook or comment that moderators can hold or hide. Public lists and pages show only
    VISIBLE rows to others (each model's `visible_to`); the author always sees their own, with the
    reason."""

    moderation = models.CharField(
        max_length=10, choices=Moderation.choices, default=Moderation.VISIBLE, blank=True
    )
    moderation_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        abstract = True

    @property
    def is_visible(self) -> bool:
        return self.moderation == Moderation.VISIBLE

    @property
    def moderation_notice(self) -> str:
        """What the author is told of their held or hidden content; "" when it is visible."""
        if self.moderation == Moderation.HIDDEN:
            return f"Hidden by a moderator: {self.moderation_reason or 'no reason given'}"
        if self.moderation == Moderation.HELD:
            notice = "Held for review after reports"
            return f"{notice}: {self.moderation_reason}" if self.moderation_reason else notice
        return ""


REASON_MAX_LENGTH = 500


def clean_moderation(moderation: Moderation | str, reason: str) -> tuple[Moderation, str]:
    """A moderation state and its reason as the services store them: a known state, the reason
    trimmed (none kept for VISIBLE). Raises ValidationError otherwise."""
    try:
        state = Moderation(moderation)
    except ValueError:
        raise ValidationError("No such moderation state.", code="invalid") from None
    reason = (reason or "").strip() if state != Moderation.VISIBLE else ""
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            f"Keep the reason under {REASON_MAX_LENGTH} characters.", code="max_length"
        )
    return state, reason
