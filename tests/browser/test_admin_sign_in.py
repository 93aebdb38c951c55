"""Staff reach the admin through the site's own sign-in, with their code, in a real browser."""

import re
from urllib.parse import quote

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.accounts.helpers import enable_mfa
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser


def fill_password(page: Page, username: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_staff_with_two_factor_go_from_the_admin_to_the_sites_sign_in_and_back(
    page: Page, live_server
):
    staff = UserFactory(username="chief", is_staff=True, is_superuser=True)
    secret = enable_mfa(staff)

    page.goto(f"{live_server.url}/admin/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next={quote('/admin/', safe='')}")
    fill_password(page, "chief")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.goto(f"{live_server.url}/admin/")  # the password alone opened nothing
    expect(page).to_have_url(re.compile(r"/accounts/login/"))

    fill_password(page, "chief")
    page.get_by_role("textbox", name="Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Verify and sign in").click()

    expect(page).to_have_url(f"{live_server.url}/admin/")
    expect(page.get_by_role("heading", name="Curate the gallery")).to_be_visible()


def test_staff_without_two_factor_set_it_up_before_the_admin_lets_them_in(
    page: Page, live_server, settings
):
    settings.MFA_REQUIRED_FOR_STAFF = True
    UserFactory(username="chief", is_staff=True, is_superuser=True)

    page.goto(f"{live_server.url}/admin/")
    fill_password(page, "chief")

    expect(page).to_have_url(f"{live_server.url}/settings/two-factor/")
    expect(page.get_by_role("status")).to_contain_text("Staff need two-factor sign-in.")
    page.goto(f"{live_server.url}/admin/")
    expect(page).to_have_url(f"{live_server.url}/settings/two-factor/")

    page.get_by_role("button", name="Set up two-factor authentication").click()
    secret = page.locator("code.secret").inner_text()
    page.get_by_role("textbox", name="Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    # The flash message (the recovery codes' Copy button has a status of its own beside it).
    expect(page.locator(".messages[role=status]")).to_contain_text(
        "Two-factor authentication is on."
    )

    page.goto(f"{live_server.url}/admin/")
    expect(page.get_by_role("heading", name="Curate the gallery")).to_be_visible()
