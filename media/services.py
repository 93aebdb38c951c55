"""Writes for images: accept an upload, make its variants, put them in use, remove what nothing uses.

One function per action, used by the pages, the API and the tasks alike. The row that shows a
picture belongs to another app: it learns of a change through media.signals.picture_changed.
"""

from __future__ import annotations

import io
import logging
import os
import time
from datetime import timedelta
from functools import partial
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import connection, transaction
from django.utils import timezone
from PIL import Image as PILImage
from storages.backends.s3 import S3Storage

from sigma_playground import jobs
from sigma_playground.observability import metrics

from . import clamd, processing, validation
from .models import Image
from .signals import picture_changed
from .storage import (
    FOLDERS,
    STORAGE_ERRORS,
    UPLOADS_FOLDER,
    holds,
    public_storage,
    unavailable,
    upload_storage,
    variant_key,
    write_whole,
)
from .validation import ImageRejected, UnsupportedImage

logger = logging.getLogger(__name__)

ORPHAN_AGE = timedelta(days=1)
DIRECT_UPLOAD_EXPIRES = 15 * 60  # seconds a presigned POST stays valid


class DirectUploadsUnavailable(Exception):
    """Direct-to-storage uploads need S3-compatible storage."""


# --- Accepting -------------------------------------------------------------------------------------


def accept_upload(
    *, owner: Any, kind: str, file: IO[bytes], size: int | None = None, holder: Any = None
) -> Image:
    """Check an uploaded file and queue its processing; raises ImageRejected with a message to show
    (StorageUnavailable, a 503 or 507, when the file is fine but cannot be stored just now).
    `holder`: the key of the row that will show the picture; its owner's when not given."""
    try:
        info = validation.inspect(file, size)
    except ImageRejected as rejected:
        validation.count_refused(rejected.reason)
        raise
    image = Image(kind=kind, owner=owner, holder=_key(holder), status=Image.Status.PROCESSING)
    # Known from the start, so the files of this content count as in use while it is processed.
    image.content_hash = processing.content_hash_of(file)
    name = f"{UPLOADS_FOLDER}/{image.id.hex}.{info.extension}"
    try:
        write_whole(upload_storage(), name, File(file), _size_of(file))
    except STORAGE_ERRORS as error:
        logger.warning("Could not store an upload's original: %r", error)
        refusal = unavailable(error)
        validation.count_refused(refusal.reason)
        raise refusal from None
    image.source = name
    image.save()
    _queue_processing(image)
    validation.count_accepted()
    return image


def _key(holder: Any) -> str:
    """A holder's key as the image keeps it; none (the owner's row) when not given."""
    return "" if holder is None else str(holder)


def _size_of(file: IO[bytes]) -> int:
    file.seek(0, os.SEEK_END)
    size = file.tell()
    file.seek(0)
    return size


def _queue_processing(image: Image) -> None:
    # The broker is down: say so now rather than leave it processing.
    jobs.later(
        "media.tasks.process_image",
        str(image.id),
        on_error=lambda: fail(
            image, "We could not start processing the picture. Try again in a while."
        ),
    )


# --- Processing ------------------------------------------------------------------------------------


def process(image_id: str) -> None:
    """Make the variants of an image and put it in use. Safe to run twice, or for a deleted image.

    Storage and scanner errors propagate, for the task to retry; a picture that cannot be used is
    marked failed with a message for its owner. A run that ends either way is counted and timed
    (images_processed_total, image_processing_duration_seconds); one that raises is not, as it is
    tried again (`give_up` counts it failed when the tries run out).
    """
    started = time.perf_counter()
    outcome = _process(image_id)
    if outcome is not None:
        metrics.images_processed.labels(outcome=outcome).inc()
        metrics.image_processing_duration.observe(time.perf_counter() - started)


