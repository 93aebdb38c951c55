"""An uploaded image and its processing, from the upload to its variants.

The picture in use is referenced from the row that shows it (a member's avatar, a workbook's
thumbnail) by a small JSON reference (storage.Picture), so pages show pictures without a join; this
row is the record of the work: what was uploaded, its status, and the files it owns. Which row shows
it is a plain reference (kind and holder), not a foreign key: media knows only images, and the app
owning the row keeps it up to date (media.signals).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .storage import Picture, variant_key


class Image(models.Model):
    class Kind(models.TextChoices):
        AVATAR = "avatar"
        THUMBNAIL = "thumbnail"

    class Status(models.TextChoices):
        UPLOADING = "uploading"  # a direct upload the client has not completed yet
        PROCESSING = "processing"
        READY = "ready"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="images"
    )
    # The key of the row that shows the picture: the owner's for an avatar (filled in on save),
    # the workbook's for a thumbnail. The picture's reference is (kind, holder).
    holder = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROCESSING)
    # The original, in the private uploads storage, until the variants are made.
    source = models.CharField(max_length=255, blank=True)
    content_hash = models.CharField(max_length=40, blank=True)
    fallback = models.CharField(max_length=4, blank=True)  # "jpg" or "png", beside the WebP files
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    sizes = models.JSONField(
        default=dict, blank=True
    )  # {"thumb": [w, h], "small": ..., "medium": ...}
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "kind", "-created_at"], name="image_owner_kind_idx"),
            models.Index(fields=["status", "created_at"], name="image_status_idx"),
            models.Index(fields=["kind", "content_hash"], name="image_content_idx"),
            models.Index(fields=["kind", "holder", "-created_at"], name="image_holder_idx"),
        ]
        constraints = [
            # One picture in use per holder: the one its row refers to.
            models.UniqueConstraint(
                fields=["kind", "holder"],
                condition=Q(status="ready"),
                name="image_one_ready_per_holder",
            ),
            models.CheckConstraint(
                condition=~Q(status="ready") | ~Q(holder=""),
                name="image_ready_has_holder",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A picture naming no other row is shown on its owner's (an avatar).
        if not self.holder:
            self.holder = str(self.owner_id)
        super().save(*args, **kwargs)

    @property
    def key(self) -> str:
        return variant_key(self.kind, self.content_hash)

    @property
    def picture(self) -> Picture | None:
        return Picture.from_ref(self.ref()) if self.status == self.Status.READY else None

    def ref(self) -> dict:
        """What the owner's row keeps to show this picture (see storage.Picture)."""
        return {"id": str(self.id), "key": self.key, "fallback": self.fallback, "sizes": self.sizes}
