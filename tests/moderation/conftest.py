"""The people of the moderation tests: an author with a published workbook and a comment on it by a
commenter, members who report, a moderator, and their clients."""

import pytest

from social import services as social_services
from tests.factories import ModeratorFactory, UserFactory, WorkbookFactory
from tests.social.conftest import fresh_minute  # noqa: F401  # a fixture, used by name

REPORTS_URL = "/api/v1/reports/"


@pytest.fixture
def commenter(db):
    return UserFactory(username="commenter")


@pytest.fixture
def workbook(author):
    return WorkbookFactory(author=author, title="Revenue by region")


@pytest.fixture
def comment(workbook, commenter):
    return social_services.add_comment(commenter, workbook, "Buy cheap watches at example.test")


@pytest.fixture
def reporters(db):
    return [UserFactory(username=f"reporter{n}") for n in range(5)]


@pytest.fixture
def reporter(reporters):
    return reporters[0]


@pytest.fixture
def moderator(db):
    return ModeratorFactory(username="moderator")


@pytest.fixture
def hold_at_three(settings):
    settings.MODERATION_HOLD_REPORTS = 3
    return 3
