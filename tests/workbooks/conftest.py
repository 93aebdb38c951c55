"""Fixtures for the workbook tests."""

import pytest

from tests.factories import ModeratorFactory


@pytest.fixture
def staff(db):
    """A moderator (accounts.roles): reads drafts, changes and deletes any workbook."""
    return ModeratorFactory(username="staffer")


@pytest.fixture
def secure_embedding(settings):
    settings.SIGMA_EMBED_CLIENT_ID = "client"
    settings.SIGMA_EMBED_SECRET = "s3cret"
    settings.SIGMA_EMBED_GUEST_EMAIL = ""
    settings.SIGMA_EMBED_MEMBER_DOMAIN = "embed.playground.example"
