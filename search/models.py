"""What full-text search reads on PostgreSQL, kept apart from the wide workbook rows.

A search for a common word matches thousands of workbooks; PostgreSQL reads every match it keeps as
a candidate. Here a match costs a narrow row (id, author, date, vector) instead of a workbook with
its description, HTML and counters, and only published workbooks have a date, so the newest matches
come from one small index. `Lexeme` is the vocabulary the typo correction reads (docs/search.md).
"""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Left, Length


class Entry(models.Model):
    """A workbook as search sees it: `published_at` is set only while it is published.

    On PostgreSQL the table also has `tags` (integer[], GIN-indexed, search/migrations/0003), the
    workbook's tag ids for a search's tag filter: a column, not a field, as SQLite has no arrays.
    """

    workbook = models.OneToOneField(
        "workbooks.Workbook",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="search_entry",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    published_at = models.DateTimeField(null=True)
    vector = SearchVectorField()

    class Meta:
        db_table = "search_entry"
        indexes = [
            # Writes go straight into the index, not into a pending list every search would read
            # through (search/migrations/0007).
            GinIndex(fields=["vector"], fastupdate=False, name="search_entry_vector_idx"),
            # Newest first: a common word's search walks it backwards and stops at the last
            # match it keeps (selectors.SEARCH_RESULTS), leaving the older matches unread.
            models.Index(
                F("published_at").desc(),
                F("workbook").desc(),
                condition=Q(published_at__isnull=False),
                name="search_entry_newest_idx",
            ),
        ]
        verbose_name_plural = "entries"

    def __str__(self) -> str:
        return f"search entry of workbook {self.workbook_id}"


class Lexeme(models.Model):
    """Every word (as its stem) that any workbook's search vector has held: what a typo is corrected
    to. Only added to, never counted: a word no longer used corrects to nothing found, which is
    what the typo found anyway."""

    lexeme = models.TextField(primary_key=True)

    class Meta:
        db_table = "search_lexeme"
        indexes = [
            # Near words by the same first letter and a close length (a swapped pair, "chrun",
            # shares too few trigrams with "churn"); by shared trigrams, search_lexeme_trgm_idx
            # (PostgreSQL only, made in search/migrations/0001).
            models.Index(Left("lexeme", 1), Length("lexeme"), name="search_lexeme_shape_idx"),
        ]

    def __str__(self) -> str:
        return self.lexeme
