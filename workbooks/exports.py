"""A member's workbooks in their data export (accounts.exports), drafts included, and the
thumbnails shown on them. Registered in WorkbooksConfig.ready (workbooks.receivers)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from accounts.exports import ExportedPicture
from accounts.models import User
from media.storage import Picture
from sigma_playground.mail import absolute

from .models import Workbook


def workbooks_of(user: User) -> list[dict[str, Any]]:
    """Every workbook of the member, oldest first (two queries: the workbooks, their tags)."""
    workbooks = (
        Workbook.objects.filter(author=user).prefetch_related("tags").order_by("created_at", "id")
    )
    return [
        {
            "id": workbook.pk,
            "title": workbook.title,
            "slug": workbook.slug,
            "url": absolute(workbook.get_absolute_url()),
            "status": workbook.status,
            "description": workbook.description,
            "sigma_url": workbook.embed_url,
            "tags": sorted(tag.name for tag in workbook.tags.all()),
            "created_at": workbook.created_at,
            "updated_at": workbook.updated_at,
            "published_at": workbook.published_at,
            "view_count": workbook.view_count,
            "favorite_count": workbook.favorite_count,
            "comment_count": workbook.comment_count,
        }
        for workbook in workbooks
    ]


def thumbnails_of(user: User) -> Iterable[ExportedPicture]:
    """The thumbnail of each of their workbooks that has one, named by its slug (one query)."""
    shown = (
        Workbook.objects.filter(author=user, thumbnail__isnull=False)
        .order_by("created_at", "id")
        .values_list("slug", "thumbnail")
    )
    for slug, ref in shown:
        picture = Picture.from_ref(ref)
        if picture is not None:
            yield ExportedPicture(f"workbooks/{slug}", picture)
