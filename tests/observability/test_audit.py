"""Audit events: sign-ins, lockouts, sign-outs, two-factor changes, passwords, roles and admin
actions are logged with who, what and from where, and never with a secret."""

from __future__ import annotations

import logging
import re

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from accounts.roles import CURATORS_GROUP
from tests.accounts.helpers import code_for, enable_mfa, sign_in, token_pair
from tests.factories import PASSWORD

LOGIN_URL = "/accounts/login/"
NEW_PASSWORD = "a brand new passphrase 9"

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(caplog):
    """The audit records logged meanwhile; each checked for secrets."""
    caplog.set_level(logging.INFO, logger="sigma_playground.audit")
    secrets: list[str] = [PASSWORD, NEW_PASSWORD]

    def records(name: str | None = None) -> list[logging.LogRecord]:
        found = [r for r in caplog.records if r.name == "sigma_playground.audit"]
        for record in found:
            text = record.getMessage() + repr(vars(record))
            for secret in secrets:
                assert secret not in text, record.getMessage()
            assert "@example.com" not in text  # no email address
            assert not re.search(r"\b\d{6}\b", record.getMessage())  # no TOTP code
        return [r for r in found if name is None or r.event == name]

    records.secrets = secrets
    return records


def test_a_web_sign_in_names_the_member_the_method_and_the_address(client, user, events):
    client.post(LOGIN_URL, {"username": "owner", "password": PASSWORD}, REMOTE_ADDR="192.0.2.7")

    (record,) = events("signin")
    assert (record.actor_id, record.actor, record.method) == (user.pk, "owner", "web")
    assert record.ip == "192.0.2.7"
    assert re.fullmatch(r"[0-9a-f]{32}", record.request_id)
    assert record.getMessage().startswith("signin ")
    assert "actor='owner'" in record.getMessage()


def test_an_api_sign_in_and_a_failed_one(api_client, user, events):
    sign_in(api_client, password="wrong", address="192.0.2.8")
    sign_in(api_client, address="192.0.2.9")

    (failed,) = events("signin_failed")
    assert (failed.actor_id, failed.username, failed.ip) == (None, "owner", "192.0.2.8")
    assert failed.reason == "wrong username or password"
    (signed_in,) = events("signin")
    assert (signed_in.actor_id, signed_in.method, signed_in.ip) == (user.pk, "api", "192.0.2.9")


def test_a_sign_in_with_the_second_factor_is_audited_without_the_code(client, user, events):
    secret = enable_mfa(user)
    client.post(LOGIN_URL, {"username": "owner", "password": PASSWORD})
    code = code_for(secret)

    client.post("/accounts/login/verify/", {"code": code})

    (record,) = events("signin")
    assert (record.actor_id, record.method) == (user.pk, "web")
    assert code not in repr(vars(record))


def test_a_lockout_names_its_guard(client, user, settings, events):
    settings.SIGNIN_MAX_FAILURES_PER_USERNAME = 1
    client.post(LOGIN_URL, {"username": "owner", "password": "wrong"})

    response = client.post(LOGIN_URL, {"username": "owner", "password": PASSWORD})

    assert response.status_code == 429
    (record,) = events("lockout")
    assert (record.guard, record.username) == ("signin", "owner")


def test_a_sign_up_lockout(client, settings, events):
    settings.SIGNUP_MAX_PER_ADDRESS = 1
    body = {"username": "newbie", "email": "newbie@example.net", "password1": "x", "password2": "y"}
    client.post("/accounts/signup/", body)

    assert client.post("/accounts/signup/", body).status_code == 429

    (record,) = events("lockout")
    assert record.guard == "signup"


def test_a_sign_up_names_the_new_member(client, events):
    password = "a long enough passphrase 7"
    events.secrets.append(password)
    body = {"username": "newbie", "email": "newbie@example.net"}

    client.post("/accounts/signup/", {**body, "password1": password, "password2": password})

    (record,) = events("signup")
    assert record.actor == "newbie"
    assert "newbie@example.net" not in repr(vars(record))


