"""Recompute every workbook's related workbooks: `python manage.py refresh_related`.

Run once after the migration that adds them, and whenever lists should follow trending again (they
keep the trending order of their last computation). Pages keep working while it runs.
"""

from django.core.management.base import BaseCommand, CommandError

from workbooks import services


class Command(BaseCommand):
    help = "Recompute the related workbooks of every set of tags in use, in batches."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--batch", type=int, default=200, help="Sets of tags per transaction (default 200)."
        )

    def handle(self, *args, batch: int = 200, **options) -> None:
        if batch < 1:
            raise CommandError("--batch must be 1 or more.")

        def progress(done: int, total: int) -> None:
            if options["verbosity"] > 1 or done == total:
                self.stdout.write(f"{done} of {total} sets of tags")

        total, _ = services.rebuild_related(batch, progress)
        self.stdout.write(f"Related workbooks computed for {total} sets of tags.")
