"""Fixtures for the account tests."""

import io

import pytest

from media import services as media_services
from tests.accounts.helpers import enable_mfa
from tests.media import images
from tests.standins.identity import StandIn, turn_on_github, turn_on_oidc


@pytest.fixture
def mfa_secret(user) -> str:
    """MFA on for `user`, set up and confirmed long ago (no code of this minute used yet); returns
    the TOTP secret."""
    return enable_mfa(user)


@pytest.fixture
def upload(django_capture_on_commit_callbacks):
    """A picture uploaded and processed, as a member's upload is: upload(owner, kind=, holder=)."""

    def upload(owner, *, kind="avatar", holder=None):
        with django_capture_on_commit_callbacks(execute=True):
            image = media_services.accept_upload(
                owner=owner, kind=kind, holder=holder, file=io.BytesIO(images.jpeg())
            )
        image.refresh_from_db()
        return image

    return upload


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
