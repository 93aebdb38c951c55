"""Fixtures for the account tests."""

import pytest

from tests.accounts.helpers import enable_mfa


@pytest.fixture
def mfa_secret(user) -> str:
    """MFA on for `user`, set up and confirmed long ago (no code of this minute used yet); returns
    the TOTP secret."""
    return enable_mfa(user)
