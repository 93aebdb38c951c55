"""Every check of a two-factor code counts against the sign-in lockout: turning MFA on or off, with a
TOTP or a recovery code, on the API and on the settings page. After five wrong codes for an account
(or twenty from one address) within 15 minutes, the check answers 429 with Retry-After, whatever the
code, like sign-in does."""

import pytest
from django.test import Client

from accounts import mfa
from tests.accounts.helpers import code_for, sign_in, wrong_code
from tests.factories import UserFactory
from tests.pages import error_by_field

CONFIRM_URL = "/api/v1/me/mfa/confirm/"
DISABLE_URL = "/api/v1/me/mfa/disable/"
MFA_PAGE_URL = "/settings/two-factor/"
FAILURES_ALLOWED = 5

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_codes(client, url: str, codes: list[str], **extra) -> list[int]:
    return [client.post(url, {"code": code, **extra}).status_code for code in codes]


def started_setup(user) -> str:
    """MFA set-up started but not confirmed; returns the new secret."""
    user.mfa_secret = mfa.new_secret()
    user.save(update_fields=["mfa_secret"])
    return user.mfa_secret


# --- API --------------------------------------------------------------------------------------


def test_turning_mfa_off_through_the_api_answers_429_after_five_wrong_codes(
    auth_client, user, mfa_secret
):
    statuses = [
        auth_client.post(DISABLE_URL, {"code": wrong_code(mfa_secret)}, format="json").status_code
        for _ in range(25)
    ]

    assert statuses == [400] * FAILURES_ALLOWED + [429] * 20


def test_the_api_refuses_even_the_right_code_until_the_window_ends(auth_client, user, mfa_secret):
    for _ in range(FAILURES_ALLOWED):
        auth_client.post(DISABLE_URL, {"code": wrong_code(mfa_secret)}, format="json")

    response = auth_client.post(DISABLE_URL, {"code": code_for(mfa_secret)}, format="json")

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    user.refresh_from_db()
    assert user.mfa_enabled


def test_guessed_recovery_codes_count_like_wrong_totp_codes(auth_client, user, mfa_secret):
    codes = mfa.replace_recovery_codes(user)
    guesses = [f"aaaa-bbbb-cc{n:02d}" for n in range(FAILURES_ALLOWED)]
    statuses = [
        auth_client.post(DISABLE_URL, {"code": guess}, format="json").status_code
        for guess in guesses
    ]

    response = auth_client.post(DISABLE_URL, {"code": codes[0]}, format="json")

    assert statuses == [400] * FAILURES_ALLOWED
    assert response.status_code == 429
    assert mfa.remaining_recovery_codes(user) == len(codes)


def test_confirming_mfa_through_the_api_answers_429_after_five_wrong_codes(auth_client, user):
    secret = started_setup(user)
    statuses = [
        auth_client.post(CONFIRM_URL, {"code": wrong_code(secret)}, format="json").status_code
        for _ in range(FAILURES_ALLOWED)
    ]

    response = auth_client.post(CONFIRM_URL, {"code": code_for(secret)}, format="json")

    assert statuses == [400] * FAILURES_ALLOWED
    assert response.status_code == 429
    assert response["Retry-After"].isdigit()
    user.refresh_from_db()
    assert not user.mfa_enabled


def test_wrong_codes_count_against_the_same_lockout_as_sign_in(
    auth_client, api_client, user, mfa_secret
):
    for _ in range(FAILURES_ALLOWED):
        auth_client.post(DISABLE_URL, {"code": wrong_code(mfa_secret)}, format="json")

    response = sign_in(api_client, otp=code_for(mfa_secret))

    assert response.status_code == 429


def test_a_right_code_forgets_the_wrong_ones_before_it(auth_client, user, mfa_secret):
    for _ in range(FAILURES_ALLOWED - 1):
        auth_client.post(DISABLE_URL, {"code": wrong_code(mfa_secret)}, format="json")
    assert (
        auth_client.post(DISABLE_URL, {"code": code_for(mfa_secret)}, format="json").status_code
        == 204
    )
    secret = started_setup(user)

    statuses = [
        auth_client.post(CONFIRM_URL, {"code": wrong_code(secret)}, format="json").status_code
        for _ in range(FAILURES_ALLOWED - 1)
    ]

    assert statuses == [400] * (FAILURES_ALLOWED - 1)


# --- Settings page ----------------------------------------------------------------------------


def test_turning_mfa_off_on_the_page_answers_429_with_the_error_by_the_code(
    page_client, user, mfa_secret
):
    statuses = post_codes(
        page_client, MFA_PAGE_URL, [wrong_code(mfa_secret)] * FAILURES_ALLOWED, action="disable"
    )

    response = page_client.post(MFA_PAGE_URL, {"action": "disable", "code": code_for(mfa_secret)})

    assert statuses == [400] * FAILURES_ALLOWED
    assert response.status_code == 429
    assert response["Retry-After"].isdigit()
    assert error_by_field(response, "code").startswith("Too many failed sign-ins. Try again in ")
    user.refresh_from_db()
    assert user.mfa_enabled


def test_confirming_mfa_on_the_page_answers_429_after_five_wrong_codes(page_client, user):
    secret = started_setup(user)
    statuses = post_codes(
        page_client, MFA_PAGE_URL, [wrong_code(secret)] * FAILURES_ALLOWED, action="confirm"
    )

    response = page_client.post(MFA_PAGE_URL, {"action": "confirm", "code": code_for(secret)})

    assert statuses == [400] * FAILURES_ALLOWED
    assert response.status_code == 429
    assert error_by_field(response, "code").startswith("Too many failed sign-ins.")
    user.refresh_from_db()
    assert not user.mfa_enabled


def test_one_address_guessing_for_many_accounts_meets_the_address_limit(settings):
    settings.SIGNIN_MAX_FAILURES_PER_ADDRESS = 3
    members = [UserFactory(username=f"member{n}") for n in range(4)]
    statuses = []
    for member in members:
        client = Client(REMOTE_ADDR="192.0.2.9")
        client.force_login(member)
        secret = started_setup(member)
        statuses.append(
            client.post(MFA_PAGE_URL, {"action": "confirm", "code": wrong_code(secret)}).status_code
        )

    assert statuses == [400, 400, 400, 429]
