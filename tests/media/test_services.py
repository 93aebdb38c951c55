"""Accepting, processing, replacing and cleaning up pictures (media.services and media.tasks)."""

import errno
import io
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.conf import settings
from django.utils import timezone

from media import services, tasks
from media.models import Image
from media.storage import public_storage, upload_storage
from media.validation import ImageRejected
from tests.factories import UserFactory, WorkbookFactory
from tests.media import images
from tests.media.fake_clamd import EICAR

pytestmark = pytest.mark.django_db


@pytest.fixture
def upload(django_capture_on_commit_callbacks):
    """Upload as a member would, with the processing that follows the commit."""

    def upload(owner, data=None, *, kind="avatar", holder=None):
        with django_capture_on_commit_callbacks(execute=True):
            image = services.accept_upload(
                owner=owner, kind=kind, holder=holder, file=io.BytesIO(data or images.jpeg())
            )
        image.refresh_from_db()
        owner.refresh_from_db()
        return image

    return upload


def media_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def originals() -> list[Path]:
    return [p for p in Path(settings.MEDIA_UPLOAD_ROOT).rglob("*") if p.is_file()]


def test_an_avatar_upload_is_processed_and_put_in_use(user, upload):
    image = upload(user)

    assert image.status == Image.Status.READY
    assert user.avatar["key"] == f"avatars/{image.content_hash}"
    assert user.picture.urls() == {
        v: f"/media/avatars/{image.content_hash}-{v}.webp" for v in ("thumb", "small", "medium")
    }
    assert media_files() == {
        f"avatars/{image.content_hash}-{v}.{ext}"
        for v in ("thumb", "small", "medium")
        for ext in ("webp", "jpg")
    }
    assert originals() == []  # the original goes once its variants exist
    assert image.source == ""


def test_the_original_is_stored_privately_under_a_generated_name_until_processed(user):
    image = services.accept_upload(owner=user, kind="avatar", file=io.BytesIO(images.png()))

    assert image.status == Image.Status.PROCESSING
    assert image.source == f"originals/{image.id.hex}.png"
    assert upload_storage().exists(image.source)
    user.refresh_from_db()
    assert user.avatar is None


def test_a_refused_file_stores_nothing(user):
    with pytest.raises(ImageRejected):
        services.accept_upload(owner=user, kind="avatar", file=io.BytesIO(images.html()))

    assert not Image.objects.exists()
    assert originals() == []


def test_processing_twice_changes_nothing(user, upload):
    image = upload(user)
    before = {name: public_storage().get_modified_time(name) for name in media_files()}

    tasks.process_image(str(image.id))

    assert {name: public_storage().get_modified_time(name) for name in media_files()} == before
    image.refresh_from_db()
    assert image.status == Image.Status.READY


def test_processing_a_deleted_image_is_not_an_error(user):
    image = services.accept_upload(owner=user, kind="avatar", file=io.BytesIO(images.jpeg()))
    Image.objects.filter(pk=image.pk).delete()

    tasks.process_image(str(image.id))

    assert media_files() == set()


def test_a_new_avatar_replaces_the_old_one_and_its_files_go(user, upload):
    old = upload(user, images.jpeg(colour=(200, 10, 10)))
    old_files = media_files()

    new = upload(user, images.png())

    assert user.avatar["key"] == f"avatars/{new.content_hash}"
    assert not Image.objects.filter(pk=old.pk).exists()
    assert media_files().isdisjoint(old_files)
    assert len(media_files()) == 6


def test_an_older_upload_finishing_last_does_not_replace_a_newer_one(
    user, django_capture_on_commit_callbacks
):
    older = services.accept_upload(owner=user, kind="avatar", file=io.BytesIO(images.png()))
    newer = services.accept_upload(owner=user, kind="avatar", file=io.BytesIO(images.jpeg()))
    Image.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(minutes=1))

    with django_capture_on_commit_callbacks(execute=True):
        tasks.process_image(str(newer.id))
        tasks.process_image(str(older.id))

    user.refresh_from_db()
    newer.refresh_from_db()
    assert user.avatar["id"] == str(newer.id)
    assert not Image.objects.filter(pk=older.pk).exists()
    assert {name.split("-")[0] for name in media_files()} == {f"avatars/{newer.content_hash}"}


