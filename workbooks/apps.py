from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

from sigma_playground.cache import cache_recovered


class WorkbooksConfig(AppConfig):
    name = "workbooks"
    verbose_name = "Workbooks"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        from .models import Featured, Tag, Workbook

        post_save.connect(
            _author_changed, sender=get_user_model(), dispatch_uid="workbooks.author_changed"
        )
        post_save.connect(
            _member_saved, sender=get_user_model(), dispatch_uid="workbooks.member_saved"
        )
        # Any saved or deleted row of these can change a listing (the admin included).
        for model in (Workbook, Featured, Tag):
            post_save.connect(
                _gallery_changed, sender=model, dispatch_uid=f"gallery.save.{model.__name__}"
            )
            post_delete.connect(
                _gallery_changed, sender=model, dispatch_uid=f"gallery.delete.{model.__name__}"
            )
        m2m_changed.connect(
            _gallery_changed, sender=Workbook.tags.through, dispatch_uid="gallery.tags"
        )
        cache_recovered.connect(_cache_recovered, dispatch_uid="gallery.cache_recovered")
        pre_delete.connect(_tag_deleted, sender=Tag, dispatch_uid="workbooks.related.tag_deleted")
        pre_save.connect(_tag_saving, sender=Tag, dispatch_uid="workbooks.search.tag_saving")
        post_save.connect(_tag_saved, sender=Tag, dispatch_uid="workbooks.search.tag_saved")


def _gallery_changed(sender, action: str = "post", **kwargs) -> None:
    if action.startswith("pre_"):  # m2m_changed: the post_ signal of the same change follows
        return
    from .cache import gallery_changed

    gallery_changed()


def _cache_recovered(sender, **kwargs) -> None:
    """Changes made while Redis was down could not move the gallery's version: fragments cached
    before the outage would come back as if current. A new version retires them."""
    from .cache import gallery_changed

    gallery_changed()


def _member_saved(sender, instance, created: bool = False, **kwargs) -> None:
    """A member's bio, website or name shows on pages kept for visitors (their profile, their
    workbooks' author card): those copies are retired."""
    if not created:
        from .cache import object_changed

        object_changed("user", instance.pk)


def _author_changed(sender, instance, update_fields=None, created=False, **kwargs) -> None:
    """Keep what depends on an author current: their names are in their workbooks' search entries,
    and a deactivated author's workbooks no longer count towards tags nor are searched."""
    if created:
        return
    from .cache import gallery_changed
    from .models import Workbook
    from .services import refresh_search_entries, refresh_tag_counts, related_changed, tag_ids_of

    fields = None if update_fields is None else set(update_fields)
    workbooks = Workbook.objects.filter(author=instance)
    if fields is None or fields & {"full_name", "username", "is_active"}:
        refresh_search_entries(workbooks)
        gallery_changed()
    if fields is None or "is_active" in fields:
        refresh_tag_counts(tag_ids_of(workbooks.values("pk")))  # bumps the gallery itself
        # Their workbooks leave (or come back to) other workbooks' related lists.
        related_changed(
            workbooks.filter(status=Workbook.Status.PUBLISHED).values_list("pk", flat=True)
        )


def _tag_deleted(sender, instance, **kwargs) -> None:
    """Deleting a tag changes the set of tags of every workbook that had it: their lists are
    recomputed once it is gone."""
    from .models import Workbook
    from .services import related_changed

    ids = list(Workbook.objects.filter(tags=instance).values_list("pk", flat=True))
    related_changed(ids)
    _research_once_committed(ids)


def _tag_saving(sender, instance, raw: bool = False, update_fields=None, **kwargs) -> None:
    """The name a saved tag had, read before the save, so `_tag_saved` knows if it was renamed."""
    instance._name_before_save = None
    if raw or instance.pk is None or (update_fields is not None and "name" not in update_fields):
        return
    instance._name_before_save = (
        sender.objects.filter(pk=instance.pk).values_list("name", flat=True).first()
    )


def _tag_saved(sender, instance, created: bool = False, **kwargs) -> None:
    """A tag renamed (in the admin) renames it in its workbooks' search entries; a tag saved
    under the same name (its slug changed, or nothing) leaves them as they are."""
    before = getattr(instance, "_name_before_save", None)
    instance._name_before_save = None
    if created or before is None or before == instance.name:
        return
    from .models import Workbook

    _research_once_committed(
        list(Workbook.objects.filter(tags=instance).values_list("pk", flat=True))
    )


def _research_once_committed(ids: list[int]) -> None:
    """Their search entries hold their tags' names: made again once the change is committed (a
    deleted tag's links are gone only then)."""
    if not ids:
        return
    from django.db import transaction

    from .models import Workbook
    from .services import refresh_search_entries

    transaction.on_commit(lambda: refresh_search_entries(Workbook.objects.filter(pk__in=ids)))
