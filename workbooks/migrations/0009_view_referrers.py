# Where counted views come from: the referring domain of each pending view, added up per workbook,
# day and domain by the view flush.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workbooks", "0008_embed_outcomes"),
    ]

    operations = [
        migrations.AddField(
            model_name="pendingview",
            name="referrer_domain",
            field=models.CharField(blank=True, default="", max_length=253),
        ),
        migrations.CreateModel(
            name="DailyReferrer",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("domain", models.CharField(max_length=253)),
                ("views", models.PositiveIntegerField(default=0)),
                (
                    "workbook",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="daily_referrers",
                        to="workbooks.workbook",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["day"], name="dailyreferrer_day_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("workbook", "day", "domain"),
                        name="dailyreferrer_workbook_day_domain_unique",
                    )
                ],
            },
        ),
    ]
