"""A member's avatar: media tells accounts when it changes (media.signals), and accounts keeps the
member's row showing it. Connected in accounts.receivers."""

from __future__ import annotations

from typing import Any

from media.models import Image

from .models import User


def show_avatar(sender: Any, *, kind: str, holder: str, ref: dict | None, **kwargs: Any) -> None:
    if kind == Image.Kind.AVATAR:
        User.objects.filter(pk=holder).update(avatar=ref)
