"""One sign-up budget per client address for every way to create an account: the /accounts/signup/
page and POST /api/v1/auth/register/ count against the same 20 attempts an hour
(SIGNUP_MAX_PER_ADDRESS_PER_HOUR), then answer 429 with Retry-After until the hour is over."""

import pytest
from django.test import Client
from pytest_django.asserts import assertContains

from accounts.models import User
from tests.factories import PASSWORD

SIGNUP_URL = "/accounts/signup/"
REGISTER_URL = "/api/v1/auth/register/"
BUDGET = 20

pytestmark = pytest.mark.django_db


def sign_up_on_the_page(n: int, address: str = "192.0.2.1", **overrides):
    body = {
        "username": f"page{n}",
        "email": f"page{n}@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
    } | overrides
    # A new browser each time: a signed-in visitor is sent home, not counted.
    return Client(REMOTE_ADDR=address).post(SIGNUP_URL, body)


def register_through_the_api(api_client, n: int, address: str = "192.0.2.1"):
    body = {"username": f"api{n}", "email": f"api{n}@example.com", "password": PASSWORD}
    return api_client.post(REGISTER_URL, body, format="json", REMOTE_ADDR=address)


def test_the_sign_up_page_answers_429_after_twenty_sign_ups_from_one_address():
    statuses = [sign_up_on_the_page(n).status_code for n in range(BUDGET + 2)]

    assert statuses == [302] * BUDGET + [429] * 2
    assert User.objects.count() == BUDGET


def test_the_page_says_why_and_when_to_come_back():
    for n in range(BUDGET):
        sign_up_on_the_page(n)

    response = sign_up_on_the_page(BUDGET)

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assertContains(response, "Too many sign-ups from your address. Try again in ", status_code=429)
    assertContains(response, f'value="page{BUDGET}"', status_code=429)


def test_the_page_and_the_api_share_one_budget(api_client):
    page = [sign_up_on_the_page(n).status_code for n in range(BUDGET // 2)]
    api = [register_through_the_api(api_client, n).status_code for n in range(BUDGET // 2)]

    after_on_the_page = sign_up_on_the_page(BUDGET)
    after_on_the_api = register_through_the_api(api_client, BUDGET)

    assert page == [302] * (BUDGET // 2)
    assert api == [201] * (BUDGET // 2)
    assert after_on_the_page.status_code == 429
    assert after_on_the_api.status_code == 429
    assert after_on_the_api["Retry-After"].isdigit()
    assert after_on_the_api.json()["code"] == "throttled"


def test_refused_sign_ups_count_too(api_client):
    # Each refusal still says whether a username is taken: the budget bounds that guessing as well.
    taken = [sign_up_on_the_page(n, password2="something else").status_code for n in range(BUDGET)]

    response = register_through_the_api(api_client, 0)

    assert taken == [400] * BUDGET
    assert response.status_code == 429


def test_a_throttled_sign_up_does_not_say_whether_the_username_is_taken(user):
    for n in range(BUDGET):
        sign_up_on_the_page(n)

    response = sign_up_on_the_page(BUDGET, username="owner")

    assert response.status_code == 429
    assert b"That username is taken." not in response.content


def test_another_address_has_its_own_budget(api_client):
    for n in range(BUDGET):
        sign_up_on_the_page(n)

    assert sign_up_on_the_page(BUDGET, address="192.0.2.2").status_code == 302
    assert register_through_the_api(api_client, 0, address="192.0.2.3").status_code == 201


def test_showing_the_form_costs_nothing():
    for _ in range(BUDGET + 1):
        assert Client(REMOTE_ADDR="192.0.2.1").get(SIGNUP_URL).status_code == 200

    assert sign_up_on_the_page(0).status_code == 302


def test_the_budget_follows_its_setting(settings, api_client):
    settings.SIGNUP_MAX_PER_ADDRESS = 2

    statuses = [
        sign_up_on_the_page(0).status_code,
        register_through_the_api(api_client, 0).status_code,
    ]

    assert statuses == [302, 201]
    assert sign_up_on_the_page(1).status_code == 429
