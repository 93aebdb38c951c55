"""POST /api/v1/me/mfa/setup/, /confirm/ and /disable/."""

from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest

from accounts import mfa
from accounts.models import RecoveryCode
from tests.accounts.helpers import ME_URL, code_for, sign_in, wrong_code

SETUP_URL = "/api/v1/me/mfa/setup/"
CONFIRM_URL = "/api/v1/me/mfa/confirm/"
DISABLE_URL = "/api/v1/me/mfa/disable/"

pytestmark = pytest.mark.django_db


def setup(client) -> dict:
    response = client.post(SETUP_URL)
    assert response.status_code == 200
    return response.json()


def confirm(client, code: str):
    return client.post(CONFIRM_URL, {"code": code}, format="json")


def disable(client, code: str):
    return client.post(DISABLE_URL, {"code": code}, format="json")


# --- Setup ----------------------------------------------------------------------------------


def test_it_answers_setup_with_a_secret_and_an_otpauth_url(auth_client, user):
    body = setup(auth_client)

    assert set(body) == {"secret", "otpauth_url"}
    assert len(body["secret"]) >= 16
    assert pyotp.TOTP(body["secret"]).now().isdigit()


def test_no_cache_keeps_the_secret_or_the_recovery_codes(auth_client, user):
    setup_answer = auth_client.post(SETUP_URL)
    codes = confirm(auth_client, code_for(setup_answer.json()["secret"]))

    assert setup_answer["Cache-Control"] == "no-store"
    assert codes.status_code == 200
    assert codes["Cache-Control"] == "no-store"


def test_the_otpauth_url_describes_a_totp_for_the_user_with_the_same_secret(auth_client, user):
    body = setup(auth_client)

    url = urlsplit(body["otpauth_url"])
    query = parse_qs(url.query)
    assert url.scheme == "otpauth"
    assert url.netloc == "totp"
    assert "owner" in unquote(url.path)
    assert query["secret"] == [body["secret"]]
    assert query["issuer"]
    parsed = pyotp.parse_uri(body["otpauth_url"])
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.interval == 30
    assert parsed.digits == 6


def test_it_gives_a_new_secret_for_every_setup(auth_client, user):
    first = setup(auth_client)["secret"]
    second = setup(auth_client)["secret"]

    assert first != second


def test_setup_alone_does_not_turn_mfa_on(auth_client, api_client, user):
    setup(auth_client)

    assert auth_client.get(ME_URL).json()["mfa_enabled"] is False
    assert sign_in(api_client).status_code == 200


def test_it_refuses_setup_while_mfa_is_on_and_keeps_the_secret(
    auth_client, api_client, user, mfa_secret
):
    response = auth_client.post(SETUP_URL)

    assert response.status_code == 400
    assert "secret" not in response.json()
    user.refresh_from_db()
    assert user.mfa_secret == mfa_secret
    assert sign_in(api_client, otp=code_for(mfa_secret)).status_code == 200


# --- Confirm --------------------------------------------------------------------------------


def test_it_confirms_with_a_code_from_the_new_secret_and_returns_recovery_codes(auth_client, user):
    secret = setup(auth_client)["secret"]

    response = confirm(auth_client, code_for(secret))

    assert response.status_code == 200
    assert set(response.json()) == {"recovery_codes"}


def test_it_returns_ten_unique_recovery_codes(auth_client, user):
    secret = setup(auth_client)["secret"]

    codes = confirm(auth_client, code_for(secret)).json()["recovery_codes"]

    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert all(isinstance(code, str) and len(code) >= 10 for code in codes)


def test_it_stores_only_hashes_of_the_recovery_codes(auth_client, user):
    secret = setup(auth_client)["secret"]

    codes = confirm(auth_client, code_for(secret)).json()["recovery_codes"]

    stored = set(RecoveryCode.objects.filter(user=user).values_list("code_hash", flat=True))
    assert len(stored) == 10
    assert not stored & set(codes)


def test_mfa_is_on_after_confirming(auth_client, user):
    secret = setup(auth_client)["secret"]

    confirm(auth_client, code_for(secret))

    assert auth_client.get(ME_URL).json()["mfa_enabled"] is True
    user.refresh_from_db()
    assert user.mfa_enabled


def test_signing_in_asks_for_a_code_once_mfa_is_on(auth_client, api_client, user):
    secret = setup(auth_client)["secret"]
    confirm(auth_client, code_for(secret))

    response = sign_in(api_client)

    assert response.status_code == 401
    assert response.json()["code"] == "mfa_required"
    assert sign_in(api_client, otp=code_for(secret, steps_ahead=1)).status_code == 200


def test_the_code_used_to_confirm_cannot_be_replayed_to_sign_in(auth_client, api_client, user):
    secret = setup(auth_client)["secret"]
    code = code_for(secret)
    confirm(auth_client, code)

    response = sign_in(api_client, otp=code)

    assert response.status_code == 401
    assert response.json()["code"] == "mfa_required"


def test_each_returned_recovery_code_signs_in(auth_client, api_client, user):
    secret = setup(auth_client)["secret"]
    codes = confirm(auth_client, code_for(secret)).json()["recovery_codes"]

    statuses = {sign_in(api_client, otp=code).status_code for code in codes}

    assert statuses == {200}
    assert mfa.remaining_recovery_codes(user) == 0


