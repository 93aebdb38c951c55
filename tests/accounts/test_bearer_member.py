"""The bearer's member (accounts.api.authentication): what the copy kept for read-only lists holds,
and the per-process map of checked tokens."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.permissions import BasePermission
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts.api import authentication
from accounts.models import User
from accounts.tokens import issue_tokens
from social.api.views import FeedView
from tests.factories import UserFactory

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def bearer(user) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_tokens(user).access}"}


@pytest.fixture(autouse=True)
def no_checked_tokens():
    authentication._CHECKED.clear()
    yield
    authentication._CHECKED.clear()


@pytest.mark.django_db
def test_the_kept_bearer_member_holds_no_password_hash_secret_or_email():
    bob = UserFactory(username="bob", email="bob@example.com")
    User.objects.filter(pk=bob.pk).update(mfa_enabled=True, mfa_secret=SECRET)
    bob.refresh_from_db()
    headers = bearer(bob)

    assert Client().get("/api/v1/feed/", **headers).status_code == 200
    kept = cache.get(f"accounts:bearer-member:{bob.pk}")

    assert kept is not None
    for private in (bob.password, SECRET, "bob@example.com"):
        assert private not in repr(kept)
    _, pk, is_active, suspended_until = kept
    assert (pk, is_active, suspended_until) == (bob.pk, True, None)
    assert Client().get("/api/v1/feed/", **headers).status_code == 200  # served from that copy


class _SeesTheMember(BasePermission):
    seen: list[tuple] = []

    def has_permission(self, request, view):
        user = request.user
        self.seen.append((user.username, user.email, user.full_name, user.has_usable_password()))
        return True


@pytest.mark.django_db
def test_a_view_touching_another_field_of_the_kept_member_reads_it_as_it_is_now(monkeypatch):
    bob = UserFactory(username="bob", email="bob@example.com", full_name="Bob")
    headers = bearer(bob)
    monkeypatch.setattr(_SeesTheMember, "seen", [])
    monkeypatch.setattr(FeedView, "permission_classes", [_SeesTheMember])

    assert Client().get("/api/v1/feed/", **headers).status_code == 200  # read and kept
    User.objects.filter(pk=bob.pk).update(full_name="Robert")  # (no signal: the copy stays)
    assert Client().get("/api/v1/feed/", **headers).status_code == 200  # from the copy

    assert _SeesTheMember.seen == [
        ("bob", "bob@example.com", "Bob", True),
        ("bob", "bob@example.com", "Robert", True),
    ]


@pytest.mark.django_db
def test_the_kept_bearer_member_loads_only_its_id_whether_active_and_suspended():
    bob = UserFactory(username="bob")
    authentication.kept_user_by_id(bob.pk)  # read and kept

    kept = authentication.kept_user_by_id(bob.pk)

    assert (kept.pk, kept.is_active) == (bob.pk, True)
    loaded = {field.attname for field in User._meta.concrete_fields} - kept.get_deferred_fields()
    assert loaded == {"id", "is_active", "suspended_until"}


# --- Checked tokens -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_checked_token_is_dropped_once_expired_and_answers_401(monkeypatch):
    token = AccessToken.for_user(UserFactory())
    raw = str(token)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert Client().get("/api/v1/me/", **headers).status_code == 200
    assert raw.encode() in authentication._CHECKED

    later = authentication.aware_utcnow() + timedelta(days=1)
    monkeypatch.setattr(authentication, "aware_utcnow", lambda: later)
    monkeypatch.setattr("rest_framework_simplejwt.tokens.aware_utcnow", lambda: later)
    expired = Client().get("/api/v1/me/", **headers)

    assert (expired.status_code, expired.json()["code"]) == (401, "token_not_valid")
    assert raw.encode() not in authentication._CHECKED


@pytest.mark.django_db
def test_the_checked_tokens_are_bounded(monkeypatch):
    monkeypatch.setattr(authentication, "_CHECKED_MAX", 3)
    for _ in range(7):
        assert Client().get("/api/v1/me/", **bearer(UserFactory())).status_code == 200
        assert len(authentication._CHECKED) <= 3


@pytest.mark.django_db
def test_an_expired_token_another_thread_dropped_first_is_a_401_not_a_500(monkeypatch):
    raw = issue_tokens(UserFactory()).access
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert Client().get("/api/v1/feed/", **headers).status_code == 200

    def expired_and_raced(self, *args, **kwargs):
        authentication._CHECKED.pop(raw.encode(), None)  # the other thread got there first
        raise TokenError("Token is expired")

    monkeypatch.setattr(AccessToken, "check_exp", expired_and_raced)
    client = Client(raise_request_exception=False)
    answer = client.get("/api/v1/feed/", **headers)

    assert (answer.status_code, answer.json()["code"]) == (401, "token_not_valid")
