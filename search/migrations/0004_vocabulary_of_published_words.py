from django.db import migrations

# The typo vocabulary holds only words of published workbooks: a draft's words made a word "known"
# (not corrected), so a search could test which words other members' drafts hold. Words only a
# draft holds are removed once; refresh_search_vectors adds a published entry's words only.
FORWARDS = """
DELETE FROM search_lexeme WHERE lexeme NOT IN (
    SELECT DISTINCT unnest(tsvector_to_array(vector)) FROM search_entry
    WHERE published_at IS NOT NULL
);
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARDS)


class Migration(migrations.Migration):
    dependencies = [("search", "0003_entry_tags")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