def test_signing_out_on_the_site_and_through_the_api(client, api_client, user, events):
    client.force_login(user)
    client.post("/accounts/logout/")
    refresh_token = token_pair(api_client)["refresh"]
    events.secrets.append(refresh_token)

    api_client.post("/api/v1/auth/logout/", {"refresh": refresh_token}, format="json")

    assert [(r.actor_id, r.method) for r in events("signout")] == [
        (user.pk, "web"),
        (user.pk, "api"),
    ]


def test_turning_two_factor_on_and_off(auth_client, user, events):
    secret = auth_client.post("/api/v1/me/mfa/setup/").json()["secret"]
    events.secrets.append(secret)
    codes = auth_client.post(
        "/api/v1/me/mfa/confirm/", {"code": code_for(secret)}, format="json"
    ).json()["recovery_codes"]
    events.secrets.extend(codes)

    auth_client.post("/api/v1/me/mfa/disable/", {"code": codes[0]}, format="json")

    assert [(r.event, r.actor_id) for r in events() if r.event.startswith("mfa")] == [
        ("mfa_enabled", user.pk),
        ("mfa_disabled", user.pk),
    ]


def test_a_password_change_on_the_settings_page(client, user, events):
    client.force_login(user)

    client.post(
        "/settings/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        REMOTE_ADDR="192.0.2.10",
    )

    (record,) = events("password_changed")
    assert (record.actor_id, record.subject_id, record.ip) == (user.pk, user.pk, "192.0.2.10")


def test_a_password_reset_through_the_api(api_client, user, events):
    api_client.post("/api/v1/auth/password-reset/", {"email": user.email}, format="json")
    (message,) = mail.outbox
    found = re.search(r"uid=(?P<uid>[\w-]+) and token=(?P<token>[\w-]+)", message.body)
    events.secrets.append(found["token"])

    api_client.post(
        "/api/v1/auth/password-reset/confirm/",
        {"uid": found["uid"], "token": found["token"], "new_password": NEW_PASSWORD},
        format="json",
    )

    (record,) = events("password_reset")
    assert (record.actor_id, record.subject_id) == (None, user.pk)
    assert events("password_changed") == []


def test_role_changes_name_the_member_and_what_changed(user, events):
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name=CURATORS_GROUP))
    user.groups.remove(Group.objects.get(name=CURATORS_GROUP))
    user.save()  # nothing changed: no event
    user.is_active = False
    user.save(update_fields=["is_active"])

    changes = [(r.subject_id, r.changes) for r in events("role_changed")]
    assert changes == [
        (user.pk, {"is_staff": [False, True]}),
        (user.pk, {"groups": {"added": [CURATORS_GROUP]}}),
        (user.pk, {"groups": {"removed": [CURATORS_GROUP]}}),
        (user.pk, {"is_active": [True, False]}),
    ]


def test_an_admin_action_names_the_admin_the_action_and_the_object(admin_client, superuser, events):
    response = admin_client.post("/admin/auth/group/add/", {"name": "Editors"})

    assert response.status_code == 302
    (record,) = events("admin_action")
    assert (record.actor_id, record.action) == (superuser.pk, "added")
    assert (record.content_type, record.object_repr) == ("auth.group", "Editors")


def test_a_secret_passed_by_mistake_is_left_out(events):
    from sigma_playground.observability import audit

    audit.event("signin", password=PASSWORD, otp_code="123456", refresh_token="x.y.z", kept=1)

    (record,) = events("signin")
    assert record.kept == 1
    assert not hasattr(record, "password")
    assert not hasattr(record, "refresh_token")


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("owner@example.com", id="an-email-address"),
        pytest.param("my secret passphrase", id="a-password"),
        pytest.param("x" * 31, id="too-long"),
    ],
)
def test_a_refused_sign_in_names_what_was_typed_only_when_it_can_be_a_username(
    client, user, events, typed
):
    events.secrets.append(typed)
    client.post(LOGIN_URL, {"username": typed, "password": "wrong"})

    (record,) = events("signin_failed")
    assert record.username == "<not a username>"
