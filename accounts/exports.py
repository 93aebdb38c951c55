"""A member's data, as one ZIP they can take with them: `data.json` (their profile and one entry per
registered section) and `pictures/` (the largest copy the site keeps of each of their pictures).

Accounts knows only the profile; what the member made and did lives in the apps above it, which
register a section when they are ready (accounts cannot import them):

    exports.register("workbooks", data=workbooks_of, pictures=thumbnails_of)

`data(user)` returns what goes under the section's name in data.json (anything JSON can hold;
dates become ISO 8601 strings); `pictures(user)` the member's pictures for that section, each with
its name under pictures/. Each should cost a fixed number of queries however much the member made:
an export is read in one go by a worker (tests/accounts/test_export.py counts them).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from media.storage import Picture, public_storage, upload_storage

from .models import User

# In the private storage (never served, private on S3), next to uploads' originals.
EXPORTS_FOLDER = "exports"


@dataclass(frozen=True)
class ExportedPicture:
    name: str  # its path under pictures/, without the extension: "avatar", "workbooks/my-sales"
    picture: Picture


Data = Callable[[User], Any]
Pictures = Callable[[User], Iterable[ExportedPicture]]


@dataclass(frozen=True)
class Section:
    name: str
    data: Data
    pictures: Pictures | None


_sections: dict[str, Section] = {}


def register(name: str, *, data: Data, pictures: Pictures | None = None) -> None:
    _sections[name] = Section(name, data, pictures)


def _profile(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "email": user.email,
        "email_verified": user.email_verified,
        "full_name": user.full_name,
        "bio": user.bio,
        "website": user.website,
        "organisation": user.organisation,
        "location": user.location,
        "links": user.links,
        "pinned_workbook_ids": user.pinned_workbook_ids,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "two_factor": user.mfa_enabled,
        "follower_count": user.follower_count,
        "following_count": user.following_count,
        "favorite_count": user.favorite_count,
    }


def _avatar(user: User) -> Iterable[ExportedPicture]:
    picture = user.picture
    return [ExportedPicture("avatar", picture)] if picture is not None else []


register("profile", data=_profile, pictures=_avatar)


def data(user: User) -> dict[str, Any]:
    """What data.json holds: when it was made, then each section by name (the profile first)."""
    content: dict[str, Any] = {"exported_at": timezone.now()}
    for section in _in_order():
        content[section.name] = section.data(user)
    return content


def pictures(user: User) -> list[ExportedPicture]:
    return [
        picture
        for section in _in_order()
        if section.pictures is not None
        for picture in section.pictures(user)
    ]


def _in_order() -> list[Section]:
    return sorted(_sections.values(), key=lambda section: (section.name != "profile", section.name))


def kept_original(picture: Picture) -> tuple[str, str]:
    """The stored file closest to what the member uploaded, and its extension: the largest
    variant, in the JPEG or PNG the site keeps beside the WebP. (The upload itself is deleted
    once its variants are made: media keeps nothing of the uploaded bytes, metadata included.)"""
    largest = max(picture.sizes, key=lambda variant: picture.sizes[variant][0])
    return picture.name(largest, picture.fallback), picture.fallback


def build(user: User) -> str:
    """Write the member's ZIP to the private storage under a new unguessable name; returns it.

    The archive is written to a temporary file (spilling to disk past a few MB), pictures copied
    in chunks from the storage, then stored in one piece: memory stays flat whatever its size."""
    name = f"{EXPORTS_FOLDER}/{secrets.token_urlsafe(32)}/{filename(user)}"
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("data.json", json.dumps(data(user), cls=DjangoJSONEncoder, indent=2))
            _add_pictures(archive, pictures(user))
        spool.seek(0)
        return upload_storage().save(name, File(spool, name=filename(user)))


def _add_pictures(archive: zipfile.ZipFile, shown: list[ExportedPicture]) -> None:
    storage = public_storage()
    for exported in shown:
        stored, ext = kept_original(exported.picture)
        try:
            with (
                storage.open(stored, "rb") as source,
                archive.open(f"pictures/{exported.name}.{ext}", "w") as target,
            ):
                shutil.copyfileobj(source, target, 1024 * 1024)
        except FileNotFoundError:
            continue  # removed by a change made since the list was read: nothing to take


def filename(user: User) -> str:
    return f"sigma-playground-{user.username.lower()}.zip"


def remove(name: str) -> None:
    """Delete a stored export (one already gone is no error), and on local disk its folder."""
    if not name:
        return
    storage = upload_storage()
    storage.delete(name)
    if isinstance(storage, FileSystemStorage):
        with suppress(OSError):
            os.rmdir(os.path.dirname(storage.path(name)))
