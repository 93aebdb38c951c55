"""A provider's verified address that is an account's links to it, after that account's password;
an unverified address never links. Two-factor sign-in and suspension still apply."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from social_django.models import UserSocialAuth

from accounts import suspension
from accounts.models import User
from tests.accounts.helpers import code_for, enable_mfa
from tests.accounts.provider_flow import follow, sign_in_with
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def grace(db):
    return UserFactory(username="grace", email="grace@example.com")


def test_verified_matching_address_links_after_the_password(client, oidc, grace):
    oidc.add("ghopper", "Grace@Example.com")
    answer = sign_in_with(client, oidc, "oidc", "ghopper", next_page="/explore/")
    assert answer["Location"] == "/accounts/provider/link/"
    assert "grace@example.com".lower() in client.get(answer["Location"]).content.decode().lower()

    wrong = client.post("/accounts/provider/link/", {"password": "not it"})
    assert wrong.status_code == 400
    assert "not the password" in wrong.content.decode()
    assert not UserSocialAuth.objects.exists()

    done = follow(client, client.post("/accounts/provider/link/", {"password": PASSWORD}))
    assert done["Location"] == "/explore/"
    assert UserSocialAuth.objects.get(provider="oidc").user == grace
    assert User.objects.count() == 1
    assert client.get("/settings/").status_code == 200


def test_wrong_passwords_are_throttled_like_sign_in(client, oidc, grace, settings):
    settings.SIGNIN_MAX_FAILURES_PER_USERNAME = 2
    oidc.add("ghopper", "grace@example.com")
    sign_in_with(client, oidc, "oidc", "ghopper")
    for _ in range(2):
        assert client.post("/accounts/provider/link/", {"password": "nope"}).status_code == 400
    throttled = client.post("/accounts/provider/link/", {"password": PASSWORD})
    assert throttled.status_code == 429
    assert throttled["Retry-After"]
    assert not UserSocialAuth.objects.exists()


def test_unverified_matching_address_never_links(client, oidc, grace):
    oidc.add("impostor", "grace@example.com", email_verified=False)
    refused = sign_in_with(client, oidc, "oidc", "impostor")
    assert refused.status_code == 403
    assert "did not confirm that the address is yours" in refused.content.decode()
    assert client.get("/accounts/provider/link/")["Location"] == "/accounts/login/"
    assert not UserSocialAuth.objects.exists()
    assert User.objects.count() == 1


def test_unmatched_verified_address_makes_a_new_account_not_a_link(client, oidc, grace):
    oidc.add("someone", "someone@example.com")
    assert sign_in_with(client, oidc, "oidc", "someone")["Location"] == (
        "/accounts/provider/username/"
    )


def test_two_factor_still_applies_after_a_provider_sign_in(client, oidc, grace):
    secret = enable_mfa(grace)
    UserSocialAuth.objects.create(user=grace, provider="oidc", uid="sub-grace", id_key="sub")
    oidc.add("grace", "grace@example.com")
    answer = sign_in_with(client, oidc, "oidc", "grace", next_page="/explore/")
    assert answer["Location"] == "/accounts/login/verify/"
    assert client.get("/settings/").status_code == 302  # not signed in yet
    done = client.post("/accounts/login/verify/", {"code": code_for(secret)})
    assert done["Location"] == "/explore/"
    assert client.get("/settings/").status_code == 200


def test_two_factor_applies_after_a_link_too(client, oidc, grace):
    enable_mfa(grace)
    oidc.add("ghopper", "grace@example.com")
    sign_in_with(client, oidc, "oidc", "ghopper")
    linked = follow(client, client.post("/accounts/provider/link/", {"password": PASSWORD}))
    assert linked["Location"] == "/accounts/login/verify/"
    assert client.get("/settings/").status_code == 302


def test_inactive_and_suspended_members_are_refused(client, oidc, grace):
    UserSocialAuth.objects.create(user=grace, provider="oidc", uid="sub-grace", id_key="sub")
    oidc.add("grace", "grace@example.com")
    suspension.suspend(grace, until=timezone.now() + timedelta(days=3), reason="Spam links")
    refused = sign_in_with(client, oidc, "oidc", "grace")
    assert refused.status_code == 403
    assert "Spam links" in refused.content.decode()
    assert client.get("/settings/").status_code == 302

    grace.refresh_from_db()
    grace.suspended_until = None
    grace.is_active = False
    grace.save()
    refused = sign_in_with(client, oidc, "oidc", "grace")
    assert refused.status_code == 403
    assert "deactivated" in refused.content.decode()
