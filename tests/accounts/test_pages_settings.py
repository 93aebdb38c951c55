"""Settings: the profile form, the password, and turning two-factor authentication on and off."""

import re

import pytest
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from accounts import mfa, tokens
from accounts.models import RecoveryCode, TokenFamily
from tests.accounts.helpers import code_for, wrong_code
from tests.factories import WorkbookFactory
from tests.pages import error_by_field, signed_in_user_id
from workbooks import selectors as workbook_selectors

SETTINGS_URL = "/settings/"
PASSWORD_URL = "/settings/password/"
MFA_URL = "/settings/two-factor/"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def owner_client(client, user):
    client.force_login(user)
    return client


# --- Who may see what ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", [SETTINGS_URL, PASSWORD_URL, MFA_URL])
@pytest.mark.django_db
def test_it_sends_anonymous_visitors_to_sign_in_first(client, url):
    response = client.get(url)

    assertRedirects(response, f"/accounts/login/?next={url}")


@pytest.mark.django_db
def test_it_shows_the_owner_their_own_account(owner_client, user):
    response = owner_client.get(SETTINGS_URL)

    assert response.status_code == 200
    assertContains(response, "Signed in as <strong>owner</strong> (owner@example.com).")
    assertContains(response, f'value="{user.full_name}"')


@pytest.mark.django_db
def test_it_shows_another_member_their_account_and_nothing_of_the_owners(client, user, other_user):
    user.bio = "Owner's private draft bio"
    user.save()
    client.force_login(other_user)

    response = client.get(SETTINGS_URL)

    assertContains(response, "Signed in as <strong>outsider</strong> (outsider@example.com).")
    assertNotContains(response, "owner@example.com")
    assertNotContains(response, "private draft bio")


@pytest.mark.django_db
def test_it_only_changes_the_signed_in_members_own_profile(client, user, other_user):
    client.force_login(other_user)

    client.post(
        SETTINGS_URL, {"full_name": "Taken Over", "bio": "", "website": "", "username": "owner"}
    )

    user.refresh_from_db()
    other_user.refresh_from_db()
    assert user.full_name != "Taken Over"
    assert other_user.full_name == "Taken Over"
    assert other_user.username == "outsider"


# --- Profile ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_saves_the_profile_and_says_so(owner_client, user):
    response = owner_client.post(
        SETTINGS_URL,
        {"full_name": "Ada Lovelace", "bio": "Analyst.", "website": "https://ada.example"},
        follow=True,
    )

    assertRedirects(response, SETTINGS_URL)
    assertContains(response, "Your profile is saved.")
    user.refresh_from_db()
    assert (user.full_name, user.bio, user.website) == (
        "Ada Lovelace",
        "Analyst.",
        "https://ada.example",
    )


@pytest.mark.django_db
def test_it_adds_https_to_a_website_typed_without_a_scheme(owner_client, user):
    owner_client.post(SETTINGS_URL, {"full_name": "Ada", "bio": "", "website": "ada.example"})

    user.refresh_from_db()
    assert user.website == "https://ada.example"


@pytest.mark.parametrize("website", ["javascript:alert(1)", "ftp://files.example/", "not a url"])
@pytest.mark.django_db
def test_it_refuses_a_website_that_is_not_an_http_address(owner_client, user, website):
    response = owner_client.post(SETTINGS_URL, {"full_name": "Ada", "bio": "", "website": website})

    assert response.status_code == 400
    assert error_by_field(response, "website")
    user.refresh_from_db()
    assert user.website == ""


@pytest.mark.django_db
def test_it_refuses_a_bio_over_500_characters(owner_client, user):
    response = owner_client.post(
        SETTINGS_URL, {"full_name": "Ada", "bio": "x" * 501, "website": ""}
    )

    assert response.status_code == 400
    assert "at most 500 characters" in error_by_field(response, "bio")
    user.refresh_from_db()
    assert user.bio == ""


@pytest.mark.django_db
def test_it_keeps_showing_the_saved_name_in_the_menu_when_the_form_is_refused(owner_client, user):
    saved_name = user.full_name

    response = owner_client.post(
        SETTINGS_URL, {"full_name": "Unsaved Name", "bio": "", "website": "javascript:alert(1)"}
    )

    assert response.status_code == 400
    assertContains(
        response,
        f'<span class="menu__name">{saved_name}</span>',
        status_code=400,
    )
    assertContains(response, 'value="Unsaved Name"', status_code=400)


# --- Password -----------------------------------------------------------------------------------


def change_password(client, old: str, new: str = NEW_PASSWORD):
    return client.post(
        PASSWORD_URL, {"old_password": old, "new_password1": new, "new_password2": new}
    )


@pytest.mark.django_db
def test_it_changes_the_password_and_keeps_the_member_signed_in(owner_client, user, password):
    response = change_password(owner_client, password)

    assertRedirects(response, SETTINGS_URL, fetch_redirect_response=False)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert signed_in_user_id(owner_client) == str(user.pk)
    page = owner_client.get(SETTINGS_URL)
    assert page.status_code == 200
    assertContains(page, "Your password is changed. Other devices have been signed out.")


