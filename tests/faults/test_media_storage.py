"""Pictures on a full or read-only disk: the media and upload folders on a small tmpfs of the test's own.

What a member sees: an upload the site has no room to keep is answered at once (507 in JSON to API
clients, the form with a message on the pages), and a picture whose variants cannot be written ends
`failed` with a reason, its old picture still in place. What is kept: nothing cut off, ever. No
truncated original, no variant file shorter than it should be, no half-written temporary file. How it
recovers: once there is room, the next run writes every variant whole, whatever an earlier run left.

Mounting needs root (as CI runs); the read-only folder falls back to file modes without it.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.test import Client
from PIL import Image as PILImage
from rest_framework.test import APIClient

from media import processing, services
from media.models import Image
from tests.conftest import require
from tests.media import images

pytestmark = pytest.mark.django_db

AVATAR_API = "/api/v1/me/avatar/"
AVATAR_PAGE = "/settings/avatar/"


def noisy_jpeg(size=(800, 500), seed: int = 1) -> bytes:
    """A picture that compresses badly, so its variants take a few hundred kilobytes."""
    noise = random.Random(seed).randbytes(size[0] * size[1] * 3)  # noqa: S311
    return images.encode(PILImage.frombytes("RGB", size, noise), "JPEG", quality=90)


@contextmanager
def tmpfs(path: Path, size: str, *, read_only: bool = False) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode=0777" + (",ro" if read_only else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    require(
        "mounting a tmpfs (root)",
        mounted.returncode == 0,
        f"run as root where mount is allowed ({mounted.stderr.decode().strip()})",
    )
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], check=False).returncode:
            # Still busy (a file left open by a failing test): detach it, never leave it mounted.
            subprocess.run(["umount", "--lazy", str(path)], check=True)


def fill(folder: Path, leave: int) -> Path:
    """Fill `folder`'s file system up to `leave` bytes free; returns the filler, to free it later."""
    filler = folder / "filler"
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    with filler.open("wb") as out:
        out.write(b"\0" * max(0, free - leave))
    return filler


@contextmanager
def read_only_folder(path: Path) -> Iterator[Path]:
    """A folder nothing can be written to: a read-only mount as root (who ignores file modes),
    else the folder's modes."""
    if os.geteuid() == 0:
        with tmpfs(path, "64k", read_only=True):
            yield path
        return
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o555)
    try:
        yield path
    finally:
        path.chmod(0o755)


def files_in(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): p.stat().st_size
        for p in folder.rglob("*")
        if p.is_file() and p.name != "filler"
    }


def upload_and_process(owner, data: bytes) -> Image:
    image = services.accept_upload(owner=owner, kind="avatar", file=io.BytesIO(data))
    return image


# --- Variants on a full media disk ------------------------------------------------------------------


def test_a_media_disk_that_fills_up_mid_write_leaves_no_cut_off_variant_and_the_retry_writes_them_whole(
    user, settings, tmp_path
):
    data = noisy_jpeg()
    rendered = processing.render(data)
    with tmpfs(tmp_path / "media", "1m") as media:
        settings.MEDIA_ROOT = media
        filler = fill(media, leave=48 * 1024)  # less than the variants need, more than one of them
        image = upload_and_process(user, data)

        with pytest.raises(OSError, match="No space left"):  # the task retries it later
            services.process(str(image.id))

        image.refresh_from_db()
        assert image.status == Image.Status.PROCESSING
        user.refresh_from_db()
        assert user.avatar is None
        expected = {
            f"avatars/{rendered.content_hash}-{suffix}": len(content)
            for suffix, content in rendered.files.items()
        }
        left = files_in(media)
        # Whatever is there is whole: no file cut off, no temporary file left behind.
        assert left.items() <= expected.items(), left

        filler.unlink()  # room again: the retry
        services.process(str(image.id))

        image.refresh_from_db()
        assert image.status == Image.Status.READY
        assert files_in(media) == expected
        for suffix, content in rendered.files.items():
            assert (media / f"avatars/{rendered.content_hash}-{suffix}").read_bytes() == content


def test_when_the_media_disk_stays_full_the_picture_fails_with_a_reason_and_nothing_is_left(
    user, settings, tmp_path, django_capture_on_commit_callbacks
):
    with tmpfs(tmp_path / "media", "1m") as media:
        settings.MEDIA_ROOT = media
        fill(media, leave=48 * 1024)

        # Tasks run eagerly here, as on the embedded default: no retry, so it gives up at once.
        with django_capture_on_commit_callbacks(execute=True):
            image = upload_and_process(user, noisy_jpeg(seed=3))

        image.refresh_from_db()
        assert image.status == Image.Status.FAILED
        assert image.error == "There is no room to store the picture just now. Try again later."
        assert files_in(media) == {}
        assert files_in(Path(settings.MEDIA_UPLOAD_ROOT)) == {}  # the original went too


