"""Who may give a row a picture, asked by the API before a direct upload starts or completes.

An upload through a page or the API's own endpoints comes from a view of the app that owns the
row, which has checked access already. A direct upload names its row (`POST /api/v1/uploads/`
with a `workbook`), so the owning app registers its check here in its AppConfig.ready; a kind no
app registered (an avatar: its holder is the uploader) needs none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Refused(Exception):
    """The member may not give that row a picture; `hidden` when they may not even see it."""

    def __init__(self, message: str, *, hidden: bool) -> None:
        super().__init__(message)
        self.message = message
        self.hidden = hidden


# kind -> check(user, key): returns the holder's key, or raises Refused.
Check = Callable[[Any, Any], str]
_checks: dict[str, Check] = {}


def register(kind: str, check: Check) -> None:
    _checks[kind] = check


def checked(kind: str, user: Any, key: Any) -> str:
    """The key of the row `user` gives a picture of `kind`; raises Refused."""
    return _checks[kind](user, key)


def needs_check(kind: str) -> bool:
    return kind in _checks
