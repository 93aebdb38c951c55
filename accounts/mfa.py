"""Time-based one-time passwords (RFC 6238) and single-use recovery codes."""

from __future__ import annotations

import hashlib
import secrets
import time
from io import BytesIO

import pyotp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import RecoveryCode, User

TOTP_STEP_SECONDS = 30
# A code from the previous or next 30-second step is accepted too: phone clocks drift.
TOTP_VALID_WINDOW = 1
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=settings.MFA_ISSUER)


def qr_code_svg(uri: str) -> str:
    """The provisioning URI as an inline SVG, drawn on the server: no JavaScript, no outside service."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg") :]  # drop the XML declaration so it can sit inside HTML


def _matching_step(secret: str, code: str, now: float) -> int | None:
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // TOTP_STEP_SECONDS)
    for step in range(current - TOTP_VALID_WINDOW, current + TOTP_VALID_WINDOW + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def verify_totp(user: User, code: str, secret: str | None = None) -> bool:
    """True once per code: the step is recorded with a conditional UPDATE, so a replay, even a
    concurrent one, finds the step already used."""
    step = _matching_step(secret or user.mfa_secret, code, time.time())
    if step is None:
        return False
    accepted = User.objects.filter(pk=user.pk, mfa_last_step__lt=step).update(mfa_last_step=step)
    if accepted:
        user.mfa_last_step = step
    return bool(accepted)


def _hash(code: str) -> str:
    normalised = code.strip().lower().replace("-", "").replace(" ", "")
    return hashlib.sha256(normalised.encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def replace_recovery_codes(user: User) -> list[str]:
    codes = [_new_recovery_code() for _ in range(settings.MFA_RECOVERY_CODE_COUNT)]
    with transaction.atomic():
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create(RecoveryCode(user=user, code_hash=_hash(c)) for c in codes)
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    used = RecoveryCode.objects.filter(
        user=user, code_hash=_hash(code), used_at__isnull=True
    ).update(used_at=timezone.now())
    return bool(used)


def verify_second_factor(user: User, code: str) -> bool:
    """A current TOTP code or an unused recovery code."""
    if not user.mfa_enabled or not code:
        return False
    return verify_totp(user, code) or use_recovery_code(user, code)


def remaining_recovery_codes(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