def test_the_same_picture_used_by_two_members_is_stored_once_and_kept_for_the_other(
    upload, django_capture_on_commit_callbacks
):
    ada, grace = UserFactory(), UserFactory()
    data = images.jpeg()
    upload(ada, data)
    upload(grace, data)
    assert len(media_files()) == 6

    with django_capture_on_commit_callbacks(execute=True):
        services.remove_avatar(ada)

    grace.refresh_from_db()
    assert grace.picture is not None
    assert len(media_files()) == 6


def test_removing_an_avatar_goes_back_to_initials_and_deletes_its_files(
    user, upload, django_capture_on_commit_callbacks
):
    upload(user)

    with django_capture_on_commit_callbacks(execute=True):
        services.remove_avatar(user)

    user.refresh_from_db()
    assert user.avatar is None
    assert media_files() == set()
    assert not Image.objects.exists()


def test_a_thumbnail_is_referenced_from_its_workbook(user, upload):
    workbook = WorkbookFactory(author=user)

    image = upload(user, images.png(), kind="thumbnail", holder=workbook.pk)

    workbook.refresh_from_db()
    assert workbook.thumbnail["key"] == f"thumbnails/{image.content_hash}"
    assert workbook.picture.sizes["medium"] == [600, 375]


def test_a_deleted_workbook_takes_its_images_with_it(user, upload):
    kept = WorkbookFactory(author=user)
    upload(user, images.png(), kind="thumbnail", holder=kept.pk)
    workbook = WorkbookFactory(author=user)
    upload(user, images.png(), kind="thumbnail", holder=workbook.pk)

    workbook.delete()

    assert list(Image.objects.values_list("holder", flat=True)) == [str(kept.pk)]


def test_a_deleted_member_takes_their_workbooks_thumbnails_with_them(user, upload):
    workbook = WorkbookFactory(author=user)
    editor = UserFactory()  # a moderator gave the workbook its thumbnail
    upload(editor, images.png(), kind="thumbnail", holder=workbook.pk)
    upload(editor)

    user.delete()

    assert list(Image.objects.values_list("kind", flat=True)) == ["avatar"]


def test_an_unrelated_save_of_a_stale_copy_keeps_the_new_picture(user, upload):
    stale = type(user).objects.get(pk=user.pk)
    upload(user)

    stale.full_name = "Renamed"
    stale.save()

    user.refresh_from_db()
    assert user.avatar is not None
    assert user.full_name == "Renamed"


def test_a_file_that_cannot_be_decoded_after_all_fails_with_a_message(
    user, django_capture_on_commit_callbacks
):
    image = services.accept_upload(owner=user, kind="avatar", file=io.BytesIO(images.jpeg()))
    # The stored original is damaged after the request's check (a storage fault, say).
    with upload_storage().open(image.source, "wb") as handle:
        handle.write(images.truncated(images.jpeg(), 0.3))

    with django_capture_on_commit_callbacks(execute=True):
        tasks.process_image(str(image.id))

    image.refresh_from_db()
    user.refresh_from_db()
    assert image.status == Image.Status.FAILED
    assert "damaged or incomplete" in image.error
    assert user.avatar is None
    assert originals() == []


def test_a_storage_error_is_retried_with_backoff_on_a_worker(user, monkeypatch):
    image = services.accept_upload(owner=user, kind="avatar", file=io.BytesIO(images.jpeg()))
    monkeypatch.setattr(services, "_store_variants", _raise(OSError("disk full")))
    countdowns = []

    def retry(*, exc, countdown):
        countdowns.append(countdown)
        return Retry(exc=exc)

    monkeypatch.setattr(tasks.process_image, "retry", retry)
    tasks.process_image.push_request(retries=2, is_eager=False)
    try:
        with pytest.raises(Retry):
            tasks.process_image.run(str(image.id))
    finally:
        tasks.process_image.pop_request()

    assert 10 <= countdowns[0] <= 20  # 5 s doubled per retry, with jitter
    image.refresh_from_db()
    assert image.status == Image.Status.PROCESSING  # not failed: it will be tried again


