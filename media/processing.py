"""Turning an accepted upload into the variants the site shows. Pure functions: bytes in, bytes out.

Every variant is decoded from the source and encoded anew, so nothing of the uploaded bytes survives:
metadata (GPS above all) is dropped, and anything appended to the file (HTML, a script) is simply never
read. The EXIF orientation is applied first, so a portrait photo stays upright without its metadata.

Speed and memory come from not decoding more than the largest variant needs: a JPEG is decoded at
1/2, 1/4 or 1/8 scale by libjpeg itself (Pillow's draft mode), and each smaller variant is resized from
the one above it rather than from the source. `tests/perf/bench_images.py` measures the difference.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field

from PIL import Image, ImageCms, ImageOps

from .validation import ALLOWED_FORMATS

# Bump when the output for the same source changes, so new variants get new names.
PIPELINE_VERSION = b"v1"

THUMB = 150  # square crop
SMALL = 300  # long side
MEDIUM = 600  # long side
VARIANTS = ("thumb", "small", "medium")

WEBP_QUALITY = 80
JPEG_QUALITY = 82


@dataclass
class Rendered:
    """The variants of one source: `files` maps a name suffix ("thumb.webp") to its bytes."""

    content_hash: str
    fallback: str  # "jpg", or "png" where the picture has transparency
    width: int  # the source, upright
    height: int
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(PIPELINE_VERSION + data).hexdigest()[:40]


def content_hash_of(file) -> str:
    """content_hash() of a file read in chunks (an upload, without holding it all in memory)."""
    digest = hashlib.sha256(PIPELINE_VERSION)
    file.seek(0)
    for chunk in iter(lambda: file.read(1024 * 1024), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()[:40]


def render(data: bytes) -> Rendered:
    """Make the thumb, small and medium variants of an image already accepted by validation.inspect.

    Raises OSError or ValueError (Pillow's) when the picture cannot be decoded after all.
    """
    with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as source:
        full_size = source.size
        if source.format in ("JPEG", "MPO"):
            # Ask libjpeg for the smallest scale that still covers the medium variant.
            scale = MEDIUM / max(source.size)
            if scale < 1:
                source.draft("RGB", (round(source.width * scale), round(source.height * scale)))
        source.seek(0)  # GIF and animated WebP: the first frame only
        source.load()
        orientation = source.getexif().get(0x0112, 1)
        icc_profile = source.info.get("icc_profile")
        # Transparency given as one key colour (or a palette entry) becomes an alpha channel before
        # any resampling, which would otherwise blend the key colour into its neighbours.
        picture = source.convert("RGBA") if "transparency" in source.info else source
        # Other formats decode at full size: shrink by a whole factor at once (cheap, a box
        # filter) to about twice the largest variant, so later copies and conversions are small.
        picture = _reduce(picture)
        if orientation in _TRANSPOSE:
            picture = picture.transpose(_TRANSPOSE[orientation])
        width, height = _upright_size(full_size, orientation)
        picture = _normalise_mode(_to_srgb(picture, icc_profile))

    has_alpha = picture.mode == "RGBA"
    base = _fit_long_side(picture, MEDIUM)
    small = _fit_long_side(base, SMALL)
    # The square crop comes from the smallest variant whose short side still covers it.
    crop_from = small if min(small.size) >= THUMB else base
    thumb = ImageOps.fit(crop_from, (THUMB, THUMB), Image.Resampling.LANCZOS)

    rendered = Rendered(
        content_hash=content_hash(data),
        fallback="png" if has_alpha else "jpg",
        width=width,
        height=height,
    )
    for name, variant in (("thumb", thumb), ("small", small), ("medium", base)):
        rendered.sizes[name] = variant.size
        rendered.files[f"{name}.webp"] = _encode(variant, "WEBP")
        rendered.files[f"{name}.{rendered.fallback}"] = _encode(
            variant, "PNG" if has_alpha else "JPEG"
        )
    return rendered


# EXIF orientation -> the transposition that makes the picture upright (as ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _reduce(image: Image.Image) -> Image.Image:
    factor = max(image.size) // (MEDIUM * 2)
    if factor < 2 or image.mode not in ("RGB", "RGBA", "L", "LA"):
        return image
    return image.reduce(factor)


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Colours as the camera or editor meant them: the variants carry no profile, and browsers read
    untagged pictures as sRGB, so a wide-gamut (Display P3, Adobe RGB) or CMYK picture is converted."""
    if not icc_profile or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        # An image, as inPlace is False: Pillow's `Image | None` does not tell the two cases apart.
        return ImageCms.profileToProfile(  # type: ignore[return-value]
            image, source, _SRGB, outputMode="RGBA" if image.mode == "RGBA" else "RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # a damaged or unusual profile: the pixels as they are


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def _normalise_mode(image: Image.Image) -> Image.Image:
    """RGB, or RGBA when the picture has any transparency; CMYK, 16-bit and palettes converted."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        converted = image.convert("RGBA")
        # Fully opaque after all: JPEG is smaller.
        if converted.getchannel("A").getextrema() == (255, 255):
            return converted.convert("RGB")
        return converted
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return image.point(lambda value: value / 256).convert("RGB")
    return image.convert("RGB")


def _fit_long_side(image: Image.Image, long_side: int) -> Image.Image:
    if max(image.size) <= long_side:
        return image
    scale = long_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode(image: Image.Image, format: str) -> bytes:
    # Pillow copies `info` (EXIF, XMP, ICC, comments) from image to image through resizes, and some
    # encoders write it back out: the variants carry none of it.
    image.info = {}
    out = io.BytesIO()
    if format == "WEBP":
        image.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    elif format == "JPEG":
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    else:
        image.save(out, "PNG", optimize=True)
    return out.getvalue()
