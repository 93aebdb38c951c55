"""Fixtures for the account tests."""

import pytest

from tests.accounts.helpers import enable_mfa
from tests.standins.identity import StandIn, turn_on_github, turn_on_oidc


@pytest.fixture
def mfa_secret(user) -> str:
    """MFA on for `user`, set up and confirmed long ago (no code of this minute used yet); returns
    the TOTP secret."""
    return enable_mfa(user)


@pytest.fixture
def oidc(settings):
    """The stand-in OpenID Connect provider, configured as the site's "Acme SSO"."""
    stand_in = StandIn("oidc").start()
    turn_on_oidc(settings, stand_in)
    yield stand_in
    stand_in.stop()


@pytest.fixture
def github(settings):
    """The GitHub-shaped stand-in, configured as the site's GitHub."""
    stand_in = StandIn("github").start()
    turn_on_github(settings, stand_in)
    yield stand_in
    stand_in.stop()
