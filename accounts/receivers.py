"""What the accounts app does when a member's sign-ins must end (accounts.signals.sign_ins_ended)."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from . import tokens
from .models import User


def end_sign_ins(sender: type[User], user: User, reason: str, **kwargs: Any) -> None:
    """Every refresh token of the member stops working, whatever path changed the password.

    Browser sessions end at their next request: their stored auth hash no longer matches a changed
    password, and an inactive account is never authenticated. A deactivation also raises the
    sessions' generation (part of that hash), so reactivating the account does not bring them back.
    The session that changed its own password keeps going where the view re-signs it
    (update_session_auth_hash).
    """
    tokens.revoke_all_for_user(user, reason=reason)
    if reason == "deactivated":
        User.objects.filter(pk=user.pk).update(sessions_generation=F("sessions_generation") + 1)
