"""Signing up through an OpenID Connect provider, linking and unlinking a second one, and signing in
again through the first with two-factor authentication on, in a real browser.

The providers are the stand-ins of tests/standins/identity.py, threads of this test process. The
site is pytest-django's `live_server` (in this process too), not `asgi_live_server`: that one is a
separate process configured by its environment, which the test's `settings` fixture cannot reach,
while the providers' addresses (a free port each) are only known once the stand-ins start here.
"""

from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import Page, expect
from social_django.models import UserSocialAuth

from accounts.models import User
from tests.accounts.helpers import code_for
from tests.standins.identity import StandIn, turn_on_github, turn_on_oidc

pytestmark = pytest.mark.browser


@pytest.fixture
def identity_providers(settings):
    oidc, github = StandIn("oidc").start(), StandIn("github").start()
    turn_on_oidc(settings, oidc, label="Acme SSO")
    turn_on_github(settings, github)
    oidc.add("ada", "ada.sso@example.com")
    github.add("ada-gh", "ada.gh@example.com")
    yield oidc, github
    oidc.stop()
    github.stop()


def test_sign_up_link_unlink_and_sign_in_with_two_factor(
    page: Page, live_server, identity_providers
):
    base = live_server.url
    menu = page.get_by_test_id("user-menu")

    # Sign up through the company's provider: its consent page, then our username form.
    page.goto(f"{base}/accounts/signup/")
    page.get_by_role("button", name="Continue with Acme SSO").click()
    page.get_by_role("button", name="Sign in as ada").click()
    expect(page.get_by_role("heading", name="Choose your username")).to_be_visible()
    expect(page.get_by_role("textbox", name="Username")).to_have_value("ada")
    page.get_by_role("textbox", name="Username").fill("ada-sso")
    page.get_by_role("button", name="Create my account").click()
    expect(menu.locator(".menu__name")).to_have_text("ada-sso")
    member = User.objects.get(username="ada-sso")
    assert member.email_verified
    assert not member.has_usable_password()

    # Link the GitHub-like provider in Settings, then unlink it. Without a password, the member
    # first signs in again with the provider they have, to confirm it is them.
    page.goto(f"{base}/settings/")
    page.get_by_role("link", name="Link GitHub").click()
    expect(page.get_by_role("heading", name="Link GitHub")).to_be_visible()
    page.get_by_role("button", name="Sign in again with Acme SSO").click()
    page.get_by_role("button", name="Sign in as ada").click()
    page.get_by_role("button", name="Continue to GitHub").click()
    page.get_by_role("button", name="Sign in as ada-gh").click()
    expect(page).to_have_url(f"{base}/settings/")
    expect(page.get_by_role("status")).to_contain_text("GitHub is linked")
    assert set(UserSocialAuth.objects.values_list("provider", flat=True)) == {"oidc", "github"}
    page.get_by_role("button", name="Unlink GitHub").click()
    expect(page.get_by_role("status")).to_contain_text("GitHub is unlinked")
    expect(page.get_by_role("link", name="Link GitHub")).to_be_visible()
    # The provider it signed up with is its only way in now: that one stays.
    page.get_by_role("button", name="Unlink Acme SSO").click()
    expect(page.get_by_role("status")).to_contain_text("the only way you sign in")
    assert list(UserSocialAuth.objects.values_list("provider", flat=True)) == ["oidc"]

    # Two-factor authentication on.
    page.goto(f"{base}/settings/two-factor/")
    page.get_by_role("button", name="Set up two-factor authentication").click()
    secret = page.locator("code.secret").inner_text()
    page.get_by_role("textbox", name="Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator(".messages[role=status]")).to_contain_text(
        "Two-factor authentication is on"
    )

    # Out, and in again through the provider: the second factor is asked for.
    page.goto(f"{base}/")
    menu.click()
    page.get_by_role("button", name="Sign out").click()
    expect(menu).to_have_count(0)
    page.goto(f"{base}/accounts/login/")
    page.get_by_role("button", name="Continue with Acme SSO").click()
    page.get_by_role("button", name="Sign in as ada").click()
    expect(page).to_have_url(f"{base}/accounts/login/verify/")
    expect(menu).to_have_count(0)
    page.get_by_role("textbox", name="Code").fill(code_for(secret, steps_ahead=1))
    page.get_by_role("button", name="Verify and sign in").click()
    expect(menu.locator(".menu__name")).to_have_text("ada-sso")
