"""Where media lives: public variants in the default storage (local folder, or S3 behind an optional CDN),
uploaded originals in the private "uploads" storage until their variants are made.

Variant names are `<kind folder>/<content hash>-<variant>.<ext>`: a name never changes meaning, so a CDN or
browser may cache it for a year, and processing the same source twice writes the same files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils.encoding import filepath_to_uri
from storages.backends.s3 import S3Storage

FOLDERS = {"avatar": "avatars", "thumbnail": "thumbnails"}
UPLOADS_FOLDER = "originals"


class UploadFileSystemStorage(FileSystemStorage):
    """Originals on local disk: outside MEDIA_ROOT (MEDIA_UPLOAD_ROOT), so the site never serves them."""

    @property
    def base_location(self) -> str:  # read each time, so tests can point it elsewhere
        return self._value_or_setting(self._location, settings.MEDIA_UPLOAD_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    @property
    def base_url(self) -> None:
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
