"""A member's avatar: media tells accounts when it changes (media.signals), and accounts keeps the
member's row showing it. Connected in accounts.receivers."""

from __future__ import annotations

from typing import Any

from media import services as media_services
from media.models import Image

from .models import User


def show_avatar(sender: Any, *, kind: str, holder: str, ref: dict | None, **kwargs: Any) -> None:
    if kind == Image.Kind.AVATAR:
        User.objects.filter(pk=holder).update(avatar=ref)


def hold_avatar(user: User) -> None:
    """Before the member's row is locked for deletion: wait for any avatar being put in use
    (media.services.hold), which locks its image and then writes the member's row."""
    media_services.hold(Image.Kind.AVATAR, user.pk)


def forget_avatar(sender: Any, instance: User, **kwargs: Any) -> None:
    """A deleted member takes their avatar's images with them (the files go with the hourly
    cleanup of what no image shows)."""
    media_services.forget(Image.Kind.AVATAR, instance.pk)