@pytest.mark.django_db
def test_it_signs_out_the_members_other_browsers_on_a_password_change(owner_client, user, password):
    elsewhere = Client()
    elsewhere.force_login(user)

    change_password(owner_client, password)

    assertRedirects(elsewhere.get(SETTINGS_URL), f"/accounts/login/?next={SETTINGS_URL}")


@pytest.mark.django_db
def test_it_revokes_the_members_api_tokens_on_a_password_change(
    owner_client, user, other_user, password, django_capture_on_commit_callbacks
):
    mine = tokens.issue_tokens(user)
    theirs = tokens.issue_tokens(other_user)

    with django_capture_on_commit_callbacks(execute=True):
        change_password(owner_client, password)

    with pytest.raises(tokens.RefreshRejected) as rejected:
        tokens.rotate(mine.refresh)
    assert rejected.value.code == "token_revoked"
    assert TokenFamily.objects.get(user=user).revoked_reason == "password"
    assert tokens.rotate(theirs.refresh).refresh


@pytest.mark.django_db
def test_it_refuses_a_wrong_current_password_by_its_field(owner_client, user, password):
    response = change_password(owner_client, "not my password")

    assert response.status_code == 400
    assert "incorrect" in error_by_field(response, "old_password")
    user.refresh_from_db()
    assert user.check_password(password)


@pytest.mark.django_db
def test_it_refuses_a_weak_new_password_by_its_field(owner_client, user, password):
    response = change_password(owner_client, password, new="12345678")

    assert response.status_code == 400
    assert "too common" in error_by_field(response, "new_password2")
    user.refresh_from_db()
    assert user.check_password(password)


# --- Two-factor authentication ------------------------------------------------------------------


def start_setup(client, user) -> str:
    """Press "Set up"; returns the secret the page now shows."""
    assertRedirects(client.post(MFA_URL, {"action": "start"}), MFA_URL)
    user.refresh_from_db()
    return user.mfa_secret


def turn_on(client, user) -> list[str]:
    secret = start_setup(client, user)
    response = client.post(MFA_URL, {"action": "confirm", "code": code_for(secret)})
    assert response.status_code == 200
    return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", response.content.decode())


@pytest.mark.django_db
def test_it_offers_to_set_up_two_factor_when_it_is_off(owner_client):
    settings_page = owner_client.get(SETTINGS_URL)
    mfa_page = owner_client.get(MFA_URL)

    assertContains(settings_page, '<span class="badge">Off</span>')
    assertContains(mfa_page, "Set up two-factor authentication")
    assertNotContains(mfa_page, '<figure class="qr">')  # no QR code before setup starts


@pytest.mark.django_db
def test_it_shows_a_qr_code_drawn_on_the_server_and_the_key_to_type(owner_client, user):
    secret = start_setup(owner_client, user)

    response = owner_client.get(MFA_URL)

    page = response.content.decode()
    figure = re.search(r'<figure class="qr">(.*?)</figure>', page, re.S)[1]
    assert figure.lstrip().startswith("<svg")
    assert "<path" in figure
    assert f'<code class="secret">{secret}</code>' in figure
    # Drawn on the server: no script on the page but the site's own files, none inline.
    assert re.findall(r"<script\b(?![^>]*\bsrc=\"/static/js/)", page) == []
    assert len(secret) >= 16
    user.refresh_from_db()
    assert not user.mfa_enabled


@pytest.mark.django_db
def test_it_shows_each_member_only_their_own_setup_key(client, user, other_user):
    client.force_login(user)
    secret = start_setup(client, user)

    outsider = Client()
    outsider.force_login(other_user)
    response = outsider.get(MFA_URL)

    assertNotContains(response, secret)
    assertContains(response, "Set up two-factor authentication")


def cache_control(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",")}


@pytest.mark.django_db
def test_no_cache_keeps_the_page_that_shows_the_setup_key(owner_client, user):
    start_setup(owner_client, user)

    response = owner_client.get(MFA_URL)

    assertContains(response, user.mfa_secret)
    assert {"no-store", "private"} <= cache_control(response)


@pytest.mark.django_db
def test_no_cache_keeps_the_page_that_shows_the_recovery_codes(owner_client, user):
    secret = start_setup(owner_client, user)

    response = owner_client.post(MFA_URL, {"action": "confirm", "code": code_for(secret)})

    assertContains(response, "<li><code>")
    assert {"no-store", "private"} <= cache_control(response)


@pytest.mark.django_db
def test_it_turns_two_factor_on_with_a_code_and_shows_ten_recovery_codes(owner_client, user):
    codes = turn_on(owner_client, user)

    user.refresh_from_db()
    assert user.mfa_enabled
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert mfa.use_recovery_code(user, codes[0])


