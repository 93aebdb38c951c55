"""The sign-in pages: /accounts/login/ and the two-factor step at /accounts/login/verify/."""

import pytest
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from accounts import mfa
from accounts.views import PENDING_SECOND_FACTOR
from tests.accounts.helpers import code_for, wrong_code
from tests.factories import UserFactory
from tests.pages import error_by_field, form_alert, signed_in_user_id

LOGIN_URL = "/accounts/login/"
VERIFY_URL = "/accounts/login/verify/"
FAILURES_ALLOWED = 5
WINDOW_SECONDS = 15 * 60


@pytest.fixture
def mfa_user(db):
    """A member with two-factor authentication on."""
    return UserFactory(username="guarded", mfa_secret=mfa.new_secret(), mfa_enabled=True)


@pytest.fixture
def recovery_codes(mfa_user) -> list[str]:
    return mfa.replace_recovery_codes(mfa_user)


# --- Password step ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_shows_the_sign_in_form(client):
    response = client.get(LOGIN_URL)

    assert response.status_code == 200
    assertContains(response, 'name="username"')
    assertContains(response, 'name="password"')
    assertContains(response, 'href="/accounts/password-reset/"')


@pytest.mark.django_db
def test_it_signs_in_with_the_right_password_whatever_the_case_of_the_username(
    client, user, password
):
    response = client.post(LOGIN_URL, {"username": "OWNER", "password": password})

    assertRedirects(response, "/")
    assert signed_in_user_id(client) == str(user.pk)


@pytest.mark.django_db
def test_it_shows_the_member_in_the_navigation_once_signed_in(client, user, password):
    response = client.post(LOGIN_URL, {"username": "owner", "password": password}, follow=True)

    assertContains(
        response,
        f'<span class="menu__name">{user.full_name}</span>',
    )
    assertNotContains(response, 'href="/accounts/login/"')


@pytest.mark.django_db
def test_it_brings_a_member_back_to_the_page_that_asked_them_to_sign_in(client, user, password):
    asked = client.get("/settings/")
    assertRedirects(asked, "/accounts/login/?next=/settings/", fetch_redirect_response=False)
    form = client.get(asked["Location"])
    assertContains(form, '<input type="hidden" name="next" value="/settings/">', html=True)

    response = client.post(
        LOGIN_URL, {"username": "owner", "password": password, "next": "/settings/"}
    )

    assertRedirects(response, "/settings/")


@pytest.mark.django_db
def test_it_ignores_a_next_page_on_another_site(client, user, password):
    response = client.post(
        LOGIN_URL, {"username": "owner", "password": password, "next": "//evil.example/"}
    )

    assertRedirects(response, "/")


@pytest.mark.parametrize("username", ["owner", "nobody-by-that-name"])
@pytest.mark.django_db
def test_it_refuses_a_wrong_password_without_saying_whether_the_account_exists(
    client, user, username
):
    response = client.post(LOGIN_URL, {"username": username, "password": "not the password"})

    assert response.status_code == 400
    assert form_alert(response) == "That username and password don't match an account."
    assert signed_in_user_id(client) is None


@pytest.mark.django_db
def test_it_shows_a_missing_password_by_its_field(client, user):
    response = client.post(LOGIN_URL, {"username": "owner", "password": ""})

    assert response.status_code == 400
    assert error_by_field(response, "password") == "This field is required."
    assertContains(response, 'value="owner"', status_code=400)


@pytest.mark.django_db
def test_it_refuses_a_deactivated_member(client, password):
    UserFactory(username="gone", is_active=False)

    response = client.post(LOGIN_URL, {"username": "gone", "password": password})

    assert response.status_code == 400
    assert signed_in_user_id(client) is None


@pytest.mark.django_db
def test_it_refuses_a_sign_in_without_the_csrf_token(user, password):
    client = Client(enforce_csrf_checks=True)

    response = client.post(LOGIN_URL, {"username": "owner", "password": password})

    assert response.status_code == 403
    assert signed_in_user_id(client) is None


# --- Brute-force guard --------------------------------------------------------------------------


def fail_to_sign_in(client, username: str, times: int) -> list[int]:
    return [
        client.post(LOGIN_URL, {"username": username, "password": "guess"}).status_code
        for _ in range(times)
    ]


@pytest.mark.django_db
def test_it_answers_429_with_retry_after_once_a_username_failed_five_times(client, user):
    assert fail_to_sign_in(client, "owner", FAILURES_ALLOWED) == [400] * FAILURES_ALLOWED

    response = client.post(LOGIN_URL, {"username": "owner", "password": "guess"})

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= WINDOW_SECONDS + 1
    assert form_alert(response).startswith("Too many failed sign-ins. Try again in ")


@pytest.mark.django_db
def test_it_refuses_even_the_right_password_while_a_username_is_throttled(client, user, password):
    fail_to_sign_in(client, "owner", FAILURES_ALLOWED)

    response = client.post(LOGIN_URL, {"username": "owner", "password": password})

    assert response.status_code == 429
    assert signed_in_user_id(client) is None


@pytest.mark.django_db
def test_it_counts_failures_for_a_username_whatever_its_case(client, user):
    fail_to_sign_in(client, "owner", FAILURES_ALLOWED - 1)
    fail_to_sign_in(client, "OWNER", 1)

    assert fail_to_sign_in(client, "Owner", 1) == [429]


