"""Volume data for benchmarks, by bulk inserts: `python manage.py seed --users 10000 --workbooks 50000`.

Re-running adds only what is missing.
"""

import random
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from workbooks import markdown, services
from workbooks.models import RelatedWorkbook, Tag, Workbook

BATCH_SIZE = 2000
WORDS = """
revenue churn cohort pipeline forecast margin inventory retention funnel latency spend budget
attribution growth quota capacity supply demand energy weather traffic claims risk fraud
payroll hiring survey satisfaction pricing discount region segment product channel campaign
usage
""".split()
TAGS = """
finance saas sales marketing operations supply-chain energy public-data hr product engineering
healthcare retail logistics insurance education forecasting what-if geospatial experiments
""".split()

SYLLABLES = "ka lo mi nu ra te so vi an el or us in da pe qu tri bo ga ze fy ly".split()


class Command(BaseCommand):
    help = "Bulk-create volume data for benchmarks."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--users", type=int, default=0, help="How many seed members should exist."
        )
        parser.add_argument(
            "--workbooks", type=int, default=0, help="How many seed workbooks should exist."
        )
        parser.add_argument(
            "--password", default=None, help="Password of every seed member (default: unusable)."
        )

    def handle(
        self, *args, users: int = 0, workbooks: int = 0, password: str | None = None, **options
    ) -> None:
        if users < 0 or workbooks < 0:
            raise CommandError("--users and --workbooks must be zero or more.")
        self.seed_users(users, password)
        if workbooks:
            self.seed_workbooks(workbooks)

    def seed_users(self, count: int, password: str | None) -> None:
        hashed = make_password(password)  # one hash for all: hashing each would take minutes
        existing = set(
            User.objects.filter(username__startswith="seed").values_list("username", flat=True)
        )
        missing = [name for name in (f"seed{i:06d}" for i in range(count)) if name not in existing]
        for start in range(0, len(missing), BATCH_SIZE):
            with transaction.atomic():
                User.objects.bulk_create(
                    [
                        User(
                            username=name,
                            email=f"{name}@seed.invalid",
                            full_name=f"Seed Member {name[4:]}",
                            password=hashed,
                        )
                        for name in missing[start : start + BATCH_SIZE]
                    ],
                    ignore_conflicts=True,
                )
        self.stdout.write(f"Users: {len(missing)} created, {count - len(missing)} already there.")

    def seed_workbooks(self, count: int) -> None:
        authors = list(
            User.objects.filter(username__startswith="seed").values_list("pk", flat=True)
        )
        if not authors:
            raise CommandError("Seed some users first (--users N).")
        rng = random.Random(42)  # noqa: S311 - test data
        vocabulary = _vocabulary(rng)
        # Content words (stop words are not indexed) follow a flattened Zipf law: the commonest appear
        # in a few percent of documents, most are rare.
        weights = [1 / (rank + 200) for rank in range(1, len(vocabulary) + 1)]
        tags = [Tag.objects.get_or_create(slug=name, defaults={"name": name})[0] for name in TAGS]
        have = Workbook.objects.filter(slug__startswith="seed-").count()
        now = timezone.now()
        through = Workbook.tags.through
        for start in range(have, count, BATCH_SIZE):
            batch = []
            for i in range(start, min(count, start + BATCH_SIZE)):
                title = " ".join(rng.choices(vocabulary, weights, k=rng.randint(2, 5))).capitalize()
                words = " ".join(rng.choices(vocabulary, weights, k=rng.randint(15, 60)))
                description = f"A workbook about **{title.lower()}**: {words}."
                html, text = markdown.render(description)
                batch.append(Workbook(
                    author_id=rng.choice(authors), title=title, slug=f"seed-{i}-{slugify(title)[:80]}",
                    description=description, description_html=html, description_text=text,
                    embed_url=f"https://app.sigmacomputing.com/embed/1-Seed{i:08d}", embed_kind="public",
                    sigma_id=f"1-Seed{i:08d}", status=Workbook.Status.PUBLISHED,
                    published_at=now - timedelta(minutes=i),
                    view_count=rng.randint(0, 5000), favorite_count=rng.randint(0, 300),
                    trending_score=rng.random() * 100,
                ))  # fmt: skip
            with transaction.atomic():
                created = Workbook.objects.bulk_create(batch)
                through.objects.bulk_create(
                    [
                        through(workbook_id=w.pk, tag_id=t.pk)
                        for w in created
                        for t in rng.sample(tags, 3)
                    ],
                    ignore_conflicts=True,
                )
                services.refresh_search_entries(
                    Workbook.objects.filter(pk__in=[w.pk for w in created])
                )
        if connection.vendor == "postgresql":
            # Fresh statistics, or the planner guesses and skips the search's GIN index.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE workbooks_workbook")
                cursor.execute("VACUUM ANALYZE search_entry")
                cursor.execute("ANALYZE workbooks_workbook_tags")
                cursor.execute("ANALYZE accounts_user")
        if count > have or not RelatedWorkbook.objects.exists():
            # Bulk inserts bypass the services that keep related workbooks: compute them all.
            sets, _ = services.rebuild_related()
            self.stdout.write(f"Related workbooks: computed for {sets} sets of tags.")
        self.stdout.write(
            f"Workbooks: {max(0, count - have)} created, {min(have, count)} already there."
        )


def _vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    """The domain words first (the most frequent), then made-up words from syllables."""
    words = list(WORDS)
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words
