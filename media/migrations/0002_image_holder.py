"""An image's reference becomes plain fields (kind and holder) instead of a foreign key to the
workbook: media knows only images. Existing rows keep their link: an avatar's holder is its owner,
a thumbnail's its workbook."""

from django.db import migrations, models
from django.db.models import CharField, Q
from django.db.models.functions import Cast


def fill_holders(apps, schema_editor):
    Image = apps.get_model("media", "Image")
    Image.objects.filter(kind="avatar").update(holder=Cast("owner_id", CharField()))
    Image.objects.filter(kind="thumbnail").update(holder=Cast("workbook_id", CharField()))


def fill_workbooks(apps, schema_editor):
    Image = apps.get_model("media", "Image")
    for image in Image.objects.filter(kind="thumbnail").only("pk", "holder"):
        Image.objects.filter(pk=image.pk).update(workbook_id=int(image.holder))


class Migration(migrations.Migration):
    dependencies = [
        ("media", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="image",
            name="holder",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RemoveConstraint(model_name="image", name="image_one_ready_avatar"),
        migrations.RemoveConstraint(model_name="image", name="image_one_ready_thumbnail"),
        migrations.RemoveConstraint(model_name="image", name="image_thumbnail_has_workbook"),
        migrations.RunPython(fill_holders, fill_workbooks),
        migrations.RemoveField(model_name="image", name="workbook"),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(
                fields=["kind", "holder", "-created_at"], name="image_holder_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="image",
            constraint=models.UniqueConstraint(
                condition=Q(status="ready"),
                fields=("kind", "holder"),
                name="image_one_ready_per_holder",
            ),
        ),
        migrations.AddConstraint(
            model_name="image",
            constraint=models.CheckConstraint(
                condition=~Q(status="ready") | ~Q(holder=""),
                name="image_ready_has_holder",
            ),
        ),
    ]
