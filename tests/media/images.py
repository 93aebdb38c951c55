"""Generated files for the media tests: good pictures in each format, and each kind of bad file."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

GPS_IFD = 0x8825
ORIENTATION = 0x0112
APPENDED_HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


def picture(size=(800, 500), mode="RGB", colour=(30, 120, 200)) -> Image.Image:
    image = Image.new(mode, size, colour if mode == "RGB" else (*colour, 255)[: len(mode)])
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.rectangle([width // 8, height // 8, width // 2, height // 2], fill="white")
    draw.ellipse([width // 2, height // 2, width - 10, height - 10], fill="orange")
    return image


def encode(image: Image.Image, format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format, **options)
    return out.getvalue()


def jpeg(size=(800, 500), *, orientation: int | None = None, gps: bool = False, **options) -> bytes:
    image = picture(size)
    exif = image.getexif()
    if orientation is not None:
        exif[ORIENTATION] = orientation
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 39.0)}
    return encode(image, "JPEG", exif=exif, comment=b"secret comment", **options)


def png(size=(640, 400), *, alpha: bool = False) -> bytes:
    image = picture(size)
    if alpha:
        image = image.convert("RGBA")
        image.putalpha(Image.linear_gradient("L").resize(size))
    return encode(image, "PNG")


def webp(size=(640, 400)) -> bytes:
    return encode(picture(size), "WEBP")


def animated_gif(size=(200, 120)) -> bytes:
    first = Image.new("RGB", size, (255, 0, 0))
    second = Image.new("RGB", size, (0, 0, 255))
    return encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)


def upload(data: bytes, name: str = "picture.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


# --- Bad files ---------------------------------------------------------------------------------------


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG whose header claims `width` x `height`: a pixel flood."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    # A few rows of zeros compress to almost nothing; decoding all of them would need gigabytes.
    data = zlib.compress(b"\0" * (1 + width * 3) * 4, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG with its frame header (SOF0) rewritten to claim `width` x `height`."""
    data = bytearray(encode(picture((64, 64)), "JPEG", quality=50))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def svg() -> bytes:
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(1)</script></svg>"
    )


def html() -> bytes:
    return b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("picture.jpg", jpeg())
    return out.getvalue()


def bmp() -> bytes:
    return encode(picture((40, 30)), "BMP")


def tiff() -> bytes:
    return encode(picture((40, 30)), "TIFF")


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: int(len(data) * keep)]
