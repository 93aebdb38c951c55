"""Where Django itself writes what workbooks depend on (the admin, a member's own row saved by
accounts, Redis coming back): each receiver hands the change to a service or to the gallery's
cache. Connected once, in WorkbooksConfig.ready."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

from accounts.models import User
from sigma_playground.cache import cache_recovered

from . import cache, services
from .models import Featured, Tag, Workbook


def connect() -> None:
    post_save.connect(_author_changed, sender=User, dispatch_uid="workbooks.author_changed")
    post_save.connect(_member_saved, sender=User, dispatch_uid="workbooks.member_saved")
    # Any saved or deleted row of these can change a listing (the admin included).
    for model in (Workbook, Featured, Tag):
        post_save.connect(
            _gallery_changed, sender=model, dispatch_uid=f"gallery.save.{model.__name__}"
        )
        post_delete.connect(
            _gallery_changed, sender=model, dispatch_uid=f"gallery.delete.{model.__name__}"
        )
    m2m_changed.connect(_gallery_changed, sender=Workbook.tags.through, dispatch_uid="gallery.tags")
    cache_recovered.connect(_cache_recovered, dispatch_uid="gallery.cache_recovered")
    pre_delete.connect(_tag_deleted, sender=Tag, dispatch_uid="workbooks.related.tag_deleted")
    pre_save.connect(_tag_saving, sender=Tag, dispatch_uid="workbooks.search.tag_saving")
    post_save.connect(_tag_saved, sender=Tag, dispatch_uid="workbooks.search.tag_saved")


def _gallery_changed(sender: Any, action: str = "post", **kwargs: Any) -> None:
    if action.startswith("pre_"):  # m2m_changed: the post_ signal of the same change follows
        return
    cache.gallery_changed()


def _cache_recovered(sender: Any, **kwargs: Any) -> None:
    """Changes made while Redis was down could not move the gallery's version: fragments cached
    before the outage would come back as if current. A new version retires them."""
    cache.gallery_changed()


def _member_saved(sender: type[User], instance: User, created: bool = False, **kwargs: Any) -> None:
    """A member's bio, website or name shows on pages kept for visitors (their profile, their
    workbooks' author card): those copies are retired."""
    if not created:
        cache.object_changed("user", instance.pk)


def _author_changed(
    sender: type[User],
    instance: User,
    update_fields: frozenset[str] | None = None,
    created: bool = False,
    **kwargs: Any,
) -> None:
    if not created:
        services.author_changed(instance.pk, None if update_fields is None else set(update_fields))


def _tag_deleted(sender: type[Tag], instance: Tag, **kwargs: Any) -> None:
    services.tag_deleting(instance)


_NAME_BEFORE_SAVE = "_name_before_save"


def _tag_saving(
    sender: type[Tag],
    instance: Tag,
    raw: bool = False,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    """The name a saved tag had, read before the save, so `_tag_saved` knows if it was renamed
    (kept on the instance, between its two signals)."""
    before = vars(instance)
    before[_NAME_BEFORE_SAVE] = None
    if raw or instance.pk is None or (update_fields is not None and "name" not in update_fields):
        return
    before[_NAME_BEFORE_SAVE] = (
        sender.objects.filter(pk=instance.pk).values_list("name", flat=True).first()
    )


def _tag_saved(sender: type[Tag], instance: Tag, created: bool = False, **kwargs: Any) -> None:
    """A tag renamed (in the admin) renames it in its workbooks' search entries; a tag saved
    under the same name (its slug changed, or nothing) leaves them as they are."""
    before = vars(instance).pop(_NAME_BEFORE_SAVE, None)
    if not created and before is not None and before != instance.name:
        services.tag_renamed(instance)