def test_a_read_only_media_folder_fails_the_picture_with_a_reason_and_keeps_the_old_one(
    user, settings, tmp_path, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        old = upload_and_process(user, images.jpeg())
    user.refresh_from_db()
    old_avatar = user.avatar
    assert old_avatar is not None

    with read_only_folder(tmp_path / "read-only") as media:
        settings.MEDIA_ROOT = media
        with django_capture_on_commit_callbacks(execute=True):
            image = upload_and_process(user, noisy_jpeg(seed=4))

        image.refresh_from_db()
        assert image.status == Image.Status.FAILED
        assert image.error == "We could not process the picture just now. Try again in a while."
        assert files_in(media) == {}
    user.refresh_from_db()
    assert user.avatar == old_avatar
    old.refresh_from_db()
    assert old.status == Image.Status.READY


# --- Originals on a full or read-only upload folder ------------------------------------------------


def test_a_full_upload_folder_answers_the_api_507_in_json_and_keeps_no_truncated_original(
    user, settings, tmp_path
):
    client = APIClient()
    client.force_authenticate(user)
    data = noisy_jpeg(seed=5)
    with tmpfs(tmp_path / "uploads", "1m") as uploads:
        settings.MEDIA_UPLOAD_ROOT = uploads
        fill(uploads, leave=len(data) // 2)

        response = client.post(AVATAR_API, {"image": images.upload(data)}, format="multipart")

        assert response.status_code == 507
        assert response["Content-Type"] == "application/json"
        assert response.json() == {
            "detail": "There is no room to store the picture just now. Try again later.",
            "code": "insufficient_storage",
        }
        assert files_in(uploads) == {}
    assert not Image.objects.exists()


def test_a_full_temporary_folder_while_the_upload_arrives_answers_the_api_507_in_json(
    user, settings, tmp_path
):
    client = APIClient()
    client.force_authenticate(user)
    data = noisy_jpeg(seed=7)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # spooled to disk as it arrives, as large ones are
    with tmpfs(tmp_path / "spool", "1m") as spool:
        settings.FILE_UPLOAD_TEMP_DIR = str(spool)
        fill(spool, leave=len(data) // 2)

        response = client.post(AVATAR_API, {"image": images.upload(data)}, format="multipart")

        assert response.status_code == 507
        assert response.json()["code"] == "insufficient_storage"
        assert files_in(spool) == {}
    assert files_in(Path(settings.MEDIA_UPLOAD_ROOT)) == {}
    assert not Image.objects.exists()


def test_a_read_only_upload_folder_answers_the_api_503_in_json(user, settings, tmp_path):
    client = APIClient()
    client.force_authenticate(user)
    with read_only_folder(tmp_path / "uploads") as uploads:
        settings.MEDIA_UPLOAD_ROOT = uploads

        response = client.post(
            AVATAR_API, {"image": images.upload(images.jpeg())}, format="multipart"
        )

        assert response.status_code == 503
        assert response.json()["code"] == "storage_unavailable"
        assert files_in(uploads) == {}
    assert not Image.objects.exists()


def test_a_full_upload_folder_shows_the_settings_page_with_a_message_not_an_error_page(
    user, settings, tmp_path
):
    client = Client()
    client.force_login(user)
    data = noisy_jpeg(seed=6)
    with tmpfs(tmp_path / "uploads", "1m") as uploads:
        settings.MEDIA_UPLOAD_ROOT = uploads
        fill(uploads, leave=len(data) // 2)

        response = client.post(AVATAR_PAGE, {"image": images.upload(data)})

        assert response.status_code == 507
        assert b"There is no room to store the picture just now." in response.content
        assert b'class="field field--invalid"' in response.content
        assert files_in(uploads) == {}
    assert not Image.objects.exists()


def test_a_full_temporary_folder_while_a_page_upload_arrives_shows_a_page_saying_so(
    user, settings, tmp_path
):
    client = Client()
    client.force_login(user)
    data = noisy_jpeg(seed=8)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    with tmpfs(tmp_path / "spool", "1m") as spool:
        settings.FILE_UPLOAD_TEMP_DIR = str(spool)
        fill(spool, leave=len(data) // 2)

        response = client.post(
            AVATAR_PAGE,
            {"image": images.upload(data)},
            HTTP_REFERER="http://testserver/settings/",
        )

        assert response.status_code == 507
        assert b"Your picture could not be stored" in response.content
        assert b'href="http://testserver/settings/"' in response.content
    assert not Image.objects.exists()
