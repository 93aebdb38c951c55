"""Helpers for the account tests: signing in through the API, reading tokens, two-factor codes."""

import base64
import time
from datetime import UTC, datetime

import jwt
import pyotp
from rest_framework.test import APIClient

from tests.factories import PASSWORD

TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"
ME_URL = "/api/v1/me/"


# --- Signing in and tokens ----------------------------------------------------------------------


def api_client_for(user) -> APIClient:
    """An API client signed in as `user` (DRF's force_authenticate: no token is issued)."""
    client = APIClient()
    client.force_authenticate(user)
    return client


def sign_in(client, username="owner", password=PASSWORD, address="127.0.0.1", **extra):
    """POST /api/v1/auth/token/ (from `address`), with `extra` fields such as `otp`."""
    body = {"username": username, "password": password, **extra}
    return client.post(TOKEN_URL, body, format="json", REMOTE_ADDR=address)


def token_pair(client, username="owner") -> dict:
    """Sign in with the right password; returns the access and refresh tokens."""
    response = sign_in(client, username)
    assert response.status_code == 200
    return response.json()


def refresh(client, token: str):
    return client.post(REFRESH_URL, {"refresh": token}, format="json")


def get_me(client, token: str):
    return client.get(ME_URL, HTTP_AUTHORIZATION=f"Bearer {token}")


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def shift_jwt_clock(monkeypatch, timestamp: float) -> None:
    """PyJWT checks `exp` against datetime.now(); make that return `timestamp`."""

    class ShiftedDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.fromtimestamp(timestamp, tz=tz or UTC)

    monkeypatch.setattr(jwt.api_jwt, "datetime", ShiftedDatetime)


# --- Two-factor authentication ------------------------------------------------------------------


def enable_mfa(user) -> str:
    """MFA on for `user`, as if set up and confirmed long ago; returns the TOTP secret."""
    user.mfa_secret = pyotp.random_base32()
    user.mfa_enabled = True
    user.save(update_fields=["mfa_secret", "mfa_enabled"])
    return user.mfa_secret


def code_for(secret: str, *, steps_ahead: int = 0) -> str:
    """The authenticator app's code, now or for a later 30-second step (still inside the window)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def codes_valid_now(secret: str) -> set[str]:
    """Every code the server could accept around now (its window is one step either side)."""
    totp, now = pyotp.TOTP(secret), time.time()
    return {totp.at(now + offset) for offset in (-60, -30, 0, 30, 60)}


def wrong_code(secret: str) -> str:
    """Six digits that no step around now would produce."""
    valid = codes_valid_now(secret)
    return next(code for code in ("000000", "123456", "999999", "424242") if code not in valid)
