"""Reads for images."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .models import Image


def unfinished_upload(*, kind: str, holder: Any) -> Image | None:
    """The newest upload for a holder not yet in use (processing, or failed with a message for its
    owner), when it is newer than the picture in use; None when the picture shown is the latest."""
    images = Image.objects.filter(kind=kind, holder=str(holder))
    latest = images.exclude(status=Image.Status.UPLOADING).order_by("-created_at").first()
    if latest is None or latest.status == Image.Status.READY:
        return None
    return latest


def stuck_images(*, older_than: datetime, limit: int = 500) -> list[Image]:
    """Images still processing that were uploaded before `older_than`, oldest first (the
    `image_status_idx` index); removed after a day by services.remove_orphans."""
    return list(
        Image.objects.filter(status=Image.Status.PROCESSING, created_at__lt=older_than)
        .order_by("created_at")
        .only("pk", "kind", "status", "source", "content_hash", "created_at")[:limit]
    )


def has_uploads(*, kind: str, holder: Any) -> bool:
    """Whether anything was ever uploaded for a holder, in use or not."""
    return Image.objects.filter(kind=kind, holder=str(holder)).exists()
