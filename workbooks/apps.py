from django.apps import AppConfig
from django.db.models.signals import post_save


class WorkbooksConfig(AppConfig):
    name = "workbooks"
    verbose_name = "Workbooks"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        post_save.connect(
            _author_renamed, sender=get_user_model(), dispatch_uid="workbooks.author_renamed"
        )


def _author_renamed(sender, instance, update_fields=None, created=False, **kwargs) -> None:
    """An author's names are in their workbooks' search vectors: keep them current."""
    if created or (update_fields is not None and "full_name" not in update_fields):
        return
    from .models import Workbook
    from .services import refresh_search_vectors

    refresh_search_vectors(Workbook.objects.filter(author=instance))
