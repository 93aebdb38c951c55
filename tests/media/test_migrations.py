"""media 0002: an image's link to what shows it becomes plain fields (kind and holder) instead of a
foreign key to the workbook. Every existing image keeps its link, both ways."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = ("media", "0001_initial")
AFTER = ("media", "0002_image_holder")


def migrated(media):
    """The apps (historical models) once the database is at `media` for media and at their latest
    migration for every other app."""
    executor = MigrationExecutor(connection)
    targets = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "media"]
    targets.append(media)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def at_latest():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("at_latest")
def test_every_image_keeps_its_link_to_what_shows_it_both_ways():
    apps = migrated(BEFORE)
    User = apps.get_model("accounts", "User")
    Workbook = apps.get_model("workbooks", "Workbook")
    Image = apps.get_model("media", "Image")
    author = User.objects.create(username="ada", email="ada@example.com", password="!")
    other = User.objects.create(username="grace", email="grace@example.com", password="!")
    workbook = Workbook.objects.create(
        author=author,
        title="Sales",
        slug="sales",
        embed_url="https://app.sigmacomputing.com/acme/workbook/sales-1a2b3c",
    )
    avatar = Image.objects.create(kind="avatar", owner=other, status="ready")
    thumbnail = Image.objects.create(kind="thumbnail", owner=author, workbook=workbook)

    apps = migrated(AFTER)
    Image = apps.get_model("media", "Image")
    assert Image.objects.get(pk=avatar.pk).holder == str(other.pk)
    assert Image.objects.get(pk=thumbnail.pk).holder == str(workbook.pk)

    apps = migrated(BEFORE)
    Image = apps.get_model("media", "Image")
    assert Image.objects.get(pk=thumbnail.pk).workbook_id == workbook.pk
    assert Image.objects.get(pk=avatar.pk).workbook_id is None
