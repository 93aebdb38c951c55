"""Fixtures for the workbook tests."""

import pytest

from tests.factories import ModeratorFactory, UserFactory, WorkbookFactory
from workbooks import cache as gallery_cache


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


@pytest.fixture
def gallery(db):
    """Ada's two finance workbooks; the first, "Revenue by region". (Modules that need another
    gallery define their own `gallery`.)"""
    ada = UserFactory(username="ada", full_name="Ada Lovelace")
    workbook = WorkbookFactory(author=ada, title="Revenue by region", tags=["finance"])
    WorkbookFactory(author=ada, title="Revenue forecast", tags=["finance"])
    return workbook


@pytest.fixture
def one_minute(monkeypatch):
    """Keys change every minute (workbooks.cache.minute): the test sees one minute only. (Some
    modules define their own.)"""
    monkeypatch.setattr(gallery_cache, "minute", lambda: 29_000_000)
