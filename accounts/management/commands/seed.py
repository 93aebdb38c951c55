"""Volume data for benchmarks: `python manage.py seed --users 10000`. Bulk inserts; re-running adds
only what is missing."""

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User

BATCH_SIZE = 2000


class Command(BaseCommand):
    help = "Bulk-create volume data for benchmarks."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--users", type=int, default=0, help="How many seed members should exist."
        )
        parser.add_argument(
            "--password",
            default=None,
            help="Password for every seed member (default: none usable).",
        )

    def handle(self, *args, users: int = 0, password: str | None = None, **options) -> None:
        if users < 0:
            raise CommandError("--users must be zero or more.")
        self.seed_users(users, password)

    def seed_users(self, count: int, password: str | None) -> None:
        # One hash for all: hashing 10,000 passwords one by one would take minutes.
        hashed = make_password(password)
        existing = set(
            User.objects.filter(username__startswith="seed").values_list("username", flat=True)
        )
        wanted = [f"seed{i:06d}" for i in range(count)]
        missing = [name for name in wanted if name not in existing]
        for start in range(0, len(missing), BATCH_SIZE):
            batch = missing[start : start + BATCH_SIZE]
            with transaction.atomic():
                User.objects.bulk_create(
                    [
                        User(
                            username=name,
                            email=f"{name}@seed.invalid",
                            full_name=f"Seed Member {name[4:]}",
                            password=hashed,
                        )
                        for name in batch
                    ],
                    ignore_conflicts=True,
                )
        self.stdout.write(f"Users: {len(missing)} created, {count - len(missing)} already there.")
