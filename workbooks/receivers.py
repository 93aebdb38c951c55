"""How workbooks reacts to what other apps send: a member changed or about to be deleted
(accounts.signals), a picture changed and a deleted workbook's images (media), Redis coming back.
Every receiver of the app is connected here, once, in WorkbooksConfig.ready.

The gallery's cache and what depends on workbooks (search entries, tag counts, related lists) are
kept current by the services that make each change, the admin's included (workbooks.admin calls
them): no receiver here watches the model signals of Workbook, Featured or Tag for that.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models.signals import post_delete

from accounts import exports, profiles
from accounts.models import User
from accounts.signals import member_changed, member_deleting
from media import holders
from media.models import Image
from media.signals import picture_changed
from sigma_playground.cache import cache_recovered

from . import cache, images, selectors, services
from . import exports as workbook_exports
from .models import Workbook


def connect() -> None:
    member_changed.connect(_member_changed, dispatch_uid="workbooks.member_changed")
    member_deleting.connect(_member_deleting, dispatch_uid="workbooks.member_deleting")
    cache_recovered.connect(_cache_recovered, dispatch_uid="gallery.cache_recovered")
    picture_changed.connect(images.show_picture, dispatch_uid="workbooks.show_picture")
    holders.register(Image.Kind.THUMBNAIL, images.may_change)
    # A member's workbooks and their thumbnails in the member's data export.
    exports.register(
        "workbooks", data=workbook_exports.workbooks_of, pictures=workbook_exports.thumbnails_of
    )
    # A member's pins are ids of their published workbooks, which accounts cannot read itself.
    profiles.register(selectors.published_among, selectors.pinnable)
    # Files, not the gallery: a workbook's images must go however its row goes, a cascade from
    # its author's deleted account included, which no service of ours makes. Only the model's own
    # signal sees every deletion.
    post_delete.connect(
        images.forget_thumbnails, sender=Workbook, dispatch_uid="workbooks.images_gone"
    )


def _member_changed(sender: Any, user: User, fields: Iterable[str], **kwargs: Any) -> None:
    services.author_changed(user.pk, fields)


def _member_deleting(sender: Any, user: User, **kwargs: Any) -> None:
    services.author_deleting(user.pk)


def _cache_recovered(sender: Any, **kwargs: Any) -> None:
    """Changes made while Redis was down could not move the gallery's version: fragments cached
    before the outage would come back as if current. A new version retires them."""
    cache.gallery_changed()
