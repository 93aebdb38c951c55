"""A NUL byte in an address is a 400, and a cookie holding one is ignored: PostgreSQL text cannot
hold a NUL byte, so handed to a query (a username in the path, a search, a session key) it would
fail that query with a 500 on any page, the API and the websocket alike."""

import pytest
from django.test import Client

from tests.factories import UserFactory
from tests.sigma_playground.test_websocket_auth import OWN_ORIGIN, connect

# A quoted cookie value may spell a byte in octal; Django's cookie parser decodes it.
SESSION_COOKIE_WITH_NUL = 'sessionid="abcdefghij\\000klmnop"'


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/u/ada%00/",
        "/u/ada%00/followers/",
        "/feeds/u/ada%00/",
        "/explore/?q=sales%00",
        "/explore/?tag=%00",
        "/explore/?%00=1",
    ],
)
def test_a_nul_byte_in_a_pages_address_is_a_400(url):
    UserFactory(username="ada")

    response = Client().get(url)

    assert response.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/users/ada%00/", "/api/v1/users/ada%00/workbooks/"])
def test_a_nul_byte_in_an_api_path_is_a_json_400(url):
    UserFactory(username="ada")

    response = Client().get(url)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request was refused as malformed.",
        "code": "bad_request",
    }


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/explore/", "/api/v1/workbooks/"])
def test_a_session_cookie_holding_a_nul_byte_is_ignored(url):
    response = Client(HTTP_COOKIE=SESSION_COOKIE_WITH_NUL).get(url)

    assert response.status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_socket_with_a_session_cookie_holding_a_nul_byte_is_anonymous():
    connected, outputs = connect([OWN_ORIGIN, (b"cookie", SESSION_COOKIE_WITH_NUL.encode())])

    assert connected
    assert outputs == [{"type": "websocket.close", "code": 4401}]
