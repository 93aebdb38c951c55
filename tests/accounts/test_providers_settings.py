"""Settings' "Sign-in methods": link and unlink providers, never the last way in; re-signing in
through a linked provider for account deletion."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from social_django.models import UserSocialAuth

from accounts import providers
from tests.accounts.provider_flow import through_provider
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_minute() -> None:
    """The link rate counts per clock minute: a test begun in a minute's last seconds waits."""
    left = 60 - time.time() % 60
    if left < 5:
        time.sleep(left)


@pytest.fixture
def member(client):
    user = UserFactory(username="lin", email="lin@example.com")
    client.force_login(user)
    return user


def link_from_settings(client, stand_in, provider, as_whom):
    start = client.post(f"/accounts/provider/{provider}/link/", {"password": PASSWORD})
    return through_provider(client, start, stand_in, as_whom)


def test_settings_lists_providers_with_link_buttons(client, member, oidc, github):
    page = client.get("/settings/").content.decode()
    assert "Sign-in methods" in page
    assert "Link Acme SSO" in page
    assert "Link GitHub" in page


def test_no_section_when_no_provider_is_configured_or_linked(client, member):
    assert "Sign-in methods" not in client.get("/settings/").content.decode()


def test_link_from_settings_links_the_signed_in_member(client, member, github):
    github.add("someone-else", "other@example.com", email_verified=False)  # any address: no matter
    done = link_from_settings(client, github, "github", "someone-else")
    assert done["Location"] == "/settings/"
    link = UserSocialAuth.objects.get()
    assert (link.user, link.provider) == (member, "github")
    page = client.get("/settings/").content.decode()
    assert "Unlink GitHub" in page
    assert "other@example.com" in page


def test_an_identity_linked_to_another_member_is_refused(client, member, github):
    github.add("taken", "taken@example.com")
    owner = UserFactory()
    client.force_login(owner)
    link_from_settings(client, github, "github", "taken")
    client.force_login(member)
    refused = link_from_settings(client, github, "github", "taken")
    assert refused.status_code == 403
    assert "linked to another member" in refused.content.decode()
    assert list(UserSocialAuth.objects.values_list("user", flat=True)) == [owner.pk]


def test_unlink(client, member, github):
    github.add("lin", "lin@example.com")
    link_from_settings(client, github, "github", "lin")
    answer = client.post("/accounts/provider/github/unlink/")
    assert answer["Location"] == "/settings/"
    assert not UserSocialAuth.objects.exists()


def test_the_last_way_in_cannot_be_unlinked(client, member, github, oidc):
    github.add("lin", "lin@example.com")
    oidc.add("lin", "lin@example.com")
    link_from_settings(client, github, "github", "lin")
    link_from_settings(client, oidc, "oidc", "lin")
    member.set_unusable_password()
    member.save()
    client.force_login(member)
    assert client.post("/accounts/provider/oidc/unlink/").status_code == 302  # GitHub is left

    refused = client.post("/accounts/provider/github/unlink/")
    assert refused.status_code == 400
    assert "the only way you sign in" in refused.content.decode()
    assert UserSocialAuth.objects.get().provider == "github"


def test_link_and_unlink_are_rate_limited(client, member, github, settings, fresh_minute):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "provider_link": 2}
    for _ in range(2):
        assert client.post("/accounts/provider/github/unlink/").status_code == 302
    limited = client.post("/accounts/provider/github/link/", {"password": PASSWORD})
    assert limited.status_code == 429
    assert limited["Retry-After"]


def test_settings_section_queries_stay_flat(client, member, github, oidc, settings):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/settings/").status_code == 200
        return len(captured)

    UserSocialAuth.objects.create(user=member, provider="github", uid="1", id_key="id")
    queries()  # the first page of a session reads more (its cached copy is made)
    one = queries()
    UserSocialAuth.objects.create(user=member, provider="oidc", uid="s", id_key="sub")
    # A provider switched off since keeps its row, to be unlinked.
    UserSocialAuth.objects.create(user=member, provider="google", uid="g", id_key="sub")
    assert queries() == one
    assert "Unlink Google" in client.get("/settings/").content.decode()


def test_reauthentication_through_a_linked_provider(client, member, oidc):
    oidc.add("lin", "lin@example.com")
    link_from_settings(client, oidc, "oidc", "lin")
    request = client.get("/settings/").wsgi_request
    assert not providers.reauthenticated_recently(request, member)

    start = client.post("/accounts/provider/oidc/reauthenticate/", {"next": "/settings/delete/"})
    back = through_provider(client, start, oidc, "lin")
    assert back["Location"] == "/settings/delete/"
    assert providers.reauthenticated_recently(client.get("/settings/").wsgi_request, member)


def test_reauthentication_needs_the_members_own_link(client, member, oidc):
    oidc.add("lin", "lin@example.com")
    oidc.add("mallory", "mallory@example.com")
    link_from_settings(client, oidc, "oidc", "lin")
    start = client.post("/accounts/provider/oidc/reauthenticate/", {"next": "/settings/"})
    refused = through_provider(client, start, oidc, "mallory")
    assert refused.status_code == 403
    assert not providers.reauthenticated_recently(client.get("/settings/").wsgi_request, member)
    assert UserSocialAuth.objects.count() == 1


def test_reauthentication_returns_only_to_this_site(client, member, oidc):
    oidc.add("lin", "lin@example.com")
    link_from_settings(client, oidc, "oidc", "lin")
    start = client.post("/accounts/provider/oidc/reauthenticate/", {"next": "https://evil.test/"})
    assert through_provider(client, start, oidc, "lin")["Location"] == "/settings/"


def test_reauthentication_expires(client, member, oidc, settings, monkeypatch):
    oidc.add("lin", "lin@example.com")
    link_from_settings(client, oidc, "oidc", "lin")
    start = client.post("/accounts/provider/oidc/reauthenticate/")
    through_provider(client, start, oidc, "lin")
    later = time.time() + settings.PROVIDER_REAUTH_SECONDS + 1
    monkeypatch.setattr(providers.time, "time", lambda: later)
    assert not providers.reauthenticated_recently(client.get("/settings/").wsgi_request, member)


def test_reauthentication_with_an_unlinked_provider_is_a_404(client, member, oidc):
    assert client.post("/accounts/provider/oidc/reauthenticate/").status_code == 404
