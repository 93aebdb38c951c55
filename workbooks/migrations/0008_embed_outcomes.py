# How each workbook's frame fared for its readers, per day: the outcomes their pages report.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workbooks", "0007_drop_workbook_search_vector"),
    ]

    operations = [
        migrations.CreateModel(
            name="EmbedHealth",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("loads", models.PositiveIntegerField(default=0)),
                ("errors", models.PositiveIntegerField(default=0)),
                ("timeouts", models.PositiveIntegerField(default=0)),
                (
                    "workbook",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="embed_health",
                        to="workbooks.workbook",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "embed health",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("workbook", "day"), name="embedhealth_workbook_day_unique"
                    )
                ],
            },
        ),
    ]
