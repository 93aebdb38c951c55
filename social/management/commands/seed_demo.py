"""Demo content for `make run`: members with profiles, workbooks with thumbnails and pins,
collections, featured picks. Safe to re-run. (It lives in the social app, the highest the demo
reaches, so it may seed every app below it.)"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.demo import ensure_demo_profiles, ensure_demo_users
from social.demo import ensure_demo_collections
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
        ensure_demo_profiles(users)
        new_workbooks = ensure_demo_workbooks(users, curator=users["curator"])
        new_collections = ensure_demo_collections(users, curator=users["curator"])
        # Whom to sign in as is demo_accounts' to say: `make run` prints it last, below what the
        # tasks queued here write once this transaction commits.
        self.stdout.write(
            f"Demo content ready ({new_users} new members, {new_workbooks} new workbooks, "
            f"{new_collections} new collections)."
        )
