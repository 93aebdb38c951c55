"""POST /api/v1/auth/token/refresh/ and /api/v1/auth/logout/: rotation, reuse detection, the cap."""

import json
import time
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import TokenFamily
from tests.accounts.helpers import (
    REFRESH_URL,
    b64url,
    claims,
    get_me,
    refresh,
    shift_jwt_clock,
    token_pair,
)

LOGOUT_URL = "/api/v1/auth/logout/"

pytestmark = pytest.mark.django_db


def logout(client, token: str):
    return client.post(LOGOUT_URL, {"refresh": token}, format="json")


@pytest.fixture
def pair(api_client, user) -> dict:
    return token_pair(api_client)


# --- Refresh --------------------------------------------------------------------------------


def test_it_rotates_a_refresh_token_into_a_new_pair(api_client, pair):
    response = refresh(api_client, pair["refresh"])

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != pair["refresh"]
    assert body["access"] != pair["access"]
    assert claims(body["refresh"])["jti"] != claims(pair["refresh"])["jti"]


def test_the_rotated_pair_belongs_to_the_same_user_and_login(api_client, user, pair):
    body = refresh(api_client, pair["refresh"]).json()

    assert str(claims(body["access"])["user_id"]) == str(user.pk)
    assert claims(body["refresh"])["fam"] == claims(pair["refresh"])["fam"]


def test_the_new_access_token_reads_me(api_client, pair):
    body = refresh(api_client, pair["refresh"]).json()

    response = get_me(api_client, body["access"])

    assert response.status_code == 200
    assert response.json()["username"] == "owner"


def test_the_new_refresh_token_rotates_again(api_client, pair):
    second = refresh(api_client, pair["refresh"]).json()

    third = refresh(api_client, second["refresh"])

    assert third.status_code == 200
    assert third.json()["refresh"] not in {pair["refresh"], second["refresh"]}


def test_it_rejects_a_used_refresh_token_with_401_token_reused(api_client, pair):
    assert refresh(api_client, pair["refresh"]).status_code == 200

    response = refresh(api_client, pair["refresh"])

    assert response.status_code == 401
    assert response.json()["code"] == "token_reused"
    assert "access" not in response.json()


def test_it_revokes_the_whole_login_when_a_used_refresh_token_comes_back(api_client, pair):
    rotated = refresh(api_client, pair["refresh"]).json()
    assert refresh(api_client, pair["refresh"]).status_code == 401

    response = refresh(api_client, rotated["refresh"])

    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"
    family = TokenFamily.objects.get(pk=claims(pair["refresh"])["fam"])
    assert family.revoked_at is not None
    assert family.revoked_reason == "reuse"


def test_it_revokes_every_later_token_of_the_login_on_reuse(api_client, pair):
    second = refresh(api_client, pair["refresh"]).json()
    third = refresh(api_client, second["refresh"]).json()

    assert refresh(api_client, second["refresh"]).json()["code"] == "token_reused"

    assert refresh(api_client, third["refresh"]).status_code == 401


def test_it_keeps_other_logins_of_the_user_working_after_reuse_in_one(api_client, user, pair):
    other_login = token_pair(api_client)
    refresh(api_client, pair["refresh"])
    refresh(api_client, pair["refresh"])

    response = refresh(api_client, other_login["refresh"])

    assert response.status_code == 200


def test_the_user_can_sign_in_again_after_a_reuse_revoked_their_login(api_client, pair):
    refresh(api_client, pair["refresh"])
    refresh(api_client, pair["refresh"])

    fresh = token_pair(api_client)

    assert refresh(api_client, fresh["refresh"]).status_code == 200


def test_it_gives_a_refresh_token_its_normal_lifetime_early_in_a_login(api_client, pair):
    lifetime = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].total_seconds()

    body = refresh(api_client, pair["refresh"]).json()

    assert claims(body["refresh"])["exp"] == pytest.approx(time.time() + lifetime, abs=60)


def test_it_never_extends_a_login_past_the_absolute_cap(api_client, user, pair):
    cap = settings.JWT_REFRESH_ABSOLUTE_LIFETIME
    started = timezone.now() - cap + timedelta(hours=1)
    TokenFamily.objects.filter(user=user).update(created_at=started)

    body = refresh(api_client, pair["refresh"]).json()

    assert claims(body["refresh"])["exp"] <= (started + cap).timestamp()
    assert claims(body["refresh"])["exp"] == pytest.approx(time.time() + 3600, abs=60)


def test_it_rejects_a_refresh_after_the_absolute_cap_however_often_it_was_rotated(
    api_client, user, pair, monkeypatch
):
    cap = settings.JWT_REFRESH_ABSOLUTE_LIFETIME
    TokenFamily.objects.filter(user=user).update(
        created_at=timezone.now() - cap + timedelta(hours=1)
    )
    latest = refresh(api_client, pair["refresh"]).json()
    shift_jwt_clock(monkeypatch, time.time() + timedelta(hours=2).total_seconds())

    response = refresh(api_client, latest["refresh"])

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_two_hours_later_a_login_far_from_the_cap_still_refreshes(
    api_client, user, pair, monkeypatch
):
    latest = refresh(api_client, pair["refresh"]).json()
    shift_jwt_clock(monkeypatch, time.time() + timedelta(hours=2).total_seconds())

    response = refresh(api_client, latest["refresh"])

    assert response.status_code == 200


