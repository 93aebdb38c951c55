from django.conf import settings
from django.db import migrations

# Two one-off changes of rows, after 0005's triggers are in place (and committed, so no write to
# search_entry waits for this one):
#
# 1. An entry holds a date only while its workbook is listed (published, by an active author), as
#    workbooks.services.refresh_search_entries now writes it: a ranked page takes its rows from the
#    entries alone (workbooks.selectors.search), so an entry dated but not listed would leave a gap.
#    The triggers then forget the words only those entries held.
# 2. Words left behind before the triggers existed (of workbooks unpublished, deleted or edited
#    since 0004) leave the vocabulary. The candidates are found by one read of the entries (no lock
#    on them), then each is checked and removed by 0005's search_lexeme_forget, which locks the word
#    first, so a workbook published meanwhile keeps its words.
UNDATE = """
UPDATE search_entry e SET published_at = NULL
FROM accounts_user u
WHERE u.id = e.author_id AND NOT u.is_active AND e.published_at IS NOT NULL
"""
FORGET_LEFT_BEHIND = """
SELECT search_lexeme_forget(ARRAY(
    SELECT lexeme FROM search_lexeme
    EXCEPT
    SELECT unnest(tsvector_to_array(vector)) FROM search_entry WHERE published_at IS NOT NULL
))
"""

# Backwards puts the dates of inactive authors' published workbooks back, and those entries' words
# back into the vocabulary (as 0004's code keeps them). The words of 2. are not put back: no
# published workbook holds them, and the code before this migration works the same without them.
REDATE = """
WITH redated AS (
    UPDATE search_entry e SET published_at = w.published_at
    FROM workbooks_workbook w
    WHERE w.id = e.workbook_id AND w.status = 'published' AND e.published_at IS NULL
    RETURNING e.vector
)
INSERT INTO search_lexeme (lexeme)
SELECT DISTINCT unnest(tsvector_to_array(vector)) FROM redated ORDER BY 1
ON CONFLICT DO NOTHING
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNDATE)
        schema_editor.execute(FORGET_LEFT_BEHIND)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REDATE)


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0005_vocabulary_triggers"),
        ("workbooks", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
