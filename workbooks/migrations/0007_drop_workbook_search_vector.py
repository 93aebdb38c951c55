# Search reads its own table (search.Entry) since search/migrations/0001; the workbook row's vector
# and its GIN index were no longer written or read.

from django.db import migrations

from sigma_playground.migrations_ops import RemoveIndexOnPostgres


class Migration(migrations.Migration):
    dependencies = [
        ("workbooks", "0006_related_workbooks_and_views_without_row_locks"),
    ]

    operations = [
        RemoveIndexOnPostgres(model_name="workbook", name="workbook_search_idx"),
        migrations.RemoveField(model_name="workbook", name="search_vector"),
    ]
