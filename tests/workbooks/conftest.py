"""Fixtures for the workbook tests."""

import pytest

from tests.factories import StaffFactory


@pytest.fixture
def staff(db):
    """Staff who may change and delete any workbook (a superuser, or given those permissions)."""
    return StaffFactory(username="staffer")


@pytest.fixture
def secure_embedding(settings):
    settings.SIGMA_EMBED_CLIENT_ID = "client"
    settings.SIGMA_EMBED_SECRET = "s3cret"
    settings.SIGMA_EMBED_GUEST_EMAIL = ""
