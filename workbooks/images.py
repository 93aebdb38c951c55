"""A workbook's thumbnail: media tells workbooks when a picture changes (media.signals), and
workbooks keeps the workbook's row and the cached gallery pages up to date; it tells media who may
give a workbook a thumbnail (media.holders), and that a deleted workbook's images can go.
Connected once, in WorkbooksConfig.ready."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models.signals import post_delete

from media import holders
from media import services as media_services
from media.models import Image
from media.signals import picture_changed

from . import cache as gallery_cache
from .models import Workbook


def show_picture(sender: Any, *, kind: str, holder: str, ref: dict | None, **kwargs: Any) -> None:
    if kind == Image.Kind.THUMBNAIL:
        Workbook.objects.filter(pk=holder).update(thumbnail=ref)
    # Cached gallery pages show avatars and thumbnails.
    gallery_cache.gallery_changed()


def may_change(user: Any, key: Any) -> str:
    """The workbook `key` when `user` may change it (media.holders: a direct thumbnail upload),
    fetched through the rule every other change goes through (WorkbookQuerySet.get_editable)."""
    try:
        return str(Workbook.objects.get_editable(user, pk=key).pk)
    except (Workbook.DoesNotExist, ValueError, TypeError):
        raise holders.Refused("No such workbook.", hidden=True) from None
    except PermissionDenied as refused:
        raise holders.Refused(str(refused), hidden=False) from None


def forget_thumbnails(sender: Any, instance: Workbook, **kwargs: Any) -> None:
    """A deleted workbook (the admin, or its author's account) takes its images with it."""
    media_services.forget(Image.Kind.THUMBNAIL, instance.pk)


def connect() -> None:
    picture_changed.connect(show_picture, dispatch_uid="workbooks.show_picture")
    holders.register(Image.Kind.THUMBNAIL, may_change)
    post_delete.connect(forget_thumbnails, sender=Workbook, dispatch_uid="workbooks.images_gone")
