"""POST /api/v1/auth/token/, and what GET /api/v1/me/ makes of the access tokens it hands out."""

import json
import time
from datetime import timedelta

import jwt
import pyotp
import pytest
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts import mfa
from accounts.models import TokenFamily
from tests.accounts.helpers import (
    ME_URL,
    TOKEN_URL,
    b64url,
    claims,
    codes_valid_now,
    enable_mfa,
    get_me,
    shift_jwt_clock,
    sign_in,
    wrong_code,
)
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def signing_key() -> str:
    return settings.SIMPLE_JWT["SIGNING_KEY"]


def hand_made_token(header: dict, payload: dict, signature: bytes = b"") -> str:
    parts = [json.dumps(header).encode(), json.dumps(payload).encode(), signature]
    return ".".join(b64url(part) for part in parts)


@pytest.fixture
def recovery_codes(user, mfa_secret) -> list[str]:
    return mfa.replace_recovery_codes(user)


@pytest.fixture
def access_token(api_client, user) -> str:
    return sign_in(api_client).json()["access"]


# --- Signing in with a password ---------------------------------------------------------------


def test_it_issues_an_access_and_refresh_token_for_the_right_password(api_client, user):
    response = sign_in(api_client)

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


def test_it_issues_an_access_token_and_a_refresh_token_for_that_user(api_client, user):
    body = sign_in(api_client).json()

    access, refresh = claims(body["access"]), claims(body["refresh"])
    assert access["token_type"] == "access"
    assert refresh["token_type"] == "refresh"
    assert str(access["user_id"]) == str(user.pk)
    assert str(refresh["user_id"]) == str(user.pk)
    assert (
        access["exp"] - time.time() <= settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()
    )


def test_it_signs_tokens_with_hs256(api_client, user):
    body = sign_in(api_client).json()

    for token in body.values():
        assert jwt.get_unverified_header(token)["alg"] == "HS256"
        jwt.decode(token, signing_key(), algorithms=["HS256"])


def test_it_starts_a_new_token_family_for_every_sign_in(api_client, user):
    first = sign_in(api_client).json()["refresh"]
    second = sign_in(api_client).json()["refresh"]

    assert TokenFamily.objects.filter(user=user).count() == 2
    assert claims(first)["fam"] != claims(second)["fam"]


@pytest.mark.parametrize("spelling", ["OWNER", "Owner", "oWNer"])
def test_it_treats_the_username_case_insensitively(api_client, user, spelling):
    response = sign_in(api_client, username=spelling)

    assert response.status_code == 200
    assert str(claims(response.json()["access"])["user_id"]) == str(user.pk)


def test_it_rejects_a_wrong_password_with_401_no_active_account(api_client, user):
    response = sign_in(api_client, password="not the password")

    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"
    assert "access" not in response.json()
    assert "Bearer" in response["WWW-Authenticate"]


def test_it_rejects_an_unknown_user_with_401_no_active_account(api_client, user):
    response = sign_in(api_client, username="nobody")

    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"


def test_it_answers_an_unknown_user_exactly_like_a_wrong_password(api_client, user):
    wrong_password = sign_in(api_client, password="not the password")
    unknown_user = sign_in(api_client, username="nobody")

    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json() == unknown_user.json()


def test_it_rejects_the_password_in_another_case(api_client, user):
    response = sign_in(api_client, password=PASSWORD.upper())

    assert response.status_code == 401


def test_it_rejects_a_deactivated_user_with_the_right_password(api_client, user):
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = sign_in(api_client)

    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"


def test_it_rejects_another_users_password(api_client, user, other_user):
    other_user.set_password("the outsider's own password")
    other_user.save()

    response = sign_in(api_client, password="the outsider's own password")

    assert response.status_code == 401


@pytest.mark.parametrize("missing", ["username", "password"])
def test_it_rejects_a_body_without_username_or_password_with_400(api_client, user, missing):
    body = {"username": "owner", "password": PASSWORD}
    del body[missing]

    response = api_client.post(TOKEN_URL, body, format="json")

    assert response.status_code == 400
    assert missing in response.json()


def test_it_ignores_an_otp_for_an_account_without_mfa(api_client, user):
    response = sign_in(api_client, otp="123456")

    assert response.status_code == 200


# --- Signing in with MFA on ------------------------------------------------------------------


def test_it_asks_for_the_second_factor_with_401_mfa_required_when_otp_is_missing(
    api_client, user, mfa_secret
):
    response = sign_in(api_client)

    assert response.status_code == 401
    assert response.json()["code"] == "mfa_required"
    assert "access" not in response.json()
    assert "refresh" not in response.json()


