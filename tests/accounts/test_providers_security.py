"""What a stolen bearer token or a stolen session cannot do with provider sign-in: a re-sign-in
counts only for its own member, in its own session, once, and never for a bearer-token call;
linking a provider needs the member to confirm it is them and is emailed; a link to a provider
turned off is no way in; an abandoned sign-up leaves no account."""

from __future__ import annotations

import time

import pytest
from django.core import mail
from django.test import RequestFactory
from social_django.models import UserSocialAuth

from accounts import providers, services, tokens
from accounts.models import User
from tests.accounts.helpers import code_for, enable_mfa, wrong_code
from tests.accounts.provider_flow import follow, sign_in_with, through_provider
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ME_URL = "/api/v1/me/"


def passwordless(**fields) -> User:
    user = UserFactory(**fields)
    user.set_unusable_password()
    user.save()
    return user


def reauthenticate(client, stand_in, provider: str, as_whom: str, next_page: str = "/settings/"):
    start = client.post(f"/accounts/provider/{provider}/reauthenticate/", {"next": next_page})
    return through_provider(client, start, stand_in, as_whom)


# --- 1. The re-sign-in mark ----------------------------------------------------------------------


def test_a_re_sign_in_does_not_delete_another_member_through_their_stolen_token(client, oidc):
    """The attacker signs in again with their own provider in their own session, then sends
    DELETE /api/v1/me/ with that session's cookie and a passwordless victim's bearer token."""
    attacker = passwordless(username="mallory", email="mallory@example.com")
    UserSocialAuth.objects.create(user=attacker, provider="oidc", uid="sub-mallory", id_key="sub")
    oidc.add("mallory", "mallory@example.com")
    victim = passwordless(username="victim", email="victim@example.com")
    stolen = tokens.issue_tokens(victim).access

    client.force_login(attacker)
    assert reauthenticate(client, oidc, "oidc", "mallory").status_code == 302

    answer = client.delete(
        ME_URL, {}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {stolen}"
    )
    assert answer.status_code == 400
    assert "reauthenticate" in answer.json()
    assert User.objects.filter(pk=victim.pk).exists()


def test_the_mark_is_the_members_who_signed_in_again_only():
    member, other = passwordless(), passwordless()
    request = RequestFactory().get("/")
    request.session = {providers.REAUTHENTICATED: {"user_id": member.pk, "at": time.time()}}
    assert providers.reauthenticated_recently(request, member)
    assert not providers.reauthenticated_recently(request, other)


def test_a_bearer_call_never_counts_the_sessions_re_sign_in(client, oidc):
    member = passwordless(username="lin", email="lin@example.com")
    UserSocialAuth.objects.create(user=member, provider="oidc", uid="sub-lin", id_key="sub")
    oidc.add("lin", "lin@example.com")
    client.force_login(member)
    reauthenticate(client, oidc, "oidc", "lin")
    own = tokens.issue_tokens(member).access

    by_token = client.delete(
        ME_URL, {}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {own}"
    )
    assert by_token.status_code == 400
    assert "on the site" in by_token.json()["reauthenticate"][0]
    assert User.objects.filter(pk=member.pk).exists()

    # The same session signed in as the member (the site's own calls) may.
    assert client.delete(ME_URL, {}, content_type="application/json").status_code == 204
    assert not User.objects.filter(pk=member.pk).exists()


def test_a_re_sign_in_proves_one_action_then_is_spent():
    member = passwordless()
    request = RequestFactory().post("/")
    request.session = {providers.REAUTHENTICATED: {"user_id": member.pk, "at": time.time()}}
    services.confirm_leaving(request, member, "", "")
    with pytest.raises(services.NotConfirmed) as refused:
        services.confirm_leaving(request, member, "", "")
    assert refused.value.field == "reauthenticate"


# --- 2. Linking a provider -----------------------------------------------------------------------


@pytest.fixture
def member(client):
    user = UserFactory(username="lin", email="lin@example.com")
    client.force_login(user)
    return user


def test_a_signed_in_session_alone_cannot_start_a_link(client, member, github):
    answer = client.post("/accounts/provider/github/start/")
    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/provider/github/link/"
    assert "github_state" not in client.session


def test_a_sign_in_finished_in_a_signed_in_session_links_nothing(client, github):
    """A provider's answer to a sign-in begun signed out, arriving in a session that is signed in
    by then, is not a link: only the link page, once confirmed, starts one."""
    github.add("mallory", "mallory@example.com", email_verified=False)
    member = UserFactory()
    start = client.post("/accounts/provider/github/start/")
    client.force_login(member)
    refused = through_provider(client, start, github, "mallory")
    assert refused.status_code == 403
    assert not UserSocialAuth.objects.exists()


