"""POST /api/v1/auth/provider/: an authorization code for our JWT pair, each branch."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from social_django.models import UserSocialAuth

from accounts import suspension
from accounts.models import RetiredUsername, User
from tests.accounts.helpers import code_for, enable_mfa, get_me
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/provider/"
APP = "https://app.example/callback"
VERIFIER = "a-code-verifier-long-enough-for-pkce-0123456789abcdef"


def challenge(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def exchange(api_client, stand_in, provider, whom, **extra):
    code = stand_in.grant(whom, APP, code_challenge=challenge(VERIFIER))
    body = {"provider": provider, "code": code, "redirect_uri": APP, "code_verifier": VERIFIER}
    return api_client.post(URL, {**body, **extra}, format="json")


def assert_pair(api_client, response, username):
    assert response.status_code == 200, response.json()
    assert set(response.json()) == {"access", "refresh"}
    assert get_me(api_client, response.json()["access"]).json()["username"] == username


def test_new_person_chooses_a_username_then_gets_tokens(api_client, oidc):
    oidc.add("ada", "ada@example.com")
    first = exchange(api_client, oidc, "oidc", "ada")
    assert first.status_code == 400
    body = first.json()
    assert body["code"] == "username_required"
    assert body["suggested_username"] == "ada"

    RetiredUsername.objects.create(username="gone", until=timezone.now() + timedelta(days=5))
    retired = api_client.post(
        URL, {"signup_token": body["signup_token"], "username": "gone"}, format="json"
    )
    assert retired.status_code == 400
    assert "username" in retired.json()

    done = api_client.post(
        URL, {"signup_token": body["signup_token"], "username": "ada"}, format="json"
    )
    assert_pair(api_client, done, "ada")
    user = User.objects.get(username="ada")
    assert user.email_verified
    assert not user.has_usable_password()
    # The next exchange signs straight in.
    assert_pair(api_client, exchange(api_client, oidc, "oidc", "ada"), "ada")


def test_verified_address_of_an_account_needs_its_password(api_client, github):
    UserFactory(username="grace", email="grace@example.com")
    github.add("ghopper", "grace@example.com")
    first = exchange(api_client, github, "github", "ghopper")
    assert first.status_code == 401
    assert first.json()["code"] == "link_requires_password"
    token = first.json()["link_token"]

    wrong = api_client.post(URL, {"link_token": token, "password": "nope"}, format="json")
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "wrong_password"
    assert not UserSocialAuth.objects.exists()

    done = api_client.post(URL, {"link_token": token, "password": PASSWORD}, format="json")
    assert_pair(api_client, done, "grace")
    assert UserSocialAuth.objects.get().provider == "github"


def test_unverified_address_of_an_account_is_refused(api_client, oidc):
    UserFactory(username="grace", email="grace@example.com")
    oidc.add("impostor", "grace@example.com", email_verified=False)
    answer = exchange(api_client, oidc, "oidc", "impostor")
    assert answer.status_code == 400
    assert answer.json()["code"] == "email_unusable"
    assert not UserSocialAuth.objects.exists()


def test_second_factor(api_client, oidc):
    grace = UserFactory(username="grace", email="grace@example.com")
    secret = enable_mfa(grace)
    UserSocialAuth.objects.create(user=grace, provider="oidc", uid="sub-grace", id_key="sub")
    oidc.add("grace", "grace@example.com")
    first = exchange(api_client, oidc, "oidc", "grace")
    assert first.status_code == 401
    assert first.json()["code"] == "mfa_required"
    token = first.json()["mfa_token"]

    wrong = api_client.post(URL, {"mfa_token": token, "otp": "000000"}, format="json")
    assert wrong.status_code == 401
    done = api_client.post(URL, {"mfa_token": token, "otp": code_for(secret)}, format="json")
    assert_pair(api_client, done, "grace")


def test_suspended_member_is_refused(api_client, oidc):
    grace = UserFactory(username="grace", email="grace@example.com")
    UserSocialAuth.objects.create(user=grace, provider="oidc", uid="sub-grace", id_key="sub")
    suspension.suspend(grace, until=timezone.now() + timedelta(days=1), reason="Spam")
    oidc.add("grace", "grace@example.com")
    answer = exchange(api_client, oidc, "oidc", "grace")
    assert answer.status_code == 403
    assert answer.json()["code"] == "suspended"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"provider": "nope", "code": "x", "redirect_uri": APP}, "unknown_provider"),
        ({"provider": "oidc", "code": "not-a-code", "redirect_uri": APP}, "provider_error"),
        ({"signup_token": "forged", "username": "ada"}, "token_invalid"),
        ({"link_token": "forged", "password": "x"}, "token_invalid"),
        ({"mfa_token": "forged", "otp": "123456"}, "token_invalid"),
    ],
)
def test_bad_requests_are_400s_with_a_code(api_client, oidc, body, code):
    answer = api_client.post(URL, body, format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == code


def test_missing_fields(api_client, oidc):
    answer = api_client.post(URL, {"provider": "oidc"}, format="json")
    assert answer.status_code == 400
    assert set(answer.json()) >= {"code", "redirect_uri"}


def test_wrong_pkce_verifier_is_refused(api_client, oidc):
    oidc.add("ada", "ada@example.com")
    answer = exchange(api_client, oidc, "oidc", "ada", code_verifier="x" * 50)
    assert answer.status_code == 400
    assert answer.json()["code"] == "provider_error"


def test_provider_down_is_a_400(api_client, oidc):
    oidc.add("ada", "ada@example.com")
    code = oidc.grant("ada", APP)
    oidc.down = True
    answer = api_client.post(
        URL, {"provider": "oidc", "code": code, "redirect_uri": APP}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "provider_error"


def test_failed_exchanges_are_throttled_like_sign_in(api_client, oidc, settings):
    settings.SIGNIN_MAX_FAILURES_PER_ADDRESS = 2
    settings.SIGNIN_MAX_FAILURES_PER_USERNAME = 2
    body = {"provider": "oidc", "code": "bad", "redirect_uri": APP}
    for _ in range(2):
        assert api_client.post(URL, body, format="json").status_code == 400
    limited = api_client.post(URL, body, format="json")
    assert limited.status_code == 429
    assert limited["Retry-After"]


def test_provider_unreachable_is_a_400(api_client, oidc):
    oidc.add("ada", "ada@example.com")
    code = oidc.grant("ada", APP)
    oidc.stop()
    answer = api_client.post(
        URL, {"provider": "oidc", "code": code, "redirect_uri": APP}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "provider_error"
