"""The people of the social tests: the owner (author of the workbooks), an outsider, a moderator
(`staff`), and an anonymous visitor; each with an API client."""

import time

import pytest
from rest_framework.test import APIClient

from tests.accounts.helpers import api_client_for as client_for
from tests.factories import ModeratorFactory, UserFactory, WorkbookFactory
from tests.social.realtime import use_in_memory_layer


@pytest.fixture
def owner(user):
    """The author of `workbook` and `draft`; username "owner"."""
    return user


@pytest.fixture
def outsider(other_user):
    """Someone with no rights over the owner's things; username "outsider"."""
    return other_user


@pytest.fixture
def staff(db):
    """A moderator (accounts.roles): may change and delete anyone's workbook and comments."""
    return ModeratorFactory(username="staffer")


@pytest.fixture
def owner_client(owner) -> APIClient:
    return client_for(owner)


@pytest.fixture
def outsider_client(outsider) -> APIClient:
    return client_for(outsider)


@pytest.fixture
def staff_client(staff) -> APIClient:
    return client_for(staff)


@pytest.fixture
def stranger_client(db) -> APIClient:
    """A third member, for when the outsider is the one acting (say, the comment's author)."""
    return client_for(UserFactory(username="stranger"))


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def workbook(owner):
    return WorkbookFactory(author=owner, title="Revenue by region")


@pytest.fixture
def draft(owner):
    return WorkbookFactory(author=owner, title="Unfinished forecast", status="draft")


@pytest.fixture
def fresh_minute() -> None:
    """The rate limits count per clock minute (social.services): a test begun in a minute's last
    seconds waits for the next one, or its count would start again halfway through."""
    left = 60 - time.time() % 60
    if left < 5:
        time.sleep(left)


@pytest.fixture
def rate_limits(settings, fresh_minute):
    """Two of each social action per member per minute."""
    settings.SOCIAL_RATE_LIMITS = {"follow": 2, "favorite": 2, "comment": 2}
    return settings.SOCIAL_RATE_LIMITS


@pytest.fixture
def in_memory_layer(settings):
    """The in-memory channel layer, whatever REDIS_URL says: the socket and stream tests drive the ASGI
    app in this process."""
    use_in_memory_layer(settings)
