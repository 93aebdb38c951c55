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

        from django.contrib.admin.models import LogEntry
        from django.contrib.auth.signals import user_logged_out
        from django.db.models.signals import m2m_changed, post_save

        from .api.authentication import connect_receivers
        from .models import User
        from .receivers import audit_admin_action, audit_role_change, audit_sign_out, end_sign_ins
        from .roles import sync_role_groups
        from .signals import sign_ins_ended

        post_migrate.connect(sync_role_groups, dispatch_uid="accounts.sync_role_groups")
        sign_ins_ended.connect(end_sign_ins, dispatch_uid="accounts.end_sign_ins")
        # Audit events: sign-outs, roles given or taken, and everything done through the admin.
        user_logged_out.connect(audit_sign_out, dispatch_uid="accounts.audit_sign_out")
        for relation in (User.groups.through, User.user_permissions.through):
            m2m_changed.connect(
                audit_role_change, sender=relation, dispatch_uid=f"accounts.audit_{relation}"
            )
        post_save.connect(
            audit_admin_action, sender=LogEntry, dispatch_uid="accounts.audit_admin_action"
        )
        connect_receivers()  # a bearer's member kept for read-only lists is retired by any write


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin with our site (accounts.admin_site): its sign-in is the site's own."""

    # Named in INSTALLED_APPS explicitly; not a candidate when Django picks this app's own config.
    default = False
    default_site = "accounts.admin_site.AdminSite"
