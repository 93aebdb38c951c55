"""Demo content for `make run`: members, workbooks with thumbnails, featured picks. Safe to re-run."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.demo import DEMO_PASSWORD, ensure_demo_users
from workbooks.demo import ensure_demo_workbooks


class Command(BaseCommand):
    help = "Create demo content (idempotent). Development only."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")

    @transaction.atomic
    def handle(self, *args, force: bool = False, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates accounts with a known password; it runs only with DEBUG on."
            )
        users, new_users = ensure_demo_users()
        new_workbooks = ensure_demo_workbooks(users, curator=users["curator"])
        self.stdout.write(
            f"Demo content ready ({new_users} new members, {new_workbooks} new workbooks). Sign in as "
            f"admin, curator, ada, grace or katherine with the password {DEMO_PASSWORD!r}."
        )
