"""Signing in to the admin: there is no separate way in. /admin/login/ sends to the site's sign-in
(the second factor, the lockout and the audit apply), and the admin lets a member with two-factor
sign-in in only from a session signed in with it; with MFA_REQUIRED_FOR_STAFF, only staff who have it."""

import logging
from urllib.parse import quote

import pytest
from django.test import Client
from pytest_django.asserts import assertContains, assertRedirects

from accounts import mfa
from tests.accounts.helpers import code_for, enable_mfa, sign_in, wrong_code
from tests.factories import PASSWORD, UserFactory
from tests.pages import signed_in_user_id
from tests.sigma_playground.test_startup import PRODUCTION, manage

ADMIN_LOGIN_URL = "/admin/login/"
SITE_LOGIN_URL = "/accounts/login/"
VERIFY_URL = "/accounts/login/verify/"
MFA_URL = "/settings/two-factor/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_with_mfa(db):
    """A superuser with two-factor sign-in on; returns (user, TOTP secret)."""
    staff = UserFactory(username="chief", is_staff=True, is_superuser=True)
    return staff, enable_mfa(staff)


@pytest.fixture
def staff_without_mfa(db):
    return UserFactory(username="chief", is_staff=True, is_superuser=True)


def post_to_admin_login(client, username="chief", password=PASSWORD, **extra):
    return client.post(
        ADMIN_LOGIN_URL, {"username": username, "password": password, "next": "/admin/"}, **extra
    )


def site_login_url(after: str) -> str:
    return f"{SITE_LOGIN_URL}?next={quote(after, safe='')}"


def enters_the_admin(client) -> bool:
    return client.get("/admin/").status_code == 200


# --- /admin/login/ is the site's sign-in ------------------------------------------------------


def test_the_admin_sign_in_sends_visitors_to_the_sites_sign_in_and_back_to_the_admin(client):
    response = client.get(ADMIN_LOGIN_URL)

    assertRedirects(response, site_login_url("/admin/"))


def test_it_keeps_where_the_visitor_was_going_in_the_admin(client):
    response = client.get("/admin/accounts/user/", follow=True)

    assert response.redirect_chain[-1] == (site_login_url("/admin/accounts/user/"), 302)
    assert response.status_code == 200


def test_it_does_not_send_anyone_to_another_site_after_signing_in(client):
    response = client.get(ADMIN_LOGIN_URL, {"next": "https://evil.example/"})

    assertRedirects(response, site_login_url("/admin/"))


def test_a_password_posted_to_the_admin_sign_in_never_opens_the_admin_without_the_code(
    client, staff_with_mfa
):
    response = post_to_admin_login(client, follow=True)

    # The site's sign-in checked the password and now asks for the code; nobody is signed in yet.
    assert response.redirect_chain[-1][0] == VERIFY_URL
    assert signed_in_user_id(client) is None
    assert not enters_the_admin(client)


def test_the_admin_sign_in_itself_signs_nobody_in(client, staff_with_mfa):
    response = post_to_admin_login(client)

    assert response.status_code == 307
    assert response["Location"] == site_login_url("/admin/")
    assert signed_in_user_id(client) is None


def test_staff_with_two_factor_enter_the_admin_once_they_give_the_code(client, staff_with_mfa):
    staff, secret = staff_with_mfa
    post_to_admin_login(client, follow=True)

    response = client.post(VERIFY_URL, {"code": code_for(secret)})

    assertRedirects(response, "/admin/")
    assert signed_in_user_id(client) == str(staff.pk)


def test_staff_without_two_factor_enter_the_admin_with_the_password_when_it_is_not_required(
    client, staff_without_mfa, settings
):
    settings.MFA_REQUIRED_FOR_STAFF = False

    response = post_to_admin_login(client, follow=True)

    assert response.redirect_chain[-1] == ("/admin/", 302)
    assert response.status_code == 200


def test_twenty_five_wrong_passwords_at_the_admin_sign_in_meet_the_sign_in_lockout(
    client, staff_with_mfa
):
    statuses = [
        post_to_admin_login(client, password=f"guess {n}", follow=True).status_code
        for n in range(25)
    ]

    # Five failures per username, as at the site's form; then 429 whatever the password.
    assert statuses == [400] * 5 + [429] * 20
    response = post_to_admin_login(client, follow=True)
    assert response.status_code == 429
    assert response["Retry-After"].isdigit()
    assert signed_in_user_id(client) is None


# --- The session must carry the second factor -------------------------------------------------


def test_a_session_signed_in_without_the_code_does_not_reach_the_admin(client, staff_with_mfa):
    staff, _ = staff_with_mfa
    client.force_login(staff)  # as any path that skipped the second factor would

    response = client.get("/admin/")

    assertRedirects(response, "/admin/login/?next=/admin/", target_status_code=302)
    assert client.get("/admin/accounts/user/").status_code == 302


