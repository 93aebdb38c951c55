from django.db import migrations

# A RUM index (the rum extension, Debian's postgresql-15-rum, not in contrib) keeps each entry's date
# beside its words, so a search's newest matches come out of the index in date order: at 50,000
# workbooks "revenue"'s newest 200 took 0.7 ms from it against 6 ms walking the date index and
# testing each entry's vector (docs/search.md). Made only where the extension is available; without
# it the search walks the date index (workbooks.selectors._full_text checks which, with the query).
RUM_INDEX = """
CREATE INDEX IF NOT EXISTS search_entry_rum_idx ON search_entry
USING rum (vector rum_tsvector_addon_ops, published_at)
WITH (attach = 'published_at', to = 'vector')
WHERE published_at IS NOT NULL
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'rum'")
        if cursor.fetchone() is None:
            return
        cursor.execute("CREATE EXTENSION IF NOT EXISTS rum")
        cursor.execute(RUM_INDEX)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_entry_rum_idx")


class Migration(migrations.Migration):
    dependencies = [("search", "0002_search_query_parts")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
