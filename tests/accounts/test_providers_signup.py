"""A first sign-in with a provider makes an account, once the member chooses a username."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from social_django.models import UserSocialAuth

from accounts.models import RetiredUsername, User
from tests.accounts.provider_flow import follow, sign_in_with
from tests.factories import UserFactory
from tests.standins.identity import CLIENT_ID, CLIENT_SECRET

pytestmark = pytest.mark.django_db


def test_buttons_show_only_configured_providers(client, settings, oidc):
    settings.SOCIAL_AUTH_GITHUB_KEY = ""
    page = client.get("/accounts/login/").content.decode()
    assert "Continue with Acme SSO" in page
    assert "Continue with GitHub" not in page
    assert "Continue with Acme SSO" in client.get("/accounts/signup/").content.decode()


def test_first_sign_in_asks_for_a_username_then_makes_a_verified_account(client, oidc):
    oidc.add("ada", "ada@example.com")
    answer = sign_in_with(client, oidc, "oidc", "ada", next_page="/explore/")
    assert answer["Location"] == "/accounts/provider/username/"
    form = client.get("/accounts/provider/username/")
    assert form.status_code == 200
    assert 'value="ada"' in form.content.decode()  # prefilled from the provider

    resumed = client.post("/accounts/provider/username/", {"username": "Ada-L"})
    done = follow(client, resumed)

    assert done.status_code == 302
    assert done["Location"] == "/explore/"
    user = User.objects.get(username="Ada-L")
    assert user.email == "ada@example.com"
    assert user.email_verified is True
    assert not user.has_usable_password()
    assert UserSocialAuth.objects.get(user=user).provider == "oidc"
    assert client.get("/settings/").status_code == 200  # signed in


def test_unverified_address_makes_an_unverified_account(client, oidc):
    oidc.add("bob", "bob@example.com", email_verified=False)
    sign_in_with(client, oidc, "oidc", "bob")
    follow(client, client.post("/accounts/provider/username/", {"username": "bob"}))
    assert User.objects.get(username="bob").email_verified is False


def test_the_next_sign_in_goes_straight_in(client, oidc):
    oidc.add("ada", "ada@example.com")
    sign_in_with(client, oidc, "oidc", "ada")
    follow(client, client.post("/accounts/provider/username/", {"username": "ada"}))
    client.logout()
    again = sign_in_with(client, oidc, "oidc", "ada")
    assert again.status_code == 302
    assert again["Location"] == "/"
    assert User.objects.count() == 1
    assert client.get("/settings/").status_code == 200


@pytest.mark.parametrize(
    ("username", "why"),
    [
        ("TAKEN", "That username is taken."),
        ("retired", "used recently by an account that has been deleted"),
        ("-bad-", "Use letters, digits"),
        ("ab", "at least 3 characters"),
    ],
)
def test_username_is_checked_like_sign_up(client, oidc, username, why):
    UserFactory(username="taken")
    RetiredUsername.objects.create(username="retired", until=timezone.now() + timedelta(days=9))
    oidc.add("ada", "ada@example.com")
    sign_in_with(client, oidc, "oidc", "ada")
    refused = client.post("/accounts/provider/username/", {"username": username})
    assert refused.status_code == 400
    assert why in refused.content.decode()
    assert not User.objects.filter(email="ada@example.com").exists()


def test_a_retired_username_whose_time_is_over_can_be_taken(client, oidc):
    RetiredUsername.objects.create(username="old", until=timezone.now() - timedelta(days=1))
    oidc.add("ada", "ada@example.com")
    sign_in_with(client, oidc, "oidc", "ada")
    follow(client, client.post("/accounts/provider/username/", {"username": "old"}))
    assert User.objects.filter(username="old").exists()


def test_github_sign_up_reads_the_verified_primary_address(client, github):
    github.add("octo", "octo@example.com")
    answer = sign_in_with(client, github, "github", "octo")
    assert answer["Location"] == "/accounts/provider/username/"
    follow(client, client.post("/accounts/provider/username/", {"username": "octo"}))
    user = User.objects.get(username="octo")
    assert user.email_verified is True
    assert UserSocialAuth.objects.get(user=user).extra_data["login"] == "octo"


def test_choose_username_without_a_sign_in_under_way_starts_again(client):
    assert client.get("/accounts/provider/username/")["Location"] == "/accounts/login/"


def test_the_pages_csp_lets_the_buttons_lead_to_the_provider(client, oidc, settings):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    assert f"form-action 'self' {oidc.url}" in policy
    settings.SOCIAL_AUTH_OIDC_KEY = ""  # switched off: no longer allowed
    assert oidc.url not in client.get("/accounts/login/")["Content-Security-Policy"]


def test_google_through_openid_connect(client, oidc, settings):
    # Google's backend pointed at the stand-in (its discovery, keys and userinfo).
    settings.GOOGLE_OIDC_ENDPOINT = oidc.url
    settings.SOCIAL_AUTH_GOOGLE_KEY = CLIENT_ID
    settings.SOCIAL_AUTH_GOOGLE_SECRET = CLIENT_SECRET
    assert "Continue with Google" in client.get("/accounts/login/").content.decode()
    oidc.add("gwen", "gwen@example.com")
    assert sign_in_with(client, oidc, "google", "gwen")["Location"] == (
        "/accounts/provider/username/"
    )
    follow(client, client.post("/accounts/provider/username/", {"username": "gwen"}))
    assert UserSocialAuth.objects.get(user__username="gwen").provider == "google"


def test_provider_sign_ups_spend_the_sign_up_budget_per_address(client, oidc, settings):
    settings.SIGNUP_MAX_PER_ADDRESS = 1
    oidc.add("ada", "ada@example.com")
    sign_in_with(client, oidc, "oidc", "ada")
    assert client.post("/accounts/provider/username/", {"username": "TAKEN!"}).status_code == 400
    limited = client.post("/accounts/provider/username/", {"username": "ada"})
    assert limited.status_code == 429
    assert limited["Retry-After"]
    assert not User.objects.exists()
