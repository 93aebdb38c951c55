from django.apps import AppConfig


class WorkbooksConfig(AppConfig):
    name = "workbooks"
    verbose_name = "Workbooks"

    def ready(self) -> None:
        # Imported here, not at the top: the receivers import models, which an AppConfig's module
        # must not (Django loads it before the models are ready).
        from . import receivers

        receivers.connect()
