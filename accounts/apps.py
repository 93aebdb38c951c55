from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models import CharField
from django.db.models.functions import Lower
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # `username__lower=...` matches the case-insensitive unique indexes, so lookups use them.
        CharField.register_lookup(Lower)

        from .api.authentication import connect_receivers
        from .receivers import end_sign_ins
        from .roles import sync_role_groups
        from .signals import sign_ins_ended

        post_migrate.connect(sync_role_groups, dispatch_uid="accounts.sync_role_groups")
        sign_ins_ended.connect(end_sign_ins, dispatch_uid="accounts.end_sign_ins")
        connect_receivers()  # a bearer's member kept for read-only lists is retired by any write


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin with our site (accounts.admin_site): its sign-in is the site's own."""

    # Named in INSTALLED_APPS explicitly; not a candidate when Django picks this app's own config.
    default = False
    default_site = "accounts.admin_site.AdminSite"
