"""Member pages tell social.js where the API is (data-api-root), from the URLconf: the root every
API route it calls is under."""

import pytest
from django.urls import reverse

from tests.factories import BROWSER
from tests.workbooks.markup import page

pytestmark = pytest.mark.django_db


def test_a_members_page_gives_social_js_the_apis_root(client, user, workbook):
    client.force_login(user)

    response = client.get("/explore/", HTTP_USER_AGENT=BROWSER)

    scripts = page(response).find_all("script")
    (social_js,) = [s for s in scripts if "js/social" in (s.attrs.get("src") or "")]
    root = social_js.attrs["data-api-root"]
    assert root == "/api/v1/"
    for name, args in [
        ("api-user-follow", ["owner"]),
        ("api-workbook-favorite", [workbook.pk]),
        ("api-me-favorited", []),
        ("api-notifications-read", []),
    ]:
        assert reverse(name, args=args).startswith(root)