def test_after_the_last_retry_the_image_fails_with_a_message(user, monkeypatch):
    image = services.accept_upload(owner=user, kind="avatar", file=io.BytesIO(images.jpeg()))
    monkeypatch.setattr(services, "_store_variants", _raise(OSError("disk full")))
    tasks.process_image.push_request(retries=tasks.MAX_RETRIES, is_eager=False)
    try:
        tasks.process_image.run(str(image.id))
    finally:
        tasks.process_image.pop_request()

    image.refresh_from_db()
    assert image.status == Image.Status.FAILED
    assert "Try again in a while" in image.error


def test_the_task_has_a_time_limit():
    assert tasks.process_image.soft_time_limit == 60
    assert tasks.process_image.time_limit == 90


def _raise(error):
    def fail(*args, **kwargs):
        raise error

    return fail


# --- Cleanup ----------------------------------------------------------------------------------------


def test_the_periodic_cleanup_removes_only_what_nothing_uses_and_is_over_a_day_old(user, upload):
    in_use = upload(user)
    stray = "avatars/" + "f" * 40 + "-thumb.webp"
    public_storage().save(stray, io.BytesIO(b"left behind"))
    stray_original = upload_storage().save("originals/lost.jpg", io.BytesIO(images.jpeg()))
    stuck = services.accept_upload(owner=user, kind="avatar", file=io.BytesIO(images.png()))

    assert services.remove_orphans() == {"images": 0, "originals": 0, "variants": 0}

    removed = services.remove_orphans(now=timezone.now() + timedelta(days=2))

    assert removed == {"images": 1, "originals": 1, "variants": 1}
    assert not public_storage().exists(stray)
    assert not upload_storage().exists(stray_original)
    assert not Image.objects.filter(pk=stuck.pk).exists()
    assert len(media_files()) == 6
    assert Image.objects.get().pk == in_use.pk


# --- Virus scan ---------------------------------------------------------------------------------------


def test_with_a_scanner_configured_an_infected_upload_fails(user, settings, fake_clamd, upload):
    settings.CLAMD_ADDRESS = fake_clamd.address
    infected = images.jpeg() + EICAR

    image = upload(user, infected)

    assert image.status == Image.Status.FAILED
    assert image.error == "The file was refused by the virus scanner."
    assert user.avatar is None


def test_with_a_scanner_configured_a_clean_upload_passes(user, settings, fake_clamd, upload):
    settings.CLAMD_ADDRESS = fake_clamd.address

    assert upload(user).status == Image.Status.READY


def test_a_scanner_that_does_not_answer_leaves_the_image_failed_not_in_use(
    user, settings, upload, tmp_path
):
    settings.CLAMD_ADDRESS = str(tmp_path / "no-such.sock")

    image = upload(user)

    assert image.status == Image.Status.FAILED
    assert user.avatar is None


# --- Races and faults ----------------------------------------------------------------------------------


def test_a_late_failure_never_turns_a_ready_image_failed(user, upload):
    image = upload(user)

    services.fail(image, "a duplicate job found no original")

    image.refresh_from_db()
    assert image.status == Image.Status.READY


def test_files_of_a_picture_uploaded_again_are_kept_by_a_pending_discard(
    user, upload, django_capture_on_commit_callbacks
):
    first = upload(user, images.jpeg())
    upload(user, images.png())  # replaces it; its files are deleted
    again = services.accept_upload(owner=user, kind="avatar", file=io.BytesIO(images.jpeg()))
    public_storage().save(f"avatars/{first.content_hash}-thumb.webp", io.BytesIO(b"kept"))

    services.discard_variants("avatar", first.content_hash)

    assert again.content_hash == first.content_hash
    assert public_storage().exists(f"avatars/{first.content_hash}-thumb.webp")


def test_when_the_broker_is_down_the_upload_fails_with_a_message(user, monkeypatch, upload):
    def unreachable(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.process_image, "delay", unreachable)

    image = upload(user)

    assert image.status == Image.Status.FAILED
    assert image.error == "We could not start processing the picture. Try again in a while."
    assert originals() == []


