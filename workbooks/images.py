"""A workbook's thumbnail: media tells workbooks when a picture changes (media.signals), and
workbooks keeps the workbook's row and the cached gallery pages up to date; it tells media who may
give a workbook a thumbnail (media.holders), and that a deleted workbook's images can go.
Connected in workbooks.receivers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied

from media import holders
from media import services as media_services
from media.models import Image

from . import cache as gallery_cache
from .models import Workbook


def show_picture(
    sender: Any, *, kind: str, holder: str, ref: dict | None, **kwargs: Any
) -> bool | None:
    """For a thumbnail, whether its workbook is still there (media.signals): one deleted while the
    upload was being accepted shows nothing, and its new picture is removed."""
    shown = None
    if kind == Image.Kind.THUMBNAIL:
        shown = Workbook.objects.filter(pk=holder).update(thumbnail=ref) > 0
    # Cached gallery pages show avatars and thumbnails.
    gallery_cache.gallery_changed()
    return shown


def may_change(user: Any, key: Any) -> str:
    """The workbook `key` when `user` may change it (media.holders: a direct thumbnail upload),
    fetched through the rule every other change goes through (WorkbookQuerySet.get_editable)."""
    try:
        return str(Workbook.objects.get_editable(user, pk=key).pk)
    except (Workbook.DoesNotExist, ValueError, TypeError):
        raise holders.Refused("No such workbook.", hidden=True) from None
    except PermissionDenied as refused:
        raise holders.Refused(str(refused), hidden=False) from None


def hold_thumbnails(workbook_ids: Iterable[int]) -> None:
    """Before these workbooks' rows are locked for deletion: wait for any thumbnail being put in
    use for them (media.services.hold), which locks its image and then writes the workbook's row,
    the other way round from a deletion."""
    for pk in sorted(workbook_ids):
        media_services.hold(Image.Kind.THUMBNAIL, pk)


def forget_thumbnails(sender: Any, instance: Workbook, **kwargs: Any) -> None:
    """A deleted workbook (the admin, or its author's account) takes its images with it."""
    media_services.forget(Image.Kind.THUMBNAIL, instance.pk)
