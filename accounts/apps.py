from django.apps import AppConfig
from django.db.models import CharField
from django.db.models.functions import Lower
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # `username__lower=...` matches the case-insensitive unique indexes, so lookups use them.
        CharField.register_lookup(Lower)

        from .roles import sync_role_groups

        post_migrate.connect(sync_role_groups, dispatch_uid="accounts.sync_role_groups")
