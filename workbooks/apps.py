from django.apps import AppConfig
from django.db.models.signals import post_save


class WorkbooksConfig(AppConfig):
    name = "workbooks"
    verbose_name = "Workbooks"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        post_save.connect(
            _author_changed, sender=get_user_model(), dispatch_uid="workbooks.author_changed"
        )


def _author_changed(sender, instance, update_fields=None, created=False, **kwargs) -> None:
    """Keep what depends on an author current: their names are in their workbooks' search vectors,
    and a deactivated author's workbooks no longer count towards tags."""
    if created:
        return
    from .models import Workbook
    from .services import refresh_search_vectors, refresh_tag_counts, tag_ids_of

    fields = None if update_fields is None else set(update_fields)
    workbooks = Workbook.objects.filter(author=instance)
    if fields is None or fields & {"full_name", "username"}:
        refresh_search_vectors(workbooks)
    if fields is None or "is_active" in fields:
        refresh_tag_counts(tag_ids_of(workbooks.values("pk")))
