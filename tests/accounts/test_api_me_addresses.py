"""PATCH /api/v1/me/ with a link or website that a browser could read as another site than the
one its checks see: refused under its field, nothing saved."""

import pytest

from tests.accounts.helpers import ME_URL

pytestmark = pytest.mark.django_db


def patch_me(client, **fields):
    return client.patch(ME_URL, fields, format="json")


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example\\@github.com/me",
        "https://evil.example@github.com/me",
        "https://github.com:8443/me",
        "https://github.com/me\u202e",
        "https://github.com/\nme",
    ],
)
def test_a_link_a_browser_could_read_as_another_site_is_a_400_under_links(auth_client, user, url):
    response = patch_me(auth_client, links=[{"kind": "github", "url": url}])

    assert response.status_code == 400
    assert set(response.json()) == {"links"}
    user.refresh_from_db()
    assert user.links == []


@pytest.mark.parametrize(
    "website",
    ["https://github.com@evil.example/", "https://evil.example\\@ada.example/"],
)
def test_a_website_a_browser_could_read_as_another_site_is_a_400_under_website(
    auth_client, user, website
):
    response = patch_me(auth_client, website=website)

    assert response.status_code == 400
    assert set(response.json()) == {"website"}
    user.refresh_from_db()
    assert user.website == ""
