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

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


class ImageRejected(Exception):
    """An upload we refuse, with a message for the person who sent it and the HTTP status that fits."""

    status_code = 400
    code = "invalid_image"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ImageTooLarge(ImageRejected):
    status_code = 413
    code = "file_too_large"


class UnsupportedImage(ImageRejected):
    status_code = 415
    code = "unsupported_media_type"


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


def inspect(file: IO[bytes], size: int | None = None) -> SourceInfo:
    """Return what the image is, or raise ImageRejected saying why it is not acceptable.

    `file` is read from its start and left rewound.
    """
    if size is None:
        file.seek(0, 2)
        size = file.tell()
    if size == 0:
        raise ImageRejected("The file is empty.")
    if size > max_upload_bytes():
        raise ImageTooLarge(too_large_message())
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
            info = SourceInfo("JPEG" if image.format == "MPO" else image.format, *image.size)
            if info.format not in ALLOWED_FORMATS:  # defensive: formats= already limits this
                raise unsupported
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
        data = file.read()
        # Counts every start-of-scan marker, an embedded EXIF thumbnail's too: an overestimate.
        if data.count(b"\xff\xda") > MAX_JPEG_SCANS:
            raise ImageRejected(
                "This JPEG is built in an unusual way we do not accept. Save it again as a "
                "standard JPEG and re-upload it."
            )
        if "progression" in image.info or "progressive" in image.info:
            # Decoding a progressive JPEG needs all its coefficients in memory, whatever the scale:
            # the worker does it, under its time limit. Here only its end must be present.
            if b"\xff\xd9" not in data[-1024 * 1024 :]:
                raise OSError("truncated JPEG")
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


def _damaged() -> ImageRejected:
    return ImageRejected(
        "The picture is damaged or incomplete. Try saving it again and re-uploading."
    )


def _too_many_pixels() -> ImageRejected:
    megapixels = f"{settings.MEDIA_MAX_PIXELS / 1_000_000:g}"
    return ImageRejected(
        f"The picture has too many pixels (at most {megapixels} megapixels). Make it smaller first."
    )