def test_an_unexpected_error_in_the_job_fails_the_image_instead_of_leaving_it_processing(
    user, monkeypatch
):
    image = services.accept_upload(owner=user, kind="avatar", file=io.BytesIO(images.jpeg()))
    monkeypatch.setattr(services, "_put_in_use", _raise(ValueError("a bug")))

    tasks.process_image(str(image.id))

    image.refresh_from_db()
    assert image.status == Image.Status.FAILED
    assert image.error == "Something went wrong with this picture. Try again in a while."


def test_an_avatar_removed_while_its_variants_are_made_leaves_no_files(user, monkeypatch):
    image = services.accept_upload(owner=user, kind="avatar", file=io.BytesIO(images.jpeg()))
    render = services.processing.render

    def render_then_removed(data):
        rendered = render(data)
        services.remove_avatar(user)  # the member removes it meanwhile
        return rendered

    monkeypatch.setattr(services.processing, "render", render_then_removed)

    tasks.process_image(str(image.id))

    assert media_files() == set()
    user.refresh_from_db()
    assert user.avatar is None


def test_the_old_avatar_stays_in_place_until_the_new_one_is_ready(user, upload):
    old = upload(user, images.jpeg())
    files_before = media_files()

    pending = services.accept_upload(owner=user, kind="avatar", file=io.BytesIO(images.png()))

    user.refresh_from_db()
    assert pending.status == Image.Status.PROCESSING
    assert user.avatar["id"] == str(old.id)
    assert media_files() == files_before


def test_the_orphan_cleanup_is_scheduled_and_registered():
    from sigma_playground.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["remove-orphan-media"]
    assert entry["task"] == tasks.remove_orphans.name
    assert entry["task"] in app.tasks


def test_without_a_scanner_configured_nothing_is_scanned(user, upload, monkeypatch):
    from media import clamd

    assert not settings.CLAMD_ADDRESS
    monkeypatch.setattr(clamd, "scan", _raise(AssertionError("scanned")))

    assert upload(user).status == Image.Status.READY


# --- Files written whole --------------------------------------------------------------------------


def test_a_variant_cut_off_by_an_earlier_run_is_written_again_whole(user, upload):
    """A retry after a full disk (or a crash) finds the files an earlier run began: their content
    counts, not their existence."""
    data = images.jpeg()
    rendered = services.processing.render(data)
    for suffix, content in rendered.files.items():
        name = f"avatars/{rendered.content_hash}-{suffix}"
        public_storage().save(name, io.BytesIO(content[: len(content) // 2]))

    image = upload(user, data)

    assert image.status == Image.Status.READY
    for suffix, content in rendered.files.items():
        name = f"avatars/{rendered.content_hash}-{suffix}"
        with public_storage().open(name) as stored:
            assert stored.read() == content, name


def test_a_write_that_fails_midway_leaves_no_file_under_the_variants_name(user, monkeypatch):
    """The bytes go to a temporary name and are moved into place only once all are on disk."""
    image = services.accept_upload(owner=user, kind="avatar", file=io.BytesIO(images.jpeg()))
    real_fsync = os.fsync
    calls = []

    def disk_full_at_the_third_file(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode):
            calls.append(fd)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", disk_full_at_the_third_file)

    with pytest.raises(OSError, match="No space left"):
        services.process(str(image.id))

    rendered = services.processing.render(images.jpeg())
    for name in media_files():  # the two stored whole, and nothing else: no temporary file
        suffix = name.split("-", 1)[1]
        with public_storage().open(name) as stored:
            assert stored.read() == rendered.files[suffix], name
    assert len(media_files()) == 2


def test_a_temporary_file_left_by_a_killed_write_is_removed_by_the_cleanup_a_day_later(user):
    left = [
        public_storage().save(
            "avatars/." + "a" * 40 + "-thumb.webp.0123abcd.part", io.BytesIO(b"x")
        ),
        upload_storage().save("originals/.lost.jpg.0123abcd.part", io.BytesIO(b"x")),
    ]

    services.remove_orphans(now=timezone.now() + timedelta(days=2))

    assert not public_storage().exists(left[0])
    assert not upload_storage().exists(left[1])
