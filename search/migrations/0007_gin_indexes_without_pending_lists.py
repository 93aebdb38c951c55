import django.contrib.postgres.indexes
from django.db import migrations

# The search's GIN indexes take each write straight into the index (fastupdate off) instead of
# into a pending list that every search reads through from start to end until a vacuum (or a
# list of gin_pending_list_limit, 4 MB, filling up: one writer then pays for merging it all).
# The trigram index of the vocabulary, which every typo's correction reads, held 1,805 words in
# its pending list after the 50,000 workbooks of the benchmark's seed: its lookup took 0.9 ms,
# 0.06 ms once they were merged (docs/search.md). A new word or a changed entry now costs its
# index entries at once; the lists already pending are merged here.
GIN_INDEXES = ("search_entry_vector_idx", "search_entry_tags_idx", "search_lexeme_trgm_idx")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in GIN_INDEXES:
        schema_editor.execute(f"ALTER INDEX {index} SET (fastupdate = off)")
        schema_editor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in GIN_INDEXES:
        schema_editor.execute(f"ALTER INDEX {index} RESET (fastupdate)")


class Migration(migrations.Migration):
    dependencies = [("search", "0006_listed_entries_and_known_words")]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The model's index says so too (fastupdate=False); the database's is altered in
            # place, not made again.
            state_operations=[
                migrations.RemoveIndex(model_name="entry", name="search_entry_vector_idx"),
                migrations.AddIndex(
                    model_name="entry",
                    index=django.contrib.postgres.indexes.GinIndex(
                        fields=["vector"], fastupdate=False, name="search_entry_vector_idx"
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
        ),
    ]