@pytest.mark.django_db
def test_it_shows_the_recovery_codes_only_once(owner_client, user):
    codes = turn_on(owner_client, user)

    pages = [owner_client.get(url) for url in (MFA_URL, SETTINGS_URL)]

    for page in pages:
        for code in codes:
            assertNotContains(page, code)
    assertContains(pages[1], "10 recovery codes left.")
    assert not RecoveryCode.objects.filter(user=user, code_hash__in=codes).exists()


@pytest.mark.django_db
def test_it_counts_down_the_recovery_codes_left(owner_client, user):
    codes = turn_on(owner_client, user)
    mfa.use_recovery_code(user, codes[0])

    assertContains(owner_client.get(SETTINGS_URL), "9 recovery codes left.")


@pytest.mark.django_db
def test_it_refuses_a_wrong_code_when_turning_two_factor_on(owner_client, user):
    secret = start_setup(owner_client, user)

    response = owner_client.post(MFA_URL, {"action": "confirm", "code": wrong_code(secret)})

    assert response.status_code == 400
    assert error_by_field(response, "code").startswith("That code is not valid.")
    assertContains(response, "<svg", status_code=400)
    user.refresh_from_db()
    assert not user.mfa_enabled


@pytest.mark.django_db
def test_it_refuses_to_start_a_new_setup_while_two_factor_is_on(owner_client, user):
    turn_on(owner_client, user)
    secret = user.mfa_secret

    response = owner_client.post(MFA_URL, {"action": "start"}, follow=True)

    assertContains(response, "Two-factor authentication is already on. Turn it off first.")
    user.refresh_from_db()
    assert user.mfa_enabled
    assert user.mfa_secret == secret


@pytest.mark.django_db
def test_it_turns_two_factor_off_with_a_current_code(owner_client, user):
    turn_on(owner_client, user)

    response = owner_client.post(
        MFA_URL,
        {"action": "disable", "code": code_for(user.mfa_secret, steps_ahead=1)},
        follow=True,
    )

    assertRedirects(response, SETTINGS_URL)
    assertContains(response, "Two-factor authentication is off.")
    user.refresh_from_db()
    assert not user.mfa_enabled
    assert user.mfa_secret == ""
    assert not user.recovery_codes.exists()


@pytest.mark.django_db
def test_it_turns_two_factor_off_with_a_recovery_code(owner_client, user):
    codes = turn_on(owner_client, user)

    response = owner_client.post(MFA_URL, {"action": "disable", "code": codes[-1]})

    assertRedirects(response, SETTINGS_URL)
    user.refresh_from_db()
    assert not user.mfa_enabled


@pytest.mark.django_db
def test_it_keeps_two_factor_on_when_the_code_to_turn_it_off_is_wrong(owner_client, user):
    turn_on(owner_client, user)

    response = owner_client.post(
        MFA_URL, {"action": "disable", "code": wrong_code(user.mfa_secret)}
    )

    assert response.status_code == 400
    assert error_by_field(response, "code").startswith("That code is not valid.")
    user.refresh_from_db()
    assert user.mfa_enabled


# --- Links, the website and pins in the profile form --------------------------------------------


@pytest.mark.parametrize(
    ("field", "address"),
    [
        ("website", "https://github.com@evil.example/"),
        ("website", "https://evil.example\\@ada.example/"),
        ("link_github", "https://evil.example\\@github.com/me"),
        ("link_github", "https://evil.example@github.com/me"),
        ("link_github", "https://github.com:8443/me"),
    ],
)
@pytest.mark.django_db
def test_it_refuses_an_address_a_browser_could_read_as_another_site_by_its_field(
    owner_client, user, field, address
):
    response = owner_client.post(
        SETTINGS_URL, {"full_name": "Ada", "bio": "", "location": "Paris", field: address}
    )

    assert response.status_code == 400
    assert error_by_field(response, field)
    user.refresh_from_db()
    assert (user.location, user.website, user.links) == ("", "", [])


@pytest.mark.django_db
def test_saving_the_form_keeps_a_pin_older_than_the_workbooks_it_lists(
    owner_client, user, monkeypatch
):
    monkeypatch.setattr(workbook_selectors, "PINNABLE_SHOWN", 2)
    oldest, *_ = (WorkbookFactory(author=user, title=f"Workbook {n}") for n in range(4))
    user.pinned_workbook_ids = [oldest.pk]
    user.save(update_fields=["pinned_workbook_ids"])
    page = owner_client.get(SETTINGS_URL).content.decode()
    selected = re.search(r'<select name="pin_1"[^>]*>.*?<option value="(\d+)" selected', page, re.S)
    assert selected
    assert selected.group(1) == str(oldest.pk)

    response = owner_client.post(
        SETTINGS_URL,
        {"full_name": "Ada", "bio": "", "location": "Paris", "pin_1": selected.group(1)},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.location, user.pinned_workbook_ids) == ("Paris", [oldest.pk])