def test_it_treats_a_blank_otp_as_missing(api_client, user, mfa_secret):
    response = sign_in(api_client, otp="")

    assert response.status_code == 401
    assert response.json()["code"] == "mfa_required"


def test_it_rejects_a_wrong_otp_with_401_mfa_required(api_client, user, mfa_secret):
    response = sign_in(api_client, otp=wrong_code(mfa_secret))

    assert response.status_code == 401
    assert response.json()["code"] == "mfa_required"
    assert "access" not in response.json()


def test_it_rejects_a_code_from_another_secret(api_client, user, mfa_secret):
    other_secret = pyotp.random_base32()

    response = sign_in(api_client, otp=pyotp.TOTP(other_secret).at(time.time()))

    assert response.status_code == 401
    assert response.json()["code"] == "mfa_required"


def test_it_rejects_a_code_from_long_ago(api_client, user, mfa_secret):
    totp, valid = pyotp.TOTP(mfa_secret), codes_valid_now(mfa_secret)
    # Ten minutes ago, or a step earlier in the rare case that code equals a current one.
    old_code = next(
        code
        for code in (totp.at(time.time() - age) for age in (600, 630, 660))
        if code not in valid
    )

    response = sign_in(api_client, otp=old_code)

    assert response.status_code == 401
    assert response.json()["code"] == "mfa_required"


def test_it_issues_tokens_for_the_right_password_and_otp(api_client, user, mfa_secret):
    response = sign_in(api_client, otp=pyotp.TOTP(mfa_secret).at(time.time()))

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


def test_it_accepts_the_code_of_the_next_step_for_clock_drift(api_client, user, mfa_secret):
    response = sign_in(api_client, otp=pyotp.TOTP(mfa_secret).at(time.time() + 30))

    assert response.status_code == 200


def test_it_does_not_accept_the_same_totp_code_twice(api_client, user, mfa_secret):
    code = pyotp.TOTP(mfa_secret).at(time.time())
    assert sign_in(api_client, otp=code).status_code == 200

    replay = sign_in(api_client, otp=code)

    assert replay.status_code == 401
    assert replay.json()["code"] == "mfa_required"


def test_it_accepts_the_next_code_after_the_current_one_was_used(api_client, user, mfa_secret):
    totp = pyotp.TOTP(mfa_secret)
    assert sign_in(api_client, otp=totp.at(time.time())).status_code == 200

    response = sign_in(api_client, otp=totp.at(time.time() + 30))

    assert response.status_code == 200


def test_it_rejects_an_earlier_code_once_a_later_one_was_used(api_client, user, mfa_secret):
    totp = pyotp.TOTP(mfa_secret)
    assert sign_in(api_client, otp=totp.at(time.time() + 30)).status_code == 200

    response = sign_in(api_client, otp=totp.at(time.time()))

    assert response.status_code == 401
    assert response.json()["code"] == "mfa_required"


def test_it_rejects_a_wrong_password_with_no_active_account_even_with_the_right_otp(
    api_client, user, mfa_secret
):
    response = sign_in(api_client, password="not the password", otp=pyotp.TOTP(mfa_secret).now())

    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"


def test_it_does_not_use_up_the_code_when_the_password_was_wrong(api_client, user, mfa_secret):
    code = pyotp.TOTP(mfa_secret).at(time.time())
    sign_in(api_client, password="not the password", otp=code)

    response = sign_in(api_client, otp=code)

    assert response.status_code == 200


def test_it_accepts_a_recovery_code_once(api_client, user, recovery_codes):
    first = sign_in(api_client, otp=recovery_codes[0])
    second = sign_in(api_client, otp=recovery_codes[0])

    assert first.status_code == 200
    assert second.status_code == 401
    assert second.json()["code"] == "mfa_required"


def test_it_keeps_the_other_recovery_codes_when_one_is_used(api_client, user, recovery_codes):
    assert sign_in(api_client, otp=recovery_codes[0]).status_code == 200

    response = sign_in(api_client, otp=recovery_codes[1])

    assert response.status_code == 200
    assert mfa.remaining_recovery_codes(user) == len(recovery_codes) - 2


def test_it_accepts_a_recovery_code_typed_in_capitals_without_hyphens(
    api_client, user, recovery_codes
):
    typed = recovery_codes[0].upper().replace("-", "")

    response = sign_in(api_client, otp=typed)

    assert response.status_code == 200


def test_it_rejects_another_users_recovery_code(api_client, user, mfa_secret, other_user):
    enable_mfa(other_user)
    their_codes = mfa.replace_recovery_codes(other_user)

    response = sign_in(api_client, otp=their_codes[0])

    assert response.status_code == 401
    assert response.json()["code"] == "mfa_required"


# --- Access tokens at GET /api/v1/me/ --------------------------------------------------------


