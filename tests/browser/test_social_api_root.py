"""social.js calls the API where the page says it is (data-api-root, from the URLconf), not at a
root written into the script: moving the API is one change."""

import pytest
from playwright.sync_api import Route, expect

from social.models import Follow
from social.templatetags import api_tags
from tests.browser.helpers import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_social_js_calls_the_api_at_the_root_the_page_gives(
    new_page, live_server, traffic, monkeypatch
):
    # Pages say the API is at /api/moved/; the browser takes such calls to where it really is.
    monkeypatch.setattr(api_tags, "API_ROOT", "api/moved/")
    bea = UserFactory(username="bea")
    abe = UserFactory(username="abe")
    page = new_page()

    def to_the_api(route: Route) -> None:
        route.continue_(url=route.request.url.replace("/api/moved/", "/api/v1/"))

    page.route("**/api/moved/**", to_the_api)
    sign_in(page, live_server.url, "abe")
    page.goto(f"{live_server.url}/u/bea/")
    button = page.locator("form[data-follow-form] button")

    button.click()

    expect(button).to_have_attribute("aria-pressed", "true")
    assert Follow.objects.filter(follower=abe, followee=bea).exists()
    assert f"{live_server.url}/api/moved/users/bea/follow/" in traffic.requests
    assert not [url for url in traffic.requests if "/api/v1/" in url]