def _process(image_id: str) -> str | None:
    """`process`; how it ended ("succeeded" or "failed"), or None when there was nothing to do."""
    image = Image.objects.filter(pk=image_id).first()
    if image is None or image.status != Image.Status.PROCESSING:
        return None
    source = upload_storage()
    if not source.exists(image.source):
        fail(image, "The uploaded file is gone. Upload it again.")
        return "failed"
    with source.open(image.source, "rb") as handle:
        data = handle.read()
    if not image.content_hash:  # a direct upload: its content is known only now
        image.content_hash = processing.content_hash(data)
        Image.objects.filter(pk=image.pk).update(content_hash=image.content_hash)

    if settings.CLAMD_ADDRESS:
        try:
            clamd.scan(data, address=settings.CLAMD_ADDRESS, timeout=settings.CLAMD_TIMEOUT)
        except clamd.VirusFound as found:
            logger.warning("Image %s refused by the virus scanner: %s", image.pk, found.signature)
            fail(image, "The file was refused by the virus scanner.")
            validation.count_refused("malware")
            return "failed"

    try:
        validation.inspect(io.BytesIO(data), len(data))
        rendered = processing.render(data)
    except ImageRejected as rejected:
        fail(image, rejected.message)
        return "failed"
    except (OSError, ValueError, SyntaxError, EOFError, PILImage.DecompressionBombError):
        fail(image, "The picture is damaged or incomplete. Try saving it again and re-uploading.")
        return "failed"

    with transaction.atomic():
        # Not while another job deletes the same content's files as unused (discard_variants).
        _lock_content(image.kind, rendered.content_hash)
        # Removed (or finished by a twin job) while it was being made: store nothing. Its original
        # is needed no more (a twin job deletes it too: deleting it twice is harmless).
        if not Image.objects.filter(pk=image.pk, status=Image.Status.PROCESSING).exists():
            transaction.on_commit(partial(_delete_source, image.source))
            return None
        _store_variants(variant_key(image.kind, rendered.content_hash), rendered.files)
        _put_in_use(image, rendered)
    return "succeeded"


def _lock_content(kind: str, content_hash: str) -> None:
    """Serialises storing and deleting the files of one content, until the transaction ends.
    PostgreSQL: an advisory lock. SQLite: its transactions take the one write lock at BEGIN."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{kind}:{content_hash}"])


def _store_variants(key: str, files: dict[str, bytes]) -> None:
    """Every variant stored whole and checked before the image may become ready. A file already
    there (an earlier run, the same picture uploaded before) is kept only if it holds exactly
    these bytes: a run stopped by a full disk may have left one cut short by an earlier version."""
    storage = public_storage()
    for suffix, content in files.items():
        name = f"{key}-{suffix}"
        if not holds(storage, name, content):
            write_whole(storage, name, ContentFile(content), len(content))


def _put_in_use(image: Image, rendered: processing.Rendered) -> None:
    with transaction.atomic():
        hold(image.kind, image.holder)
        locked = Image.objects.select_for_update().filter(pk=image.pk).first()
        if locked is None or locked.status != Image.Status.PROCESSING:
            return
        image = locked
        current = _in_use(image).first()
        image.fallback = rendered.fallback
        image.width, image.height = rendered.width, rendered.height
        image.sizes = {name: list(size) for name, size in rendered.sizes.items()}
        image.processed_at = timezone.now()
        source_name, image.source = image.source, ""
        if current is not None and current.created_at > image.created_at:
            # A newer upload finished first and stays; this one is done with.
            image.delete()
            _discard_later(image.kind, image.content_hash)
        else:
            if current is not None:
                current.delete()
                _discard_later(current.kind, current.content_hash)
            if _show(image.kind, image.holder, image.ref()):
                image.status = Image.Status.READY
                image.save()
            else:
                # The holder's row was deleted while the upload was being accepted, after its view
                # checked the row and before this image was saved, so the images the deletion
                # removed did not include this one. Nothing would ever show it or remove it: it
                # goes now, with its files.
                image.delete()
                _discard_later(image.kind, image.content_hash)
        transaction.on_commit(lambda: _delete_source(source_name))


def fail(image: Image, message: str) -> None:
    """Mark an unfinished image failed; one that became ready meanwhile stays as it is."""
    changed = Image.objects.filter(
        pk=image.pk, status__in=[Image.Status.PROCESSING, Image.Status.UPLOADING]
    ).update(
        status=Image.Status.FAILED, error=message[:300], processed_at=timezone.now(), source=""
    )
    if changed:
        source_name = image.source
        transaction.on_commit(lambda: _delete_source(source_name))


def give_up(image: Image, message: str) -> None:
    """The job stops trying: the image fails with `message`, and the variants stored before the
    fault go with it, unless another image shows the same content."""
    fail(image, message)
    metrics.images_processed.labels(outcome="failed").inc()
    try:
        discard_variants(image.kind, image.content_hash)
    except STORAGE_ERRORS:  # the storage is still failing: the hourly cleanup removes them
        logger.warning("Could not remove the variants of failed image %s", image.pk, exc_info=True)


def hold(kind: str, holder: Any) -> None:
    """Serialises putting a picture in use, removing it, and deleting its holder's row, for one
    holder, until the transaction ends. Taken before any image row or holder row is locked: putting
    a picture in use locks the image, then writes the holder's row; deleting the holder's row locks
    it, then deletes its images. Both take this first, so neither waits for the other's row while
    holding the one the other wants (a deadlock PostgreSQL would end by failing one of them).
    PostgreSQL: an advisory lock. SQLite: its transactions take the one write lock at BEGIN."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{kind}@{holder}"])


