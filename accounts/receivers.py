"""What the accounts app does when a member's sign-ins must end (accounts.signals.sign_ins_ended)."""

from __future__ import annotations

from typing import Any

from . import tokens
from .models import User


def end_api_sign_ins(sender: type[User], user: User, reason: str, **kwargs: Any) -> None:
    """Every refresh token of the member stops working, whatever path changed the password.

    Browser sessions need nothing here: Django ends each one at its next request, because its stored
    auth hash no longer matches a changed password and an inactive account is never authenticated. The
    session that made the change keeps going only where the view re-signs it (update_session_auth_hash).
    """
    tokens.revoke_all_for_user(user, reason=reason)