def test_it_lets_a_valid_access_token_read_me(api_client, user, access_token):
    response = get_me(api_client, access_token)

    assert response.status_code == 200
    assert response.json()["username"] == "owner"


def test_the_access_token_identifies_its_own_user(api_client, user, other_user):
    token = sign_in(api_client, username="outsider").json()["access"]

    response = get_me(api_client, token)

    assert response.status_code == 200
    assert response.json()["username"] == "outsider"


def test_it_rejects_an_alg_none_token(api_client, user, access_token):
    forged = hand_made_token({"alg": "none", "typ": "JWT"}, claims(access_token))

    response = get_me(api_client, forged)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_it_rejects_an_alg_none_token_that_keeps_the_original_signature(
    api_client, user, access_token
):
    signature = access_token.rsplit(".", 1)[1]
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = access_token.split(".")[1]

    response = get_me(api_client, f"{header}.{payload}.{signature}")

    assert response.status_code == 401


def test_it_rejects_a_token_signed_with_another_key(api_client, user, access_token):
    forged = jwt.encode(claims(access_token), "not-the-signing-key-" * 3, algorithm="HS256")

    response = get_me(api_client, forged)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.filterwarnings("ignore:The HMAC key is")
def test_it_rejects_a_token_signed_with_the_right_key_but_another_algorithm(
    api_client, user, access_token
):
    forged = jwt.encode(claims(access_token), signing_key(), algorithm="HS512")

    response = get_me(api_client, forged)

    assert response.status_code == 401


def test_it_rejects_a_token_whose_claims_were_changed_after_signing(
    api_client, user, other_user, access_token
):
    header, _, signature = access_token.split(".")
    changed = claims(access_token) | {"user_id": str(other_user.pk)}
    tampered = f"{header}.{b64url(json.dumps(changed).encode())}.{signature}"

    response = get_me(api_client, tampered)

    assert response.status_code == 401


def test_it_rejects_a_token_with_a_flipped_signature_byte(api_client, user, access_token):
    head, signature = access_token.rsplit(".", 1)
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    response = get_me(api_client, f"{head}.{flipped}")

    assert response.status_code == 401


def test_it_rejects_an_expired_access_token(api_client, user):
    token = AccessToken.for_user(user)
    token["exp"] = int(time.time()) - 60

    response = get_me(api_client, str(token))

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_it_accepts_an_access_token_minted_the_same_way_before_it_expires(api_client, user):
    token = AccessToken.for_user(user)
    token["exp"] = int(time.time()) + 60

    response = get_me(api_client, str(token))

    assert response.status_code == 200


def test_it_rejects_an_access_token_after_its_lifetime(api_client, user, access_token, monkeypatch):
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    later = time.time() + lifetime.total_seconds() + 60
    shift_jwt_clock(monkeypatch, later)

    response = get_me(api_client, access_token)

    assert response.status_code == 401


def test_it_rejects_a_refresh_token_used_as_access_token(api_client, user):
    refresh = sign_in(api_client).json()["refresh"]

    response = get_me(api_client, refresh)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_it_rejects_a_plain_simplejwt_refresh_token_used_as_access_token(api_client, user):
    response = get_me(api_client, str(RefreshToken.for_user(user)))

    assert response.status_code == 401


@pytest.mark.parametrize(
    "garbage",
    ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.", "Bearer", "x" * 2000],
)
def test_it_rejects_a_garbage_token(api_client, user, garbage):
    response = get_me(api_client, garbage)

    assert response.status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Token abc", "Basic b3duZXI6cHc="])
def test_it_does_not_authenticate_a_malformed_or_foreign_authorization_header(
    api_client, user, header
):
    response = api_client.get(ME_URL, HTTP_AUTHORIZATION=header)

    assert response.status_code == 401


def test_it_rejects_a_valid_token_of_a_deactivated_user(api_client, user, access_token):
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = get_me(api_client, access_token)

    assert response.status_code == 401


def test_it_rejects_a_valid_token_of_a_deleted_user(api_client, access_token, user):
    user.delete()

    response = get_me(api_client, access_token)

    assert response.status_code == 401


def test_it_rejects_a_token_for_a_user_that_never_existed(api_client, user):
    ghost = UserFactory.build(pk=987654)

    response = get_me(api_client, str(AccessToken.for_user(ghost)))

    assert response.status_code == 401


def test_it_answers_401_with_a_bearer_challenge_without_any_token(api_client, user):
    response = api_client.get(ME_URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_shifted_clock_still_accepts_a_token_inside_its_lifetime(
    api_client, user, access_token, monkeypatch
):
    shift_jwt_clock(monkeypatch, time.time() + timedelta(minutes=5).total_seconds())

    response = get_me(api_client, access_token)

    assert response.status_code == 200
