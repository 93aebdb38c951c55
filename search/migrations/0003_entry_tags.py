from django.db import migrations

# Each entry's tag ids (PostgreSQL only, like the search itself), written with its vector by
# workbooks.services.refresh_search_vectors: a search filtered by a tag tests the array on the row it
# has already read, instead of looking each match up in the workbook-tag table, and PostgreSQL, which
# knows how common each tag is, can AND the tag's GIN matches with the words' (docs/search.md).
FORWARDS = """
ALTER TABLE search_entry ADD COLUMN tags integer[] NOT NULL DEFAULT '{}';
UPDATE search_entry e SET tags = ARRAY(
    SELECT wt.tag_id FROM workbooks_workbook_tags wt WHERE wt.workbook_id = e.workbook_id ORDER BY 1
) WHERE EXISTS (SELECT 1 FROM workbooks_workbook_tags wt WHERE wt.workbook_id = e.workbook_id);
CREATE INDEX search_entry_tags_idx ON search_entry USING gin (tags);
ANALYZE search_entry;
"""
BACKWARDS = "ALTER TABLE search_entry DROP COLUMN tags"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARDS)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARDS)


class Migration(migrations.Migration):
    dependencies = [("search", "0002_search_query_parts")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
