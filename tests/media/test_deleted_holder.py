"""A workbook deleted while its new thumbnail is on its way leaves no image row and no files behind:
whenever the deletion comes, before the job, while it makes the variants, or between the upload's
check of the workbook and the image's row (which the deletion's own cleanup then cannot see)."""

import io
import threading
import time

import pytest
from django.db import connection

from media import services, tasks
from media.models import Image
from tests.factories import WorkbookFactory
from tests.media import images
from tests.media.test_services import media_files, originals
from workbooks import services as workbook_services
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


def test_a_deleted_member_takes_their_avatars_images_with_them(
    user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.accept_upload(
            owner=user, kind="avatar", holder=user.pk, file=io.BytesIO(images.png())
        )
    assert Image.objects.filter(kind="avatar", status=Image.Status.READY).exists()

    user.delete()

    assert not Image.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_workbook_deleted_while_its_thumbnail_is_put_in_use_waits_for_it(
    user, workbook, monkeypatch
):
    """Putting a thumbnail in use locks its image and then writes the workbook's row; deleting the
    workbook locks its row and then deletes its images. Both take the holder's lock first, so the
    deletion waits for the job instead of deadlocking with it (PostgreSQL would fail one)."""
    monkeypatch.setattr(services, "_queue_processing", lambda image: None)
    image = accept(user, workbook)
    image_locked, go_on = threading.Event(), threading.Event()
    in_use = services._in_use

    def paused_with_the_image_locked(image):
        image_locked.set()
        go_on.wait(10)
        return in_use(image)

    monkeypatch.setattr(services, "_in_use", paused_with_the_image_locked)

    def job():
        services.process(str(image.id))

    def deletion():
        image_locked.wait(10)
        workbook_services.delete_workbook(Workbook.objects.get(pk=workbook.pk))

    outcomes: dict[str, BaseException | None] = {}

    def run(name, call):
        try:
            call()
            outcomes[name] = None
        except BaseException as error:  # reported by the assertion below
            outcomes[name] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=pair) for pair in (("job", job), ("del", deletion))
    ]
    for thread in threads:
        thread.start()
    image_locked.wait(10)
    time.sleep(1.5)  # the deletion is under way: waiting for the holder's lock, or (before) a row
    go_on.set()
    for thread in threads:
        thread.join(30)

    assert outcomes == {"job": None, "del": None}
    assert not Workbook.objects.filter(pk=workbook.pk).exists()
    assert not Image.objects.exists()
