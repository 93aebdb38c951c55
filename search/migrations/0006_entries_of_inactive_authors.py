from django.conf import settings
from django.db import migrations

# An entry holds a date only while its workbook is listed (published, by an active author), as
# workbooks.services.refresh_search_entries now writes it: a ranked page takes its rows from the
# entries alone (workbooks.selectors.search), so an entry dated but not listed would leave a gap.
FORWARDS = """
UPDATE search_entry e SET published_at = NULL
FROM accounts_user u
WHERE u.id = e.author_id AND NOT u.is_active AND e.published_at IS NOT NULL
"""
BACKWARDS = """
UPDATE search_entry e SET published_at = w.published_at
FROM workbooks_workbook w
WHERE w.id = e.workbook_id AND w.status = 'published' AND e.published_at IS NULL
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARDS)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARDS)


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0005_vocabulary_forgets_unused_words"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
