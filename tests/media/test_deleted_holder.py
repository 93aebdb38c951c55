"""A workbook deleted while its new thumbnail is on its way leaves no image row and no files behind:
whenever the deletion comes, before the job, while it makes the variants, or between the upload's
check of the workbook and the image's row (which the deletion's own cleanup then cannot see)."""

import io

import pytest

from media import services, tasks
from media.models import Image
from tests.factories import WorkbookFactory
from tests.media import images
from tests.media.test_services import media_files, originals
from workbooks.models import Workbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def workbook(user):
    return WorkbookFactory(author=user)


def accept(owner, workbook: Workbook) -> Image:
    return services.accept_upload(
        owner=owner, kind="thumbnail", holder=workbook.pk, file=io.BytesIO(images.png())
    )


def test_a_workbook_deleted_before_the_job_runs_takes_its_upload_with_it(user, workbook):
    image = accept(user, workbook)

    workbook.delete()
    tasks.process_image(str(image.id))

    assert not Image.objects.exists()
    assert media_files() == set()


def test_a_workbook_deleted_while_the_variants_are_made_leaves_no_files(
    user, workbook, monkeypatch, django_capture_on_commit_callbacks
):
    image = accept(user, workbook)
    render = services.processing.render

    def render_then_deleted(data):
        rendered = render(data)
        workbook.delete()  # its author deletes it meanwhile
        return rendered

    monkeypatch.setattr(services.processing, "render", render_then_deleted)

    with django_capture_on_commit_callbacks(execute=True):
        tasks.process_image(str(image.id))

    assert not Image.objects.exists()
    assert media_files() == set()
    assert originals() == []


def test_a_workbook_deleted_while_its_upload_is_stored_takes_the_new_picture_with_it(
    user, workbook, monkeypatch, django_capture_on_commit_callbacks
):
    """The upload's view checked the workbook; the deletion, and its removal of the workbook's
    images, then came before the image's row was saved: only the job can tell."""
    write_whole = services.write_whole

    def written_then_deleted(*args, **kwargs):
        write_whole(*args, **kwargs)
        Workbook.objects.filter(pk=workbook.pk).delete()  # again for each variant: a no-op

    monkeypatch.setattr(services, "write_whole", written_then_deleted)

    # The job runs once the upload commits, and what it does once it commits runs too.
    with django_capture_on_commit_callbacks(execute=True):
        accept(user, workbook)

    assert not Image.objects.exists()
    assert media_files() == set()
    assert originals() == []
