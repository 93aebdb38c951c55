from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models import CharField
from django.db.models.functions import Lower


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # `username__lower=...` matches the case-insensitive unique indexes, so lookups use them.
        CharField.register_lookup(Lower)

        # Imported here, not at the top: the receivers import models, which an AppConfig's module
        # must not (Django loads it before the models are ready).
        from . import receivers

        receivers.connect()

        # Imported here for the same reason (accounts.providers imports models). The sign-in
        # buttons' forms lead to the configured providers: the pages' CSP must let them.
        from sigma_playground import security

        from . import providers

        security.register_form_action_source(providers.form_action_origins)


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin with our site (accounts.admin_site): its sign-in is the site's own."""

    # Named in INSTALLED_APPS explicitly; not a candidate when Django picks this app's own config.
    default = False
    default_site = "accounts.admin_site.AdminSite"