@pytest.mark.django_db
def test_it_still_lets_other_members_sign_in_while_one_username_is_throttled(
    client, user, other_user, password
):
    fail_to_sign_in(client, "owner", FAILURES_ALLOWED)

    response = client.post(LOGIN_URL, {"username": "outsider", "password": password})

    assertRedirects(response, "/")
    assert signed_in_user_id(client) == str(other_user.pk)


@pytest.mark.django_db
def test_it_forgets_earlier_failures_after_a_successful_sign_in(client, user, password):
    fail_to_sign_in(client, "owner", FAILURES_ALLOWED - 1)
    client.post(LOGIN_URL, {"username": "owner", "password": password})
    client.logout()

    assert fail_to_sign_in(client, "owner", FAILURES_ALLOWED - 1) == [400] * (FAILURES_ALLOWED - 1)


# --- Second factor ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_asks_a_member_with_two_factor_on_for_a_code_before_signing_them_in(
    client, mfa_user, password
):
    response = client.post(LOGIN_URL, {"username": "guarded", "password": password})

    assertRedirects(response, VERIFY_URL, fetch_redirect_response=False)
    assert signed_in_user_id(client) is None
    page = client.get(VERIFY_URL)
    assert page.status_code == 200
    assertContains(page, 'name="code"')
    assertContains(page, 'autocomplete="one-time-code"')


@pytest.mark.django_db
def test_the_password_step_moves_the_pending_sign_in_to_a_new_session_key(
    client, mfa_user, password
):
    """A session key planted before the password (a fixed cookie) never holds the half-finished
    sign-in: whoever knows that key cannot finish it with a code of their own."""
    planted = client.session
    planted["planted"] = True
    planted.save()
    planted_key = planted.session_key
    client.cookies["sessionid"] = planted_key

    client.post(LOGIN_URL, {"username": "guarded", "password": password})

    assert client.cookies["sessionid"].value != planted_key
    assert PENDING_SECOND_FACTOR in client.session
    attacker = Client()
    attacker.cookies["sessionid"] = planted_key
    assert attacker.get(VERIFY_URL).status_code == 302


@pytest.mark.django_db
def test_it_signs_in_with_the_code_from_the_authenticator_app(client, mfa_user, password):
    client.post(LOGIN_URL, {"username": "guarded", "password": password, "next": "/settings/"})

    response = client.post(VERIFY_URL, {"code": code_for(mfa_user.mfa_secret)})

    assertRedirects(response, "/settings/")
    assert signed_in_user_id(client) == str(mfa_user.pk)
    assert PENDING_SECOND_FACTOR not in client.session


@pytest.mark.django_db
def test_it_refuses_a_wrong_code_by_its_field(client, mfa_user, password):
    client.post(LOGIN_URL, {"username": "guarded", "password": password})

    response = client.post(VERIFY_URL, {"code": wrong_code(mfa_user.mfa_secret)})

    assert response.status_code == 400
    assert error_by_field(response, "code").startswith("That code is not valid.")
    assert signed_in_user_id(client) is None


@pytest.mark.django_db
def test_it_refuses_a_code_that_was_already_used(client, mfa_user, password):
    code = code_for(mfa_user.mfa_secret)
    client.post(LOGIN_URL, {"username": "guarded", "password": password})
    client.post(VERIFY_URL, {"code": code})
    client.post("/accounts/logout/")

    client.post(LOGIN_URL, {"username": "guarded", "password": password})
    response = client.post(VERIFY_URL, {"code": code})

    assert response.status_code == 400
    assert signed_in_user_id(client) is None


@pytest.mark.django_db
def test_it_accepts_a_recovery_code_once(client, mfa_user, recovery_codes, password):
    recovery = recovery_codes[0]
    client.post(LOGIN_URL, {"username": "guarded", "password": password})
    assertRedirects(client.post(VERIFY_URL, {"code": recovery}), "/")
    client.post("/accounts/logout/")

    client.post(LOGIN_URL, {"username": "guarded", "password": password})
    response = client.post(VERIFY_URL, {"code": recovery})

    assert response.status_code == 400
    assert signed_in_user_id(client) is None


@pytest.mark.django_db
def test_it_answers_429_once_five_wrong_codes_were_tried(client, mfa_user, password):
    client.post(LOGIN_URL, {"username": "guarded", "password": password})
    statuses = [
        client.post(VERIFY_URL, {"code": wrong_code(mfa_user.mfa_secret)}).status_code
        for _ in range(FAILURES_ALLOWED)
    ]

    response = client.post(VERIFY_URL, {"code": code_for(mfa_user.mfa_secret)})

    assert statuses == [400] * FAILURES_ALLOWED
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= WINDOW_SECONDS + 1
    assert error_by_field(response, "code").startswith("Too many failed sign-ins.")
    assert signed_in_user_id(client) is None


@pytest.mark.django_db
def test_it_sends_anyone_without_a_checked_password_back_to_the_sign_in_page(client, mfa_user):
    response = client.post(VERIFY_URL, {"code": code_for(mfa_user.mfa_secret)})

    assertRedirects(response, LOGIN_URL)
    assert signed_in_user_id(client) is None


@pytest.mark.django_db
def test_it_asks_for_the_password_again_after_five_minutes_without_a_code(
    client, mfa_user, password
):
    client.post(LOGIN_URL, {"username": "guarded", "password": password})
    session = client.session
    session[PENDING_SECOND_FACTOR]["at"] -= 301
    session.save()

    response = client.post(VERIFY_URL, {"code": code_for(mfa_user.mfa_secret)}, follow=True)

    assertRedirects(response, LOGIN_URL)
    assertContains(response, "Please sign in again.")
    assert signed_in_user_id(client) is None