def test_turning_two_factor_on_in_this_session_counts_as_the_second_factor(
    client, staff_without_mfa
):
    client.force_login(staff_without_mfa)
    client.post(MFA_URL, {"action": "start"})
    staff_without_mfa.refresh_from_db()

    client.post(MFA_URL, {"action": "confirm", "code": code_for(staff_without_mfa.mfa_secret)})

    assert enters_the_admin(client)


def test_members_who_are_not_staff_still_cannot_enter_the_admin(client, user):
    client.post(SITE_LOGIN_URL, {"username": "owner", "password": PASSWORD})

    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1] == (site_login_url("/admin/"), 302)
    assertContains(response, "You are signed in as owner, who cannot use the admin.")


# --- Staff must have two-factor sign-in (MFA_REQUIRED_FOR_STAFF) -----------------------------


@pytest.fixture
def mfa_required(settings):
    settings.MFA_REQUIRED_FOR_STAFF = True


def test_staff_without_two_factor_are_sent_to_set_it_up_when_they_sign_in(
    client, staff_without_mfa, mfa_required
):
    response = client.post(
        SITE_LOGIN_URL, {"username": "chief", "password": PASSWORD, "next": "/admin/"}, follow=True
    )

    assert response.redirect_chain == [(MFA_URL, 302)]
    assertContains(
        response,
        "Staff need two-factor sign-in. Set it up now to use the admin and your staff powers.",
    )


def test_staff_without_two_factor_cannot_use_the_admin_when_it_is_required(
    client, staff_without_mfa, mfa_required
):
    client.post(SITE_LOGIN_URL, {"username": "chief", "password": PASSWORD})

    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1] == (MFA_URL, 302)
    assert client.get("/admin/accounts/user/").status_code == 302


def test_staff_enter_the_admin_once_they_have_set_two_factor_up(
    client, staff_without_mfa, mfa_required
):
    client.post(SITE_LOGIN_URL, {"username": "chief", "password": PASSWORD})
    client.post(MFA_URL, {"action": "start"})
    staff_without_mfa.refresh_from_db()
    client.post(MFA_URL, {"action": "confirm", "code": code_for(staff_without_mfa.mfa_secret)})

    assert enters_the_admin(client)


def test_members_are_not_asked_for_two_factor_when_staff_are(client, user, mfa_required):
    response = client.post(SITE_LOGIN_URL, {"username": "owner", "password": PASSWORD})

    assertRedirects(response, "/")


def required_in(**env: str) -> str:
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.MFA_REQUIRED_FOR_STAFF)",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("env", "required"),
    [
        pytest.param(PRODUCTION, "True", id="production"),
        pytest.param({**PRODUCTION, "MFA_REQUIRED_FOR_STAFF": "false"}, "False", id="turned off"),
        pytest.param({"DEBUG": "true"}, "False", id="development"),
    ],
)
def test_the_requirement_is_on_in_production_unless_turned_off(env, required):
    assert required_in(**env) == required


# --- One audit, every path --------------------------------------------------------------------


def audit_events(caplog) -> list[tuple]:
    """The sign-in audit events: name, the name tried or the member, address and path."""
    return [
        (r.event, getattr(r, "username", None) or r.actor, r.ip, r.path)
        for r in caplog.records
        if r.name == "sigma_playground.audit" and r.event.startswith(("signin", "lockout"))
    ]


def test_every_sign_in_path_writes_the_same_audit_event(caplog, api_client, user):
    caplog.set_level(logging.INFO, logger="sigma_playground.audit")
    site, admin = Client(), Client()

    site.post(SITE_LOGIN_URL, {"username": "owner", "password": "wrong"}, REMOTE_ADDR="192.0.2.1")
    sign_in(api_client, password="wrong", address="192.0.2.2")
    admin.post(
        ADMIN_LOGIN_URL,
        {"username": "owner", "password": PASSWORD},
        follow=True,
        REMOTE_ADDR="192.0.2.3",
    )

    assert audit_events(caplog) == [
        ("signin_failed", "owner", "192.0.2.1", "/accounts/login/"),
        ("signin_failed", "owner", "192.0.2.2", "/api/v1/auth/token/"),
        ("signin", "owner", "192.0.2.3", "/accounts/login/"),
    ]


def test_it_audits_the_code_step_and_the_lockout(caplog, client, staff_with_mfa, settings):
    settings.SIGNIN_MAX_FAILURES_PER_USERNAME = 1
    caplog.set_level(logging.INFO, logger="sigma_playground.audit")
    _, secret = staff_with_mfa

    post_to_admin_login(client, follow=True)
    client.post(VERIFY_URL, {"code": wrong_code(secret)})
    client.post(VERIFY_URL, {"code": code_for(secret)})

    assert [event[:2] for event in audit_events(caplog)] == [
        ("signin_code_required", "chief"),
        ("signin_failed", "chief"),
        ("lockout", "chief"),
    ]


def test_the_recovery_codes_still_work_as_the_second_factor_for_staff(client, staff_with_mfa):
    staff, _ = staff_with_mfa
    codes = mfa.replace_recovery_codes(staff)
    post_to_admin_login(client, follow=True)

    response = client.post(VERIFY_URL, {"code": codes[0]})

    assertRedirects(response, "/admin/")
