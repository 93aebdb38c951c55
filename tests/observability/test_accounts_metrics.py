"""Sign-ups, sign-ins by method and lockouts by guard are counted for Prometheus."""

from __future__ import annotations

import pytest

from tests.accounts.helpers import code_for, enable_mfa, sign_in
from tests.factories import PASSWORD
from tests.observability.conftest import Counted

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"


def test_a_sign_up_on_the_page_and_through_the_api_are_counted(client, api_client):
    password = "a long enough passphrase 7"
    with Counted("signups_total") as signups:
        client.post(
            "/accounts/signup/",
            {
                "username": "newbie",
                "email": "newbie@example.net",
                "password1": password,
                "password2": password,
            },
        )
        api_client.post(
            "/api/v1/auth/register/",
            {"username": "other", "email": "other@example.net", "password": password},
            format="json",
        )

    assert signups.change == 2


def test_sign_ins_are_counted_by_method_and_failures_are_not(client, api_client, user):
    with (
        Counted("signins_total", method="web") as web,
        Counted("signins_total", method="api") as api,
    ):
        client.post(LOGIN_URL, {"username": "owner", "password": "wrong"})
        client.post(LOGIN_URL, {"username": "owner", "password": PASSWORD})
        sign_in(api_client)

    assert (web.change, api.change) == (1, 1)


def test_a_two_step_sign_in_counts_once(client, user):
    secret = enable_mfa(user)
    with Counted("signins_total", method="web") as web:
        client.post(LOGIN_URL, {"username": "owner", "password": PASSWORD})
        client.post("/accounts/login/verify/", {"code": code_for(secret)})

    assert web.change == 1


def test_lockouts_are_counted_by_guard(client, auth_client, user, settings):
    settings.SIGNIN_MAX_FAILURES_PER_USERNAME = 1
    settings.SIGNUP_MAX_PER_ADDRESS = 1
    signup = {"username": "newbie", "email": "newbie@example.net", "password1": "x"}
    with (
        Counted("lockouts_total", guard="signin") as signin,
        Counted("lockouts_total", guard="signup") as signup_guard,
        Counted("lockouts_total", guard="code") as code,
    ):
        client.post(LOGIN_URL, {"username": "owner", "password": "wrong"})
        assert client.post(LOGIN_URL, {"username": "owner", "password": "wrong"}).status_code == 429
        client.post("/accounts/signup/", signup)
        assert client.post("/accounts/signup/", signup).status_code == 429
        # The code guard shares the member's lockout, now reached.
        auth_client.post("/api/v1/me/mfa/setup/")
        answer = auth_client.post("/api/v1/me/mfa/confirm/", {"code": "000000"}, format="json")
        assert answer.status_code == 429

    assert (signin.change, signup_guard.change, code.change) == (1, 1, 1)
