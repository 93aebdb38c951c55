"""JWTs for API clients: a login is a token family; refresh tokens rotate and work once.

- `issue_tokens` starts a family at sign-in.
- `rotate` trades a refresh token for a new pair; the old one is blacklisted in the same transaction.
  Presenting a used refresh token again revokes the family (reuse detection): either the client or a thief
  holds a copy, and we cannot tell which.
- However often it is rotated, a family's refresh tokens stop at JWT_REFRESH_ABSOLUTE_LIFETIME after sign-in.
- Access tokens are stateless and live 15 minutes; revoking a family stops its refreshes, not the access
  token already handed out.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt import state
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from .models import TokenFamily, User
from .suspension import refuse

FAMILY_CLAIM = "fam"


class RefreshRejected(Exception):
    """The refresh token can't be used. `code` says why, for the API's error body."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def _mint(user: User, family: TokenFamily) -> TokenPair:
    refresh = RefreshToken()
    refresh[api_settings.USER_ID_CLAIM] = str(user.pk)
    refresh[FAMILY_CLAIM] = str(family.pk)
    expires_at = min(
        refresh.current_time + api_settings.REFRESH_TOKEN_LIFETIME,
        family.created_at + settings.JWT_REFRESH_ABSOLUTE_LIFETIME,
    )
    refresh["exp"] = int(expires_at.timestamp())
    OutstandingToken.objects.create(
        user=user,
        jti=refresh[api_settings.JTI_CLAIM],
        token=str(refresh),
        created_at=refresh.current_time,
        expires_at=expires_at,
    )
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def issue_tokens(user: User) -> TokenPair:
    """A new sign-in's pair. Every path that hands out tokens comes here, so none hands them to a
    suspended member (suspension.Suspended), whatever it checked before."""
    refuse(user)
    with transaction.atomic():
        family = TokenFamily.objects.create(user=user)
        return _mint(user, family)


def _decode_refresh(raw: str) -> dict:
    """Signature (HS256 only), expiry and type; raises RefreshRejected otherwise."""
    try:
        # get_token_backend() is an instance method in simplejwt; the backend lives in `state`.
        # simplejwt annotates a Token; it decodes the raw string, as its own callers pass.
        payload = state.token_backend.decode(raw, verify=True)  # type: ignore[arg-type]
    except TokenBackendExpiredToken:
        raise RefreshRejected("Token is expired", "token_not_valid") from None
    except TokenBackendError:
        raise RefreshRejected("Token is invalid", "token_not_valid") from None
    if (
        payload.get(api_settings.TOKEN_TYPE_CLAIM) != "refresh"
        or not payload.get(api_settings.JTI_CLAIM)
        or not payload.get(FAMILY_CLAIM)
    ):
        raise RefreshRejected("Token is invalid", "token_not_valid")
    return payload


def revoke_family(family_id: UUID | str, reason: str) -> None:
    TokenFamily.objects.filter(pk=family_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )


def rotate(raw: str) -> TokenPair:
    payload = _decode_refresh(raw)
    jti = payload[api_settings.JTI_CLAIM]
    reused = False
    with transaction.atomic():
        # The family row's lock serialises concurrent refreshes of one login (PostgreSQL); SQLite
        # serialises every write transaction anyway.
        family = (
            TokenFamily.objects.select_for_update()
            .select_related("user")
            .filter(pk=payload[FAMILY_CLAIM])
            .first()
        )
        outstanding = OutstandingToken.objects.filter(jti=jti).first()
        if family is not None and str(family.user_id) == str(
            payload.get(api_settings.USER_ID_CLAIM)
        ):
            # Before the revocation is reported: a suspension revoked the family, and the member
            # is told why and until when (suspension.Suspended, a 403 `suspended`).
            refuse(family.user)
        if family is None or outstanding is None or family.revoked_at is not None:
            raise RefreshRejected("Token is revoked", "token_revoked")
        if not family.user.is_active or str(family.user_id) != str(
            payload.get(api_settings.USER_ID_CLAIM)
        ):
            raise RefreshRejected("Token is invalid", "token_not_valid")
        if family.created_at + settings.JWT_REFRESH_ABSOLUTE_LIFETIME <= timezone.now():
            # A token's `exp` keeps to the cap, unless the cap was shortened after it was issued.
            raise RefreshRejected("Token is expired", "token_not_valid")
        _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
        if created:
            return _mint(family.user, family)
        reused = True
    if reused:
        revoke_family(family.pk, reason="reuse")
    raise RefreshRejected(
        "Token was already used; every token of this sign-in is revoked", "token_reused"
    )


def revoke(raw: str) -> int | None:
    """Log out: the refresh token and its whole login stop working. Idempotent for a used token.
    Returns the id of the member it belonged to."""
    payload = _decode_refresh(raw)
    with transaction.atomic():
        outstanding = OutstandingToken.objects.filter(jti=payload[api_settings.JTI_CLAIM]).first()
        if outstanding is None:
            raise RefreshRejected("Token is invalid", "token_not_valid")
        BlacklistedToken.objects.get_or_create(token=outstanding)
        revoke_family(payload[FAMILY_CLAIM], reason="logout")
    return outstanding.user_id


def revoke_all_for_user(user: User, reason: str) -> int:
    """Every refresh token the user holds stops working (password reset or change)."""
    now = timezone.now()
    revoked = TokenFamily.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=reason
    )
    live = OutstandingToken.objects.filter(
        user=user, expires_at__gt=now, blacklistedtoken__isnull=True
    )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
    )
    return revoked
