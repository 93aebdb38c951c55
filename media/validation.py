"""Deciding whether an uploaded file is an image we accept, before anything is stored.

The type comes from the content, read by Pillow with only the four allowed formats enabled, never from the
file name or the client's content type. The dimensions come from the header and are checked before any
pixel is decoded, so a decompression bomb (a small file that claims gigapixels) costs nothing. Truncated
files are caught with the cheapest check each format allows: JPEG decodes at 1/8 scale, PNG checks every
chunk's CRC, GIF decodes its first frame, WebP compares its RIFF length with the bytes present.
"""

from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from sigma_playground.observability import metrics

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


class ImageRejected(Exception):
    """An upload we refuse, with a message for the person who sent it, the HTTP status that fits,
    and the reason uploads_total counts it under (`count_refused`)."""

    status_code = 400
    code = "invalid_image"
    reason = "damaged"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class ImageTooLarge(ImageRejected):
    status_code = 413
    code = "file_too_large"
    reason = "too_large"


class UnsupportedImage(ImageRejected):
    status_code = 415
    code = "unsupported_media_type"
    reason = "bad_type"


# uploads_total{outcome, reason}: an upload is counted once, where it is decided. Accepted when it
# passes the checks made on receiving it (and its processing is queued); refused with one of a few
# reasons: too_large, empty, bad_type, damaged, too_many_pixels, unusual_jpeg (refused while
# received), storage_unavailable, storage_full (fine, but not storable just now), expired (a direct
# upload completed too late), malware (the virus scanner, which runs in processing, refused it).
# A request without a file (or with an empty one) that the page's form or the API's serializer
# refuses before these checks is not an upload, and is not counted.


def count_accepted() -> None:
    metrics.uploads.labels(outcome="accepted", reason="").inc()


def count_refused(reason: str) -> None:
    metrics.uploads.labels(outcome="refused", reason=reason).inc()


@dataclass(frozen=True)
class SourceInfo:
    format: str  # one of ALLOWED_FORMATS
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def extension(self) -> str:
        return {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}[self.format]


def max_upload_bytes() -> int:
    return settings.MEDIA_MAX_UPLOAD_MB * 1024 * 1024


def too_large_message() -> str:
    return f"The file is larger than {settings.MEDIA_MAX_UPLOAD_MB} MB. Choose a smaller picture."


def check_size(size: int) -> None:
    """Refuse an empty file or one over the limit: from the size alone, before reading anything."""
    if size < 1:
        raise ImageRejected("The file is empty.", reason="empty")
    if size > max_upload_bytes():
        raise ImageTooLarge(too_large_message())


def inspect(file: IO[bytes], size: int | None = None) -> SourceInfo:
    """Return what the image is, or raise ImageRejected saying why it is not acceptable.

    `file` is read from its start and left rewound.
    """
    if size is None:
        file.seek(0, 2)
        size = file.tell()
    check_size(size)
    file.seek(0)
    try:
        return _inspect(file)
    finally:
        file.seek(0)


def _inspect(file: IO[bytes]) -> SourceInfo:
    unsupported = UnsupportedImage(
        "This is not a picture we can use. Upload a JPEG, PNG, WebP or GIF image."
    )
    with warnings.catch_warnings():
        # Pillow's own bomb guard stays on, as an error rather than a warning.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(file, formats=ALLOWED_FORMATS)
        except UnidentifiedImageError:
            raise unsupported from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels() from None
        except (OSError, SyntaxError, ValueError, struct.error):
            raise _damaged() from None
        with image:
            # A JPEG with multi-picture data (many cameras write it) opens as MPO: a JPEG to us,
            # whose first picture is the photo.
            image_format = "JPEG" if image.format == "MPO" else image.format
            if image_format not in ALLOWED_FORMATS:  # defensive: formats= already limits this
                raise unsupported
            info = SourceInfo(image_format, *image.size)
            if info.width < 1 or info.height < 1:
                raise _damaged()
            if info.width * info.height > settings.MEDIA_MAX_PIXELS:
                raise _too_many_pixels()
            try:
                _check_complete(image, file)
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                raise _too_many_pixels() from None
            except (OSError, SyntaxError, ValueError, EOFError, struct.error):
                raise _damaged() from None
    return info


# A progressive JPEG is decoded scan by scan; real ones have about ten. Thousands of tiny scans cost
# seconds each thousand however few bytes they take, so they are refused before any decoding.
MAX_JPEG_SCANS = 100


def _check_complete(image: Image.Image, file: IO[bytes]) -> None:
    if image.format in ("JPEG", "MPO"):
        file.seek(0)
        scans, complete = jpeg_structure(file.read())
        if scans > MAX_JPEG_SCANS:
            raise ImageRejected(
                "This JPEG is built in an unusual way we do not accept. Save it again as a "
                "standard JPEG and re-upload it.",
                reason="unusual_jpeg",
            )
        if not complete:
            raise OSError("truncated JPEG")
        if "progression" in image.info or "progressive" in image.info:
            # Decoding a progressive JPEG needs all its coefficients in memory, whatever the scale:
            # the worker does it, under its time limit.
            return
        image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
        image.load()
    elif image.format == "PNG":
        image.verify()
    elif image.format == "GIF":
        image.seek(0)
        image.load()
    elif image.format == "WEBP":
        file.seek(0)
        header = file.read(12)
        riff_size = struct.unpack("<I", header[4:8])[0]
        file.seek(0, 2)
        if file.tell() < riff_size + 8:
            raise OSError("truncated WebP")


def jpeg_structure(data: bytes) -> tuple[int, bool]:
    """(scans counted, whether the picture reaches its end-of-image marker), walking the markers of
    the main picture only: segments (an EXIF thumbnail, metadata) are skipped by their length, and
    whatever follows the end (a phone's motion-photo video, appended text) is never looked at.
    Counting stops past MAX_JPEG_SCANS."""
    size, at, scans = len(data), 2, 0
    while at + 1 < size:
        if data[at] != 0xFF:
            return scans, False
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0xD9:  # end of image
            return scans, True
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            at += 2
            continue
        if at + 4 > size:
            return scans, False
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
        if marker != 0xDA:
            continue
        scans += 1
        if scans > MAX_JPEG_SCANS:
            return scans, False
        # Entropy-coded data runs to the next marker: 0xFF not followed by a stuffed 0x00 or a
        # restart marker.
        while True:
            at = data.find(b"\xff", at)
            if at == -1 or at + 1 >= size:
                return scans, False
            following = data[at + 1]
            if following == 0x00 or 0xD0 <= following <= 0xD7:
                at += 2
            elif following == 0xFF:
                at += 1
            else:
                break
    return scans, False


def _damaged() -> ImageRejected:
    return ImageRejected(
        "The picture is damaged or incomplete. Try saving it again and re-uploading."
    )


def _too_many_pixels() -> ImageRejected:
    megapixels = f"{settings.MEDIA_MAX_PIXELS / 1_000_000:g}"
    return ImageRejected(
        f"The picture has too many pixels (at most {megapixels} megapixels). Make it smaller first.",
        reason="too_many_pixels",
    )