def test_it_rejects_a_refresh_once_the_login_is_older_than_a_shortened_cap(
    api_client, pair, settings
):
    settings.JWT_REFRESH_ABSOLUTE_LIFETIME = timedelta(seconds=0)

    response = refresh(api_client, pair["refresh"])

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_it_rejects_an_expired_refresh_token(api_client, pair, monkeypatch):
    lifetime = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    shift_jwt_clock(monkeypatch, time.time() + (lifetime + timedelta(minutes=1)).total_seconds())

    response = refresh(api_client, pair["refresh"])

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_it_rejects_an_access_token_as_refresh_token(api_client, pair):
    response = refresh(api_client, pair["access"])

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_it_rejects_a_refresh_token_that_belongs_to_no_login(api_client, user):
    # Correctly signed, but minted outside a sign-in: it has no token family.
    response = refresh(api_client, str(RefreshToken.for_user(user)))

    assert response.status_code == 401


def test_it_rejects_a_refresh_token_signed_with_another_key(api_client, pair):
    forged = jwt.encode(claims(pair["refresh"]), "not-the-signing-key-" * 3, algorithm="HS256")

    response = refresh(api_client, forged)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_it_rejects_an_alg_none_refresh_token(api_client, pair):
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = pair["refresh"].split(".")[1]

    response = refresh(api_client, f"{header}.{payload}.")

    assert response.status_code == 401


def test_it_rejects_a_refresh_token_claimed_for_another_user(api_client, pair, other_user):
    header, _, signature = pair["refresh"].split(".")
    changed = claims(pair["refresh"]) | {"user_id": str(other_user.pk)}

    response = refresh(api_client, f"{header}.{b64url(json.dumps(changed).encode())}.{signature}")

    assert response.status_code == 401


def test_it_rejects_a_refresh_token_of_a_deactivated_user(api_client, user, pair):
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = refresh(api_client, pair["refresh"])

    assert response.status_code == 401
    assert "access" not in response.json()


def test_it_rejects_a_refresh_token_of_a_deleted_user(api_client, user, pair):
    user.delete()

    response = refresh(api_client, pair["refresh"])

    assert response.status_code == 401


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30."])
def test_it_rejects_a_garbage_refresh_token(api_client, user, garbage):
    response = refresh(api_client, garbage)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_it_asks_for_the_refresh_field(api_client, user):
    response = api_client.post(REFRESH_URL, {}, format="json")

    assert response.status_code == 400
    assert "refresh" in response.json()


# --- Logout ---------------------------------------------------------------------------------


def test_it_logs_out_with_204(api_client, pair):
    response = logout(api_client, pair["refresh"])

    assert response.status_code == 204
    assert response.content == b""


def test_the_logged_out_refresh_token_never_works_again(api_client, pair):
    logout(api_client, pair["refresh"])

    first_try = refresh(api_client, pair["refresh"])
    second_try = refresh(api_client, pair["refresh"])

    assert first_try.status_code == 401
    assert second_try.status_code == 401


def test_it_marks_the_login_revoked_for_logout(api_client, pair):
    logout(api_client, pair["refresh"])

    family = TokenFamily.objects.get(pk=claims(pair["refresh"])["fam"])
    assert family.revoked_at is not None
    assert family.revoked_reason == "logout"


def test_logging_out_with_an_older_token_of_the_login_ends_its_latest_token_too(api_client, pair):
    latest = refresh(api_client, pair["refresh"]).json()

    logout(api_client, pair["refresh"])

    assert refresh(api_client, latest["refresh"]).status_code == 401


def test_it_keeps_other_logins_working_after_a_logout(api_client, user, pair):
    other_login = token_pair(api_client)

    logout(api_client, pair["refresh"])

    response = refresh(api_client, other_login["refresh"])
    assert response.status_code == 200


def test_it_keeps_other_users_logins_working_after_a_logout(api_client, user, other_user, pair):
    theirs = token_pair(api_client, username="outsider")

    logout(api_client, pair["refresh"])

    assert refresh(api_client, theirs["refresh"]).status_code == 200


def test_the_user_can_sign_in_again_after_logging_out(api_client, pair):
    logout(api_client, pair["refresh"])

    fresh = token_pair(api_client)

    assert refresh(api_client, fresh["refresh"]).status_code == 200


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30."])
def test_it_rejects_logging_out_with_a_garbage_token(api_client, user, garbage):
    response = logout(api_client, garbage)

    assert response.status_code == 401


def test_it_rejects_logging_out_with_an_access_token(api_client, pair):
    response = logout(api_client, pair["access"])

    assert response.status_code == 401
    assert refresh(api_client, pair["refresh"]).status_code == 200


def test_it_rejects_logging_out_with_a_token_signed_with_another_key(api_client, pair):
    forged = jwt.encode(claims(pair["refresh"]), "not-the-signing-key-" * 3, algorithm="HS256")

    response = logout(api_client, forged)

    assert response.status_code == 401
    assert refresh(api_client, pair["refresh"]).status_code == 200


def test_it_asks_for_the_refresh_field_to_log_out(api_client, user):
    response = api_client.post(LOGOUT_URL, {}, format="json")

    assert response.status_code == 400
    assert "refresh" in response.json()
