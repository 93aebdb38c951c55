"""Where media lives: public variants in the default storage (local folder, or S3 behind an optional CDN),
uploaded originals in the private "uploads" storage until their variants are made.

Variant names are `<kind folder>/<content hash>-<variant>.<ext>`: a name never changes meaning, so a CDN or
browser may cache it for a year, and processing the same source twice writes the same files.

Every file is written whole or not at all (`write_whole`): a full or failing disk must never leave a
name holding part of a file, since a name is trusted for a year and a retry would find it there.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils.encoding import filepath_to_uri
from storages.backends.s3 import S3Storage

from .validation import ImageRejected

FOLDERS = {"avatar": "avatars", "thumbnail": "thumbnails"}
UPLOADS_FOLDER = "originals"


class UploadFileSystemStorage(FileSystemStorage):
    """Originals on local disk: outside MEDIA_ROOT (MEDIA_UPLOAD_ROOT), so the site never serves them."""

    @property
    def base_location(self) -> str:  # read each time, so tests can point it elsewhere
        # FileSystemStorage's own `_location` (the `location` it was given), not in the stubs.
        location = self._location  # type: ignore[attr-defined]
        return self._value_or_setting(location, settings.MEDIA_UPLOAD_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    @property
    def base_url(self) -> None:  # type: ignore[override]  # no URL: originals are never served
        return None


class PublicS3Storage(S3Storage):
    """The variants on S3. Served straight from the bucket (public reads under media/), or, with
    MEDIA_CDN_URL, from the CDN in front of it: then a URL is MEDIA_CDN_URL + name, as for local
    storage, and costs no signing work."""

    def url(self, name: str, *args, **kwargs) -> str:
        if settings.MEDIA_CDN_URL:
            return settings.MEDIA_CDN_URL + filepath_to_uri(name)
        return super().url(name, *args, **kwargs)


def public_storage() -> Storage:
    return storages["default"]


def upload_storage() -> Storage:
    return storages["uploads"]


def variant_key(kind: str, content_hash: str) -> str:
    return f"{FOLDERS[kind]}/{content_hash}"


# --- Writing whole files ---------------------------------------------------------------------------

# What a storage raises when it cannot take a file: the local disk's errors, S3's.
STORAGE_ERRORS = (OSError, BotoCoreError, ClientError)
# Out of room, rather than out of order: the client is told 507 instead of 503.
FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}

FULL_MESSAGE = "There is no room to store the picture just now. Try again later."
UNAVAILABLE_MESSAGE = "Pictures cannot be stored just now. Try again in a while."


class IncompleteWrite(OSError):
    """The storage kept fewer bytes than it was given. An OSError, so the job retries it."""


class StorageUnavailable(ImageRejected):
    """The picture is fine, but it cannot be stored just now (the storage is read-only or does not
    answer): 503 to the API, the form's message on the pages."""

    status_code = 503
    code = "storage_unavailable"
    reason = "storage_unavailable"


class StorageFull(StorageUnavailable):
    status_code = 507
    code = "insufficient_storage"
    reason = "storage_full"


def is_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in FULL


def unavailable(error: BaseException) -> StorageUnavailable:
    """The refusal to give a client whose file met `error` on its way into storage."""
    if is_full(error):
        return StorageFull(FULL_MESSAGE)
    return StorageUnavailable(UNAVAILABLE_MESSAGE)


def write_whole(storage: Storage, name: str, content: File, size: int) -> None:
    """Store `content` (`size` bytes) under `name` so that the name holds all of it or is left as
    it was.

    On local disk the bytes go to a hidden temporary name beside it (never served: nginx and the
    development server serve variant names only), are flushed to disk, counted, and only then
    renamed over `name` in one step. An S3 PUT is already all or nothing; the stored object's size is
    still checked, for stores that acknowledge less than they were sent. A write that fails leaves
    no temporary file; one killed outright leaves a hidden one the hourly cleanup removes.
    """
    if isinstance(storage, FileSystemStorage):
        _write_local(storage, name, content.chunks(), size)
        return
    if not getattr(storage, "file_overwrite", False) and storage.exists(name):
        storage.delete(name)  # a stale copy, which this storage would keep and rename ours
    saved = storage.save(name, content)
    if saved != name:  # another worker stored the same file a moment ago
        storage.delete(saved)
    if storage.size(name) != size:
        with suppress(*STORAGE_ERRORS):
            storage.delete(name)
        raise IncompleteWrite(errno.EIO, f"The storage kept {name} incomplete")


def _write_local(storage: FileSystemStorage, name: str, chunks: Iterable[bytes], size: int) -> None:
    path = Path(storage.path(name))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
    try:
        with temporary.open("xb") as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())  # a full disk may say so only now, and a crash keeps no zeros
            written = os.fstat(out.fileno()).st_size
        if written != size:
            raise IncompleteWrite(errno.EIO, f"{written} of {size} bytes of {name} written")
        if storage.file_permissions_mode is not None:
            temporary.chmod(storage.file_permissions_mode)
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            temporary.unlink()
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable, so a crash cannot forget a file its image says is there."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def holds(storage: Storage, name: str, content: bytes) -> bool:
    """Whether `name` is stored with exactly `content`: a retry must not keep a file an earlier run
    cut short. Local files are compared byte for byte (cheap, and a file written before writes were
    whole may be any length); an S3 object, written all or nothing, by its size."""
    try:
        if storage.size(name) != len(content):
            return False
        if isinstance(storage, FileSystemStorage):
            with storage.open(name, "rb") as stored:
                return stored.read() == content
        return True
    except FileNotFoundError:
        return False
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


@dataclass(frozen=True)
class Picture:
    """A processed image as the pages and the API use it, read from the reference kept on its owner's
    row (User.avatar, Workbook.thumbnail), so showing a picture costs no query."""

    key: str
    fallback: str
    sizes: dict[str, list[int]]

    @classmethod
    def from_ref(cls, ref: dict[str, Any] | None) -> Picture | None:
        if not ref:
            return None
        return cls(key=ref["key"], fallback=ref["fallback"], sizes=ref["sizes"])

    def name(self, variant: str, ext: str = "webp") -> str:
        return f"{self.key}-{variant}.{ext}"

    def names(self) -> list[str]:
        return [self.name(v, ext) for v in self.sizes for ext in ("webp", self.fallback)]

    def url(self, variant: str, ext: str = "webp") -> str:
        return public_storage().url(self.name(variant, ext))

    def urls(self) -> dict[str, str]:
        """The API's shape: {thumb, small, medium} WebP URLs."""
        return {variant: self.url(variant) for variant in self.sizes}

    def srcset(self, variants: list[str], ext: str = "webp") -> str:
        return ", ".join(f"{self.url(v, ext)} {self.sizes[v][0]}w" for v in variants)
