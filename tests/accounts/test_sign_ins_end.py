"""Every way a password changes, and deactivation, ends the member's other sign-ins: every API refresh
token is revoked and every other browser session is signed out. The session that made its own change
stays signed in."""

import io

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.tokens import default_token_generator
from django.core.management import call_command
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import tokens
from accounts.models import User
from tests.factories import PASSWORD
from tests.pages import signed_in_user_id

NEW_PASSWORD = "a brand new passphrase"

pytestmark = pytest.mark.django_db


class SignIns:
    """The member's other sign-ins, made before the change: a browser and an API login."""

    def __init__(self, user: User) -> None:
        self.browser = Client()
        self.browser.force_login(user)
        self.api = tokens.issue_tokens(user)

    def assert_ended(self) -> None:
        response = self.browser.get("/settings/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        with pytest.raises(tokens.RefreshRejected) as rejected:
            tokens.rotate(self.api.refresh)
        assert rejected.value.code in {"token_revoked", "token_not_valid"}


@pytest.fixture
def elsewhere(user) -> SignIns:
    return SignIns(user)


@pytest.fixture
def bystander(other_user):
    """Another member's API login, which nothing here may touch."""
    return tokens.issue_tokens(other_user)


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run what the change schedules for after its transaction commits, as production does."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def reset_link(user: User) -> tuple[str, str]:
    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


def test_a_change_on_the_settings_page_ends_the_other_sign_ins_and_keeps_this_one(
    client, user, elsewhere, bystander, on_commit
):
    client.force_login(user)

    with on_commit():
        client.post(
            "/settings/password/",
            {
                "old_password": PASSWORD,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )

    elsewhere.assert_ended()
    assert client.get("/settings/").status_code == 200
    assert tokens.rotate(bystander.refresh).refresh


def test_a_reset_through_the_api_ends_every_sign_in(api_client, user, elsewhere, on_commit):
    uid, token = reset_link(user)

    with on_commit():
        response = api_client.post(
            "/api/v1/auth/password-reset/confirm/",
            {"uid": uid, "token": token, "new_password": NEW_PASSWORD},
            format="json",
        )

    assert response.status_code == 204
    elsewhere.assert_ended()


def test_a_reset_through_the_site_ends_every_sign_in(client, user, elsewhere, on_commit):
    uid, token = reset_link(user)
    opened = client.get(f"/accounts/reset/{uid}/{token}/")

    with on_commit():
        response = client.post(
            opened["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        )

    assert response.status_code == 302
    elsewhere.assert_ended()


def test_a_password_a_superuser_sets_in_the_admin_ends_the_members_sign_ins(
    admin_client, superuser, user, elsewhere, bystander, on_commit
):
    with on_commit():
        response = admin_client.post(
            f"/admin/accounts/user/{user.pk}/password/",
            {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    elsewhere.assert_ended()
    assert signed_in_user_id(admin_client) == str(superuser.pk)
    assert admin_client.get("/admin/").status_code == 200
    assert tokens.rotate(bystander.refresh).refresh


def test_turning_password_sign_in_off_in_the_admin_ends_the_members_sign_ins(
    admin_client, user, elsewhere, on_commit
):
    with on_commit():
        response = admin_client.post(
            f"/admin/accounts/user/{user.pk}/password/",
            {"usable_password": "false", "unset-password": "1"},
        )

    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.has_usable_password()
    elsewhere.assert_ended()


def test_a_staff_members_own_change_in_the_admin_ends_their_other_sign_ins_only(
    admin_client, superuser, on_commit
):
    their_elsewhere = SignIns(superuser)

    with on_commit():
        response = admin_client.post(
            "/admin/password_change/",
            {
                "old_password": PASSWORD,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )

    assert response.status_code == 302
    their_elsewhere.assert_ended()
    assert admin_client.get("/admin/").status_code == 200


def test_the_changepassword_command_ends_every_sign_in(user, elsewhere, monkeypatch, on_commit):
    monkeypatch.setattr(
        "django.contrib.auth.management.commands.changepassword.getpass.getpass",
        lambda prompt="": NEW_PASSWORD,
    )

    with on_commit():
        call_command("changepassword", "owner", stdout=io.StringIO())

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    elsewhere.assert_ended()


def test_deactivating_a_member_in_the_admin_ends_every_sign_in(
    admin_client, user, elsewhere, on_commit
):
    with on_commit():
        response = admin_client.post(
            f"/admin/accounts/user/{user.pk}/change/",
            {"username": "owner", "email": "owner@example.com", "full_name": "", "bio": ""},
        )

    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_active
    elsewhere.assert_ended()
    # Revoked, not merely refused while inactive: reactivating does not bring the old logins back.
    user.is_active = True
    user.save()
    elsewhere.assert_ended()


def test_nothing_ends_when_a_member_only_edits_their_profile(client, user, elsewhere, on_commit):
    client.force_login(user)

    with on_commit():
        client.post("/settings/", {"full_name": "Ada", "bio": "", "website": ""})

    assert elsewhere.browser.get("/settings/").status_code == 200
    assert tokens.rotate(elsewhere.api.refresh).refresh


def test_sessions_made_before_any_deactivation_keep_djangos_own_hash(user, settings):
    # So no one is signed out when the generation is introduced, or by a key rotation.
    settings.SECRET_KEY_FALLBACKS = ["an older secret key that is still accepted"]

    assert user.sessions_generation == 0
    assert user.get_session_auth_hash() == AbstractBaseUser.get_session_auth_hash(user)
    assert list(user.get_session_auth_fallback_hash()) == list(
        AbstractBaseUser.get_session_auth_fallback_hash(user)
    )


# --- Turning two-factor on ----------------------------------------------------------------------


def test_turning_two_factor_on_ends_the_sign_ins_made_with_the_password_alone(
    client, user, elsewhere, bystander, on_commit
):
    from tests.accounts.helpers import code_for

    client.force_login(user)
    client.post("/settings/two-factor/", {"action": "start"})
    user.refresh_from_db()

    with on_commit():
        response = client.post(
            "/settings/two-factor/", {"action": "confirm", "code": code_for(user.mfa_secret)}
        )

    assert response.status_code == 200  # the recovery codes
    elsewhere.assert_ended()
    assert client.get("/settings/").status_code == 200
    assert tokens.rotate(bystander.refresh).refresh


def test_turning_two_factor_on_through_the_api_revokes_the_password_only_tokens(
    user, elsewhere, on_commit
):
    from rest_framework.test import APIClient

    from tests.accounts.helpers import code_for

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {elsewhere.api.access}")
    api.post("/api/v1/me/mfa/setup/")
    user.refresh_from_db()

    with on_commit():
        response = api.post("/api/v1/me/mfa/confirm/", {"code": code_for(user.mfa_secret)})

    assert response.status_code == 200
    elsewhere.assert_ended()
