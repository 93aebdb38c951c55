"""An uploaded image and its processing, from the upload to its variants.

The picture in use is referenced from its owner's row (User.avatar, Workbook.thumbnail) by a small JSON
reference (storage.Picture), so pages show pictures without a join; this row is the record of the work:
what was uploaded, its status, and the files it owns.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


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
    # The workbook a thumbnail is for; empty for avatars.
    workbook = models.ForeignKey(
        "workbooks.Workbook", on_delete=models.CASCADE, null=True, blank=True, related_name="images"
    )
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
        ]
        constraints = [
            # One picture in use per member and per workbook: the one their row refers to.
            models.UniqueConstraint(
                fields=["owner"],
                condition=Q(kind="avatar", status="ready"),
                name="image_one_ready_avatar",
            ),
            models.UniqueConstraint(
                fields=["workbook"],
                condition=Q(kind="thumbnail", status="ready"),
                name="image_one_ready_thumbnail",
            ),
            models.CheckConstraint(
                condition=Q(kind="avatar", workbook__isnull=True)
                | Q(kind="thumbnail", workbook__isnull=False),
                name="image_thumbnail_has_workbook",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"

    @property
    def key(self) -> str:
        from .storage import variant_key

        return variant_key(self.kind, self.content_hash)

    @property
    def picture(self):
        from .storage import Picture

        return Picture.from_ref(self.ref()) if self.status == self.Status.READY else None

    def ref(self) -> dict:
        """What the owner's row keeps to show this picture (see storage.Picture)."""
        return {"id": str(self.id), "key": self.key, "fallback": self.fallback, "sizes": self.sizes}