def _in_use(image: Image):
    """The ready picture of the same holder."""
    return Image.objects.filter(kind=image.kind, holder=image.holder, status=Image.Status.READY)


def _show(kind: str, holder: str, ref: dict | None) -> bool:
    """The holder's row shows `ref` from now on (None: no picture); its app writes it. False when
    that app answers that the row is not there any more (media.signals)."""
    answers = picture_changed.send(sender=Image, kind=kind, holder=holder, ref=ref)
    return all(answer is not False for _receiver, answer in answers)


# --- Removing ----------------------------------------------------------------------------------------


def remove_avatar(user: Any) -> None:
    remove(Image.Kind.AVATAR, user.pk)


def remove(kind: str, holder: Any) -> None:
    """The holder shows no picture of `kind` any more; its images and their files go."""
    holder = str(holder)
    with transaction.atomic():
        hold(kind, holder)
        _show(kind, holder, None)
        for image in Image.objects.filter(kind=kind, holder=holder).select_for_update():
            image.delete()
            if image.content_hash:
                _discard_later(image.kind, image.content_hash)
            if image.source:
                transaction.on_commit(partial(_delete_source, image.source))


def forget(kind: str, holder: Any) -> None:
    """The holder's row is deleted: so are its images (their files go with the hourly cleanup,
    remove_orphans, unless another image shows the same content)."""
    Image.objects.filter(kind=kind, holder=str(holder)).delete()


def _discard_later(kind: str, content_hash: str) -> None:
    jobs.later("media.tasks.discard_variants", kind, content_hash)


def discard_variants(kind: str, content_hash: str) -> None:
    """Delete the files of a picture no longer in use, unless another image has the same content."""
    if not content_hash:
        return
    with transaction.atomic():
        _lock_content(kind, content_hash)
        if _content_in_use(kind, content_hash):
            return
        storage = public_storage()
        key = variant_key(kind, content_hash)
        for variant in processing.VARIANTS:
            for ext in ("webp", "jpg", "png"):
                storage.delete(f"{key}-{variant}.{ext}")


def _content_in_use(kind: str, content_hash: str) -> bool:
    return Image.objects.filter(
        kind=kind,
        content_hash=content_hash,
        status__in=[Image.Status.READY, Image.Status.PROCESSING, Image.Status.UPLOADING],
    ).exists()


def _delete_source(name: str) -> None:
    if name:
        try:
            upload_storage().delete(name)
        except Exception:  # the periodic cleanup removes it later
            logger.warning("Could not delete the original %s", name, exc_info=True)