def test_linking_needs_the_password_and_tells_the_members_address(
    client, member, github, django_capture_on_commit_callbacks
):
    github.add("lin-gh", "elsewhere@example.com")
    page = client.get("/accounts/provider/github/link/")
    assert page.status_code == 200
    assert 'name="password"' in page.content.decode()
    wrong = client.post("/accounts/provider/github/link/", {"password": "not it"})
    assert wrong.status_code == 400
    assert "not right" in wrong.content.decode()

    start = client.post("/accounts/provider/github/link/", {"password": PASSWORD})
    with django_capture_on_commit_callbacks(execute=True):
        done = through_provider(client, start, github, "lin-gh")
    assert done["Location"] == "/settings/"
    assert UserSocialAuth.objects.get().user == member
    [told] = mail.outbox
    assert told.to == ["lin@example.com"]
    assert "GitHub was linked" in told.subject

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/accounts/provider/github/unlink/").status_code == 302
    [told] = mail.outbox
    assert "GitHub was unlinked" in told.subject


def test_linking_needs_the_second_factor_when_on(client, member, github):
    secret = enable_mfa(member)
    github.add("lin-gh", "lin@example.com")
    refused = client.post(
        "/accounts/provider/github/link/", {"password": PASSWORD, "otp": wrong_code(secret)}
    )
    assert refused.status_code == 400
    start = client.post(
        "/accounts/provider/github/link/", {"password": PASSWORD, "otp": code_for(secret)}
    )
    assert through_provider(client, start, github, "lin-gh")["Location"] == "/settings/"
    assert UserSocialAuth.objects.get().user == member


def test_wrong_passwords_on_the_link_page_are_throttled_like_sign_in(
    client, member, github, settings
):
    settings.SIGNIN_MAX_FAILURES_PER_USERNAME = 2
    for _ in range(2):
        assert client.post("/accounts/provider/github/link/", {"password": "no"}).status_code == 400
    throttled = client.post("/accounts/provider/github/link/", {"password": PASSWORD})
    assert throttled.status_code == 429
    assert throttled["Retry-After"]


def test_without_a_password_linking_needs_a_re_sign_in_with_a_linked_provider(client, oidc, github):
    member = passwordless(username="ada", email="ada@example.com")
    UserSocialAuth.objects.create(user=member, provider="oidc", uid="sub-ada", id_key="sub")
    oidc.add("ada", "ada@example.com")
    github.add("ada-gh", "ada@example.com")
    client.force_login(member)
    link_page = "/accounts/provider/github/link/"

    page = client.get(link_page).content.decode()
    assert 'action="/accounts/provider/oidc/reauthenticate/"' in page
    assert client.post(link_page, {}).status_code == 400

    assert reauthenticate(client, oidc, "oidc", "ada", next_page=link_page)["Location"] == link_page
    assert "Continue to GitHub" in client.get(link_page).content.decode()
    start = client.post(link_page, {})
    assert through_provider(client, start, github, "ada-gh")["Location"] == "/settings/"
    assert set(UserSocialAuth.objects.values_list("provider", flat=True)) == {"oidc", "github"}
    # Spent on that link.
    assert not providers.reauthenticated_recently(client.get("/settings/").wsgi_request, member)


# --- 3. The last way in --------------------------------------------------------------------------


def test_a_link_to_a_provider_turned_off_is_not_a_way_in(client, github):
    member = passwordless(username="ada", email="ada@example.com")
    UserSocialAuth.objects.create(user=member, provider="github", uid="1", id_key="id")
    UserSocialAuth.objects.create(user=member, provider="google", uid="g", id_key="sub")  # off
    client.force_login(member)
    refused = client.post("/accounts/provider/github/unlink/")
    assert refused.status_code == 400
    assert "the only way you sign in" in refused.content.decode()
    # The one turned off can go: GitHub is left.
    assert client.post("/accounts/provider/google/unlink/").status_code == 302
    assert list(UserSocialAuth.objects.values_list("provider", flat=True)) == ["github"]


# --- 4. An abandoned sign-up ---------------------------------------------------------------------


def test_an_abandoned_sign_up_leaves_no_account(client, oidc):
    oidc.add("ada", "ada@example.com")
    sign_in_with(client, oidc, "oidc", "ada")
    resume = client.post("/accounts/provider/username/", {"username": "ada"})
    assert resume.status_code == 302
    assert not User.objects.exists()  # until the pipeline resumes, nothing is made

    follow(client, resume)
    user = User.objects.get(username="ada")
    assert UserSocialAuth.objects.get().user == user


def test_a_username_taken_before_the_pipeline_resumes_asks_again(client, oidc):
    oidc.add("ada", "ada@example.com")
    sign_in_with(client, oidc, "oidc", "ada")
    resume = client.post("/accounts/provider/username/", {"username": "ada"})
    UserFactory(username="ada", email="someone@example.com")
    again = follow(client, resume)
    assert again["Location"] == "/accounts/provider/username/"
    assert not UserSocialAuth.objects.exists()
    assert User.objects.count() == 1
    done = follow(client, client.post("/accounts/provider/username/", {"username": "ada2"}))
    assert done.status_code == 302
    assert UserSocialAuth.objects.get().user.username == "ada2"
