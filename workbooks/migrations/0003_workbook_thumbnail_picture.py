from django.db import migrations, models


class Migration(migrations.Migration):
    # The uploaded file field becomes a reference to processed variants (media.storage.Picture). The
    # old column held a plain file name with no variants, so it is dropped rather than converted;
    # `seed_demo` recreates the demo thumbnails through the new upload path.

    dependencies = [
        ("workbooks", "0002_tag_workbook_count"),
    ]

    operations = [
        migrations.RemoveField(model_name="workbook", name="thumbnail"),
        migrations.AddField(
            model_name="workbook",
            name="thumbnail",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
    ]
