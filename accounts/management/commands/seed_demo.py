"""Demo content for `make run`: a few members, a curator and an administrator. Safe to run again."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from accounts.roles import make_curator

DEMO_PASSWORD = "playground-demo"  # noqa: S105 - printed for the developer; the command refuses to run in production

DEMO_USERS = [
    # username, full name, bio, role
    ("admin", "Site Admin", "Keeps the lights on.", "superuser"),
    ("curator", "Casey Curator", "Picks the workbook of the day.", "curator"),
    ("ada", "Ada Lovelace", "Analyses of engines, looms and numbers.", ""),
    ("grace", "Grace Hopper", "Compilers, queues and nanoseconds.", ""),
    ("katherine", "Katherine Johnson", "Trajectories and launch windows.", ""),
]


class Command(BaseCommand):
    help = "Create demo members (idempotent). Development only."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")

    @transaction.atomic
    def handle(self, *args, force: bool = False, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates accounts with a known password; it runs only with DEBUG on."
            )
        created = 0
        for username, full_name, bio, role in DEMO_USERS:
            user, is_new = User.objects.get_or_create(
                username=username,
                defaults={"email": f"{username}@example.com", "full_name": full_name, "bio": bio},
            )
            if is_new:
                user.set_password(DEMO_PASSWORD)
                user.is_superuser = user.is_staff = role == "superuser"
                user.save()
                if role == "curator":
                    make_curator(user)
                created += 1
        self.stdout.write(
            f"Demo content ready ({created} new members). Sign in as admin, curator, ada, grace or "
            f"katherine with the password {DEMO_PASSWORD!r}."
        )