def remove_orphans(now=None) -> dict[str, int]:
    """Remove what nothing refers to and is older than a day: unfinished images, their originals, and
    variant files no image owns. Returns counts, for the log."""
    now = now or timezone.now()
    cutoff = now - ORPHAN_AGE
    removed = {"images": 0, "originals": 0, "variants": 0}

    stale = Image.objects.filter(
        status__in=[Image.Status.UPLOADING, Image.Status.PROCESSING, Image.Status.FAILED],
        created_at__lt=cutoff,
    )
    for image in stale.iterator():
        _delete_source(image.source)
        removed["images"] += Image.objects.filter(pk=image.pk).delete()[0]

    uploads = upload_storage()
    known_sources = set(
        Image.objects.exclude(source="").values_list("source", flat=True).iterator()
    )
    for name in _list(uploads, UPLOADS_FOLDER):
        if name not in known_sources and uploads.get_modified_time(name) < cutoff:
            uploads.delete(name)
            removed["originals"] += 1

    public = public_storage()
    for kind, folder in FOLDERS.items():
        # "<folder>/<content hash>-<variant>.<ext>" -> the content hash
        hash_of = {name: name.rsplit("/", 1)[-1].split("-", 1)[0] for name in _list(public, folder)}
        in_use = set(
            Image.objects.filter(kind=kind, content_hash__in=set(hash_of.values()))
            .exclude(status=Image.Status.FAILED)
            .values_list("content_hash", flat=True)
        )
        for name, content_hash in hash_of.items():
            if content_hash in in_use or public.get_modified_time(name) >= cutoff:
                continue
            with transaction.atomic():
                _lock_content(kind, content_hash)
                if not _content_in_use(kind, content_hash):  # unless uploaded again just now
                    public.delete(name)
                    removed["variants"] += 1
    return removed


def _list(storage, folder: str) -> list[str]:
    try:
        _dirs, files = storage.listdir(folder)
    except FileNotFoundError:
        return []
    return [f"{folder}/{name}" for name in files]


# --- Direct uploads (S3) ----------------------------------------------------------------------------


def direct_uploads_enabled() -> bool:
    return bool(settings.AWS_STORAGE_BUCKET_NAME)


def start_direct_upload(
    *, owner: Any, kind: str, content_type: str, size: int, holder: Any = None
) -> tuple[Image, dict]:
    """Create an image waiting for its file, and a presigned POST that lets the client store it
    directly, limited to the declared type and at most the size limit."""
    if not direct_uploads_enabled():
        raise DirectUploadsUnavailable
    try:
        if content_type not in validation.CONTENT_TYPES.values():
            raise UnsupportedImage("Upload a JPEG, PNG, WebP or GIF image.")
        validation.check_size(size)
    except ImageRejected as rejected:  # refused from what the client declares it will send
        validation.count_refused(rejected.reason)
        raise
    image = Image(kind=kind, owner=owner, holder=_key(holder), status=Image.Status.UPLOADING)
    image.source = f"{UPLOADS_FOLDER}/{image.id.hex}"
    storage: S3Storage = upload_storage()  # direct uploads are on only with the S3 bucket
    key = storage._normalize_name(image.source)
    post = storage.connection.meta.client.generate_presigned_post(
        Bucket=storage.bucket_name,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[
            {"Content-Type": content_type},
            ["content-length-range", 1, validation.max_upload_bytes()],
        ],
        ExpiresIn=DIRECT_UPLOAD_EXPIRES,
    )
    image.save()
    return image, post


def direct_upload_expired(image: Image) -> bool:
    """Past its presigned POST's life, with a margin. Asked only while nothing is stored: an object
    that is there was accepted by the storage while the POST was valid, however long it took."""
    return timezone.now() - image.created_at > timedelta(seconds=DIRECT_UPLOAD_EXPIRES + 5 * 60)


def complete_direct_upload(image: Image) -> Image:
    """Run the upload checks on the stored object, then queue it like any upload. Idempotent."""
    if image.status != Image.Status.UPLOADING:
        return image
    storage = upload_storage()
    if not storage.exists(image.source):
        if direct_upload_expired(image):
            fail(image, "The upload took too long. Start again.")
            validation.count_refused("expired")
            raise ImageRejected("The upload took too long. Start again.")
        # Not a refusal: the client may call again once its upload to storage is done.
        raise ImageRejected("Nothing has been uploaded for this image yet.")
    try:
        validation.check_size(storage.size(image.source))  # before reading it
        with storage.open(image.source, "rb") as handle:
            data = handle.read()
        validation.inspect(io.BytesIO(data), len(data))
    except ImageRejected as rejected:
        fail(image, rejected.message)
        validation.count_refused(rejected.reason)
        raise
    # Only the call that moves it on queues it: two completes at once process it once.
    if Image.objects.filter(pk=image.pk, status=Image.Status.UPLOADING).update(
        status=Image.Status.PROCESSING
    ):
        _queue_processing(image)
        validation.count_accepted()
    image.refresh_from_db()
    return image
