"""Walking a provider sign-in with Django's test client: the site's redirects are followed by the
client, the provider's by a real HTTP request to the stand-in."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from django.http import HttpResponse as Response
from django.test import Client

from tests.standins.identity import StandIn


def through_provider(client: Client, start: Response, stand_in: StandIn, as_whom: str) -> Response:
    """From the site's redirect to the provider (`start`) back to the site's callback, approved as
    `as_whom`; returns the callback's answer."""
    assert start.status_code == 302, start.status_code
    assert start["Location"].startswith(stand_in.url)
    stand_in.approve_as = as_whom
    back = requests.get(start["Location"], allow_redirects=False, timeout=5)
    assert back.status_code == 302, back.text
    callback = urlsplit(back.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def sign_in_with(
    client: Client, stand_in: StandIn, provider: str, as_whom: str, next_page: str = "/"
) -> Response:
    start = client.post(f"/accounts/provider/{provider}/start/", {"next": next_page})
    return through_provider(client, start, stand_in, as_whom)


def follow(client: Client, response: Response) -> Response:
    """One of the site's redirects, followed."""
    assert response.status_code == 302, response.status_code
    return client.get(response["Location"])
