"""A suspended member signs in by no path until `suspended_until` passes (accounts.suspension): the
password form and its second-factor step, the token endpoint and token refresh refuse them with
the date and the reason; sessions, bearer tokens and sockets they had end; once the date passes
they sign in again with nothing done. Their content stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts import suspension, tokens
from accounts.models import TokenFamily, User
from sigma_playground.asgi import application
from social.consumers import CLOSE_UNAUTHENTICATED
from tests.accounts.helpers import code_for, enable_mfa, get_me, refresh, sign_in, token_pair
from tests.factories import PASSWORD, UserFactory, WorkbookFactory
from tests.pages import form_alert, signed_in_user_id
from tests.social.realtime import (
    OWN_HOST,
    OWN_ORIGIN,
    PATH,
    bearer,
    open_socket,
    use_in_memory_layer,
)
from workbooks.models import Workbook

LOGIN_URL = "/accounts/login/"
VERIFY_URL = "/accounts/login/verify/"
REASON = "Posting the same link under every workbook"


@pytest.fixture
def until():
    return timezone.now() + timedelta(days=3)


def suspend(user, until) -> User:
    return suspension.suspend(user, until=until, reason=REASON)


def the_message(user) -> str:
    user.refresh_from_db()
    return suspension.message(user.suspended_until, user.suspension_reason)


def time_passes(user) -> None:
    """The suspension's end reached, as the clock would (nobody lifts it)."""
    User.objects.filter(pk=user.pk).update(suspended_until=timezone.now() - timedelta(seconds=1))


# --- The refusal ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_refusal_carries_the_date_and_the_reason(user, until):
    suspend(user, until)

    with pytest.raises(suspension.Suspended) as refused:
        suspension.refuse(user)

    assert (refused.value.until, refused.value.reason, refused.value.code) == (
        until,
        REASON,
        "suspended",
    )
    when = timezone.localtime(until).strftime("%-d %B %Y")
    assert str(refused.value).startswith(f"Your account is suspended until {when}, ")
    assert str(refused.value).endswith(f": {REASON}")


@pytest.mark.django_db
def test_a_suspension_must_end_in_the_future_and_its_reason_fit(user):
    with pytest.raises(ValidationError):
        suspension.suspend(user, until=timezone.now() - timedelta(minutes=1), reason="late")
    with pytest.raises(ValidationError):
        suspension.suspend(user, until=timezone.now() + timedelta(days=1), reason="x" * 501)
    user.refresh_from_db()
    assert user.suspended_until is None


# --- Signing in -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_password_form_refuses_a_suspended_member_and_says_until_when_and_why(
    client, user, until
):
    suspend(user, until)

    response = client.post(LOGIN_URL, {"username": "owner", "password": PASSWORD})

    assert response.status_code == 400
    assert form_alert(response) == the_message(user)
    assert signed_in_user_id(client) is None


@pytest.mark.django_db
def test_a_wrong_password_says_nothing_of_a_suspension(client, user, until):
    suspend(user, until)

    response = client.post(LOGIN_URL, {"username": "owner", "password": "not the password"})

    assert response.status_code == 400
    assert "suspended" not in response.content.decode()


@pytest.mark.django_db
def test_the_second_factor_step_refuses_a_suspended_member(client, user, until):
    secret = enable_mfa(user)
    first = client.post(LOGIN_URL, {"username": "owner", "password": PASSWORD})
    assert first["Location"] == VERIFY_URL
    suspend(user, until)  # meanwhile

    response = client.post(VERIFY_URL, {"code": code_for(secret)})

    assert response.status_code == 400
    assert form_alert(response) == the_message(user)
    assert signed_in_user_id(client) is None
    assert client.get(VERIFY_URL)["Location"] == LOGIN_URL  # the half-done sign-in is gone


@pytest.mark.django_db
def test_with_two_factor_on_the_code_comes_before_the_refusal(client, user, until):
    """Nobody learns of a suspension, or its reason, without every factor."""
    secret = enable_mfa(user)
    suspend(user, until)

    assert client.post(LOGIN_URL, {"username": "owner", "password": PASSWORD})["Location"] == (
        VERIFY_URL
    )
    refused = client.post(VERIFY_URL, {"code": code_for(secret)})
    assert the_message(user) in form_alert(refused)


@pytest.mark.django_db
def test_the_token_endpoint_answers_403_suspended(api_client, user, until):
    suspend(user, until)

    response = sign_in(api_client)

    assert response.status_code == 403
    assert response.json() == {"detail": the_message(user), "code": "suspended"}


