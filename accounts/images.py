"""A member's avatar: media tells accounts when it changes (media.signals), and accounts keeps the
member's row showing it. Connected once, in AccountsConfig.ready."""

from __future__ import annotations

from typing import Any

from media.models import Image
from media.signals import picture_changed

from .models import User


def show_avatar(sender: Any, *, kind: str, holder: str, ref: dict | None, **kwargs: Any) -> None:
    if kind == Image.Kind.AVATAR:
        User.objects.filter(pk=holder).update(avatar=ref)


def connect() -> None:
    picture_changed.connect(show_avatar, dispatch_uid="accounts.show_avatar")
