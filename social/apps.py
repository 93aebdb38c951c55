from django.apps import AppConfig


class SocialConfig(AppConfig):
    name = "social"
    verbose_name = "Social"

    def ready(self) -> None:
        from workbooks.signals import workbook_featured, workbook_published

        workbook_published.connect(_published, dispatch_uid="social.published")
        workbook_featured.connect(_featured, dispatch_uid="social.featured")


def _published(sender, workbook, **kwargs) -> None:
    from .services import record_published

    record_published(workbook)


def _featured(sender, workbook, curator, **kwargs) -> None:
    from .services import record_featured

    record_featured(workbook, curator)
