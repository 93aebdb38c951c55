"""Drafts that were never published get an address of their own (slug plus a random suffix), as new
drafts do: a bare slug held by a draft would still make someone else's new workbook take a suffix,
and so tell them that a draft of that title exists. Drafts are seen only by their authors, so no
public link changes; a workbook published once keeps its address."""

import secrets

from django.db import migrations

SLUG_MAX_LENGTH = 140


def give_drafts_their_own_addresses(apps, schema_editor):
    Workbook = apps.get_model("workbooks", "Workbook")
    drafts = Workbook.objects.filter(status="draft", published_at__isnull=True).only("pk", "slug")
    for draft in drafts.iterator():
        suffix = secrets.token_hex(3)
        draft.slug = f"{draft.slug[: SLUG_MAX_LENGTH - len(suffix) - 1]}-{suffix}"
        draft.save(update_fields=["slug"])


class Migration(migrations.Migration):
    dependencies = [("workbooks", "0004_secure_embed_approval_and_moderation")]

    operations = [
        migrations.RunPython(give_drafts_their_own_addresses, migrations.RunPython.noop),
    ]