@pytest.mark.django_db
def test_token_refresh_answers_403_suspended(
    api_client, user, until, django_capture_on_commit_callbacks
):
    pair = token_pair(api_client)
    with django_capture_on_commit_callbacks(execute=True):
        suspend(user, until)

    response = refresh(api_client, pair["refresh"])

    assert response.status_code == 403
    assert response.json()["code"] == "suspended"
    # And the suspension revoked the family: past the date, the old token stays dead.
    assert TokenFamily.objects.get(user=user).revoked_reason == "suspended"
    time_passes(user)
    assert refresh(api_client, pair["refresh"]).status_code == 401


@pytest.mark.django_db
def test_no_path_is_handed_tokens_for_a_suspended_member(user, until):
    """accounts.tokens.issue_tokens, which every token sign-in (password, provider, after a
    second factor) ends in, refuses them itself."""
    suspend(user, until)

    with pytest.raises(suspension.Suspended):
        tokens.issue_tokens(user)
    assert not TokenFamily.objects.filter(user=user).exists()


# --- Sign-ins already made ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_session_open_at_suspension_ends(user, until):
    browser = Client()
    browser.force_login(user)
    assert browser.get("/settings/").status_code == 200

    suspend(user, until)

    assert browser.get("/settings/")["Location"].startswith(LOGIN_URL)
    assert signed_in_user_id(browser) is None


@pytest.mark.django_db
def test_a_suspension_written_by_hand_still_ends_the_session(user, until):
    """Not through `suspend` (the shell): the member's row, read on every request, is enough."""
    browser = Client()
    browser.force_login(user)

    User.objects.filter(pk=user.pk).update(suspended_until=until, suspension_reason=REASON)

    assert browser.get("/settings/")["Location"].startswith(LOGIN_URL)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/me/", "/api/v1/feed/"])
def test_a_bearer_token_issued_before_is_refused_with_the_reason(user, until, path):
    """/api/v1/me/ reads the member's row; /api/v1/feed/ takes them from the kept copy."""
    client = APIClient()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(user)}"}
    assert client.get(path, **headers).status_code == 200  # the copy is kept

    suspend(user, until)
    response = client.get(path, **headers)

    assert response.status_code == 403
    assert response.json() == {"detail": the_message(user), "code": "suspended"}


@pytest.mark.django_db(transaction=True)
def test_sockets_close_at_suspension_and_a_token_from_before_opens_none(user, until, settings):
    use_in_memory_layer(settings)
    token = str(AccessToken.for_user(user))

    async def run():
        socket = await open_socket(user)
        await database_sync_to_async(suspend)(user, until)
        closed = await socket.receive_output(timeout=2)
        await socket.disconnect()
        again = WebsocketCommunicator(
            application, PATH, headers=[OWN_HOST, OWN_ORIGIN, bearer(token)]
        )
        connected, code = await again.connect(timeout=3)
        if connected:
            code = (await again.receive_output(timeout=2)).get("code")
        await again.disconnect()
        return closed, code

    closed, code = async_to_sync(run)()

    assert closed == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}
    assert code == CLOSE_UNAUTHENTICATED


# --- After the date -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_once_the_date_passes_every_way_in_works_again_with_nothing_done(
    client, api_client, user, until
):
    suspend(user, until)
    token = str(AccessToken.for_user(user))
    time_passes(user)

    signed_in = client.post(LOGIN_URL, {"username": "owner", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert signed_in_user_id(client) == str(user.pk)
    assert sign_in(api_client).status_code == 200
    assert get_me(APIClient(), token).status_code == 200


@pytest.mark.django_db
def test_lifting_ends_it_at_once(client, user, until):
    suspend(user, until)

    suspension.lift(user)

    assert client.post(LOGIN_URL, {"username": "owner", "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_a_suspension_is_not_a_ban_the_members_workbooks_stay(client, user, until):
    workbook = WorkbookFactory(author=user, title="Still here")

    suspend(user, until)

    assert Workbook.objects.published().filter(pk=workbook.pk).exists()
    assert client.get(workbook.get_absolute_url()).status_code == 200
    assert client.get("/u/owner/").status_code == 200


@pytest.mark.django_db
def test_suspending_leaves_other_members_signed_in(until):
    someone, other = UserFactory(username="someone"), UserFactory(username="other")
    browser = Client()
    browser.force_login(other)

    suspend(someone, until)

    assert browser.get("/settings/").status_code == 200