def test_it_rejects_a_wrong_code_with_400_and_leaves_mfa_off(auth_client, user):
    secret = setup(auth_client)["secret"]

    response = confirm(auth_client, wrong_code(secret))

    assert response.status_code == 400
    assert "recovery_codes" not in response.json()
    user.refresh_from_db()
    assert not user.mfa_enabled
    assert not RecoveryCode.objects.filter(user=user).exists()


def test_it_still_confirms_with_a_right_code_after_a_wrong_one(auth_client, user):
    secret = setup(auth_client)["secret"]
    confirm(auth_client, wrong_code(secret))

    response = confirm(auth_client, code_for(secret))

    assert response.status_code == 200


def test_it_only_confirms_with_the_latest_secret(auth_client, user):
    old_secret = setup(auth_client)["secret"]
    setup(auth_client)

    response = confirm(auth_client, code_for(old_secret))

    assert response.status_code == 400
    user.refresh_from_db()
    assert not user.mfa_enabled


def test_it_refuses_to_confirm_without_a_setup(auth_client, user):
    response = confirm(auth_client, "123456")

    assert response.status_code == 400
    user.refresh_from_db()
    assert not user.mfa_enabled


def test_it_refuses_to_confirm_again_while_mfa_is_on(auth_client, user, mfa_secret):
    mfa.replace_recovery_codes(user)
    before = set(RecoveryCode.objects.filter(user=user).values_list("code_hash", flat=True))

    response = confirm(auth_client, code_for(mfa_secret))

    assert response.status_code == 400
    assert "recovery_codes" not in response.json()
    after = set(RecoveryCode.objects.filter(user=user).values_list("code_hash", flat=True))
    assert after == before


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": "1" * 21}])
def test_it_rejects_a_missing_blank_or_overlong_code(auth_client, user, body):
    setup(auth_client)

    response = auth_client.post(CONFIRM_URL, body, format="json")

    assert response.status_code == 400
    assert "code" in response.json()


# --- Disable --------------------------------------------------------------------------------


def test_it_turns_mfa_off_with_a_current_code(auth_client, api_client, user, mfa_secret):
    response = disable(auth_client, code_for(mfa_secret))

    assert response.status_code == 204
    user.refresh_from_db()
    assert not user.mfa_enabled
    assert user.mfa_secret == ""
    assert auth_client.get(ME_URL).json()["mfa_enabled"] is False
    assert sign_in(api_client).status_code == 200


def test_it_turns_mfa_off_with_a_recovery_code(auth_client, user, mfa_secret):
    codes = mfa.replace_recovery_codes(user)

    response = disable(auth_client, codes[0])

    assert response.status_code == 204
    user.refresh_from_db()
    assert not user.mfa_enabled


def test_it_deletes_the_recovery_codes_when_mfa_is_turned_off(auth_client, user, mfa_secret):
    mfa.replace_recovery_codes(user)

    disable(auth_client, code_for(mfa_secret))

    assert not RecoveryCode.objects.filter(user=user).exists()


def test_it_refuses_to_turn_mfa_off_with_a_wrong_code(auth_client, api_client, user, mfa_secret):
    response = disable(auth_client, wrong_code(mfa_secret))

    assert response.status_code == 400
    user.refresh_from_db()
    assert user.mfa_enabled
    assert user.mfa_secret == mfa_secret
    assert sign_in(api_client).json()["code"] == "mfa_required"


def test_it_refuses_to_turn_mfa_off_with_a_code_already_used_to_sign_in(
    auth_client, api_client, user, mfa_secret
):
    code = code_for(mfa_secret)
    assert sign_in(api_client, otp=code).status_code == 200

    response = disable(auth_client, code)

    assert response.status_code == 400
    user.refresh_from_db()
    assert user.mfa_enabled


def test_it_refuses_to_turn_mfa_off_when_it_is_off(auth_client, user):
    response = disable(auth_client, "123456")

    assert response.status_code == 400


def test_it_can_set_mfa_up_again_right_after_turning_it_off(auth_client, user):
    first = setup(auth_client)["secret"]
    assert confirm(auth_client, code_for(first)).status_code == 200
    assert disable(auth_client, code_for(first, steps_ahead=1)).status_code == 204

    second = setup(auth_client)["secret"]
    response = confirm(auth_client, code_for(second))

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.mfa_enabled


def test_the_old_recovery_codes_do_not_work_after_mfa_is_set_up_again(
    auth_client, api_client, user
):
    first = setup(auth_client)["secret"]
    old_codes = confirm(auth_client, code_for(first)).json()["recovery_codes"]
    disable(auth_client, code_for(first, steps_ahead=1))
    second = setup(auth_client)["secret"]
    confirm(auth_client, code_for(second))

    response = sign_in(api_client, otp=old_codes[0])

    assert response.status_code == 401
    assert response.json()["code"] == "mfa_required"


# --- Who may -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [SETUP_URL, CONFIRM_URL, DISABLE_URL])
def test_it_answers_401_to_anonymous_requests(api_client, user, url):
    response = api_client.post(url, {"code": "123456"}, format="json")

    assert response.status_code == 401


def test_an_anonymous_disable_leaves_mfa_on(api_client, user, mfa_secret):
    disable(api_client, code_for(mfa_secret))

    user.refresh_from_db()
    assert user.mfa_enabled


def test_it_works_with_a_bearer_token(api_client, user):
    access = sign_in(api_client).json()["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    secret = setup(api_client)["secret"]
    response = confirm(api_client, code_for(secret))

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.mfa_enabled
    assert user.mfa_secret == secret
