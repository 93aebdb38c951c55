import pytest

TOKEN_URL = "/api/v1/auth/token/"


@pytest.mark.django_db
def test_it_issues_an_access_and_refresh_token_for_the_right_password(api_client, user, password):
    response = api_client.post(TOKEN_URL, {"username": "owner", "password": password}, format="json")
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
