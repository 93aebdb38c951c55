"""Deleting your account: /settings/delete/ and DELETE /api/v1/me/ need the password (or a provider
sign-in just now) and the second factor when it is on. Everything the member made goes, other
members' counters stay exact, their comments on others' workbooks stay by a "deleted member", and
the username is refused to others until RETIRED_USERNAME_DAYS have passed."""

from __future__ import annotations

import ast
import re
import time
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.sessions.models import Session
from django.db import connection, models
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from social_django.models import UserSocialAuth

from accounts import providers, services
from accounts.models import DELETED_MEMBER, RetiredUsername, User
from media.models import Image
from media.storage import upload_storage
from moderation import selectors as moderation_selectors
from social import push
from social import services as social
from social.models import Comment, Favorite, Follow
from tests.accounts.helpers import enable_mfa, token_pair
from tests.factories import PASSWORD, CollectionFactory, UserFactory, WorkbookFactory
from workbooks.models import Workbook

DELETE_URL = "/settings/delete/"
ME_URL = "/api/v1/me/"


def make_history(member, friend, author, n: int = 1, upload=None) -> dict:
    """`n` of everything a member makes, with others around it; returns what must stay."""
    kept = []
    for i in range(n):
        mine = WorkbookFactory(author=member, title=f"Mine {i}", status="published")
        WorkbookFactory(author=member, title=f"Draft {i}", status="draft")
        theirs = WorkbookFactory(author=author, title=f"Theirs {i}", status="published")
        if upload is not None:
            upload(member, kind="thumbnail", holder=mine.pk)
        kept.append(social.add_comment(member, theirs, f"My comment {i}"))
        social.add_comment(member, mine, f"On my own {i}")
        social.add_comment(friend, mine, f"Friend on mine {i}")
        social.favorite(member, theirs)
        social.favorite(friend, mine)
        social.favorite(friend, theirs)
        CollectionFactory(owner=member, title=f"Picks {i}")
    social.follow(member, friend)
    social.follow(friend, member)
    social.follow(author, member)
    return {"comments": kept}


def user_references(pk: int) -> dict[str, int]:
    """Every row of every table with a column pointing at member `pk`, by table and column."""
    found = {}
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if (
                isinstance(field, models.ForeignKey | models.OneToOneField)
                and field.related_model is User
                and field.concrete
            ):
                count = model._default_manager.filter(**{field.name: pk}).count()
                if count:
                    found[f"{model._meta.db_table}.{field.column}"] = count
    return found


def assert_counters_exact() -> None:
    """Every member's and workbook's counters are what the rows say."""
    for person in User.objects.annotate(
        followers=Count("follower_links", distinct=True),
        following=Count("following_links", distinct=True),
        given=Count("favorites", distinct=True),
    ):
        assert (person.follower_count, person.following_count, person.favorite_count) == (
            person.followers,
            person.following,
            person.given,
        ), person.username
    for workbook in Workbook.objects.annotate(
        favs=Count("favorites", distinct=True), notes=Count("comments", distinct=True)
    ):
        assert (workbook.favorite_count, workbook.comment_count) == (
            workbook.favs,
            workbook.notes,
        ), workbook.title


def test_deleting_on_the_page_leaves_nothing_of_the_member_and_counters_exact(
    client, user, upload, django_capture_on_commit_callbacks
):
    friend, author = UserFactory(), UserFactory()
    upload(user)
    kept = make_history(user, friend, author, n=2, upload=upload)
    token_pair(APIClient(), "owner")  # an API sign-in: refresh token and its family
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/settings/export/")
    export_file = user.data_exports.get().file
    assert upload_storage().exists(export_file)
    assert Image.objects.filter(owner=user).count() == 3
    pk = user.pk

    page = client.get(DELETE_URL)
    assert page.status_code == 200
    assert "deleted member" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(DELETE_URL, {"password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"

    assert not User.objects.filter(pk=pk).exists()
    assert user_references(pk) == {}
    assert not Workbook.objects.filter(title__startswith=("Mine")).exists()
    assert not Workbook.objects.filter(title__startswith=("Draft")).exists()
    assert not Image.objects.filter(holder=str(pk)).exists()
    assert not upload_storage().exists(export_file)
    # Their comments on others' workbooks stay, with no author; those on their own went.
    assert set(Comment.objects.filter(author=None).values_list("pk", flat=True)) == {
        c.pk for c in kept["comments"]
    }
    assert not Comment.objects.filter(body__startswith="Friend on mine").exists()
    assert_counters_exact()
    friend.refresh_from_db()
    assert (friend.follower_count, friend.following_count, friend.favorite_count) == (0, 0, 2)
    assert Favorite.objects.filter(user=friend).count() == 2
    assert not Follow.objects.exists()
    retired = RetiredUsername.objects.get(username="owner")
    days = (retired.until - timezone.now()).days
    assert settings.RETIRED_USERNAME_DAYS - 1 <= days <= settings.RETIRED_USERNAME_DAYS
    # Signed out: the session is gone, and pages are a visitor's.
    assert not Session.objects.filter(session_key=client.session.session_key).exists()
    assert client.get("/settings/").status_code == 302


def test_their_comment_on_someone_elses_workbook_shows_a_deleted_member(client, user, api_client):
    author = UserFactory(username="author")
    workbook = WorkbookFactory(author=author, status="published")
    comment = social.add_comment(user, workbook, "Lovely chart")
    services.delete_account(user)

    page = client.get(workbook.get_absolute_url()).content.decode()
    assert "Lovely chart" in page
    assert "deleted member" in page
    assert "/u/owner" not in page

    data = api_client.get(f"/api/v1/workbooks/{workbook.pk}/comments/").json()
    [shown] = data["results"]
    assert shown["id"] == comment.pk
    assert shown["author"] is None
    # The workbook's author still manages it.
    client.force_login(author)
    assert "deleted member" in client.get(workbook.get_absolute_url()).content.decode()


def test_a_deleted_member_is_named_one_way_on_pages_and_for_moderators(client, user):
    author = UserFactory(username="author")
    workbook = WorkbookFactory(author=author, title="Revenue", status="published")
    comment = social.add_comment(user, workbook, "Lovely chart")
    services.delete_account(user)

    page = client.get(workbook.get_absolute_url()).content.decode()
    assert f'comment__author--gone">{DELETED_MEMBER}</span>' in page
    client.force_login(author)  # the author's own page: their Delete on the comment
    assert (
        f'comment__author--gone">{DELETED_MEMBER}</span>'
        in client.get(workbook.get_absolute_url()).content.decode()
    )
    found = moderation_selectors.target("comment", comment.pk)
    assert found.description == f"a {DELETED_MEMBER}: Lovely chart (on “Revenue”)"


def _spelled_out(path: Path) -> bool:
    """Whether the file spells the deleted member's name itself, in code or markup (not prose)."""
    text = path.read_text()
    if path.suffix == ".html":
        return re.search(r"(>\s*|“)(a )?deleted member(\s*<|”)", text) is not None
    tree = ast.parse(text)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return any(
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and node.value.strip() in ("deleted member", "a deleted member")
        for node in ast.walk(tree)
    )


def test_the_deleted_members_name_is_spelled_in_one_place():
    root = Path(settings.BASE_DIR)
    sources = [
        path
        for pattern in ("*/*.py", "*/*/*.py", "templates/**/*.html")
        for path in root.glob(pattern)
        if not path.is_relative_to(root / "tests")
        and not path.is_relative_to(root / ".venv")
        and "migrations" not in path.parts
    ]
    spelled = {str(path.relative_to(root)) for path in sources if _spelled_out(path)}
    assert spelled == {"accounts/models.py"}


def test_the_api_deletes_with_the_password_and_answers_204(
    user, upload, django_capture_on_commit_callbacks
):
    friend, author = UserFactory(), UserFactory()
    upload(user)
    kept = make_history(user, friend, author, n=2, upload=upload)
    client = APIClient()
    tokens = token_pair(client, "owner")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access']}"}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/api/v1/me/export/", **bearer).status_code == 202
    export_file = user.data_exports.get().file
    assert upload_storage().exists(export_file)
    wrong = client.delete(ME_URL, {"password": "not it"}, format="json", **bearer)
    assert wrong.status_code == 400
    assert "password" in wrong.json()
    assert User.objects.filter(pk=user.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(ME_URL, {"password": PASSWORD}, format="json", **bearer)
    assert response.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    assert user_references(user.pk) == {}
    assert not Workbook.objects.filter(author=None).exists()
    assert not Image.objects.filter(holder=str(user.pk)).exists()
    assert not upload_storage().exists(export_file)
    assert set(Comment.objects.filter(author=None)) == set(kept["comments"])
    assert_counters_exact()
    assert RetiredUsername.objects.filter(username="owner").exists()
    assert client.get(ME_URL, **bearer).status_code == 401
    refreshed = client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert refreshed.status_code == 401


@pytest.mark.parametrize("how", ["one", "in bulk"])
def test_deleting_in_the_admin_is_the_members_own_leaving(
    admin_client, user, upload, django_capture_on_commit_callbacks, monkeypatch, how
):
    """The admin deletes a member as their Settings page does: nothing of them is left (their
    export's ZIP, API sign-ins), the username is retired and their sockets are told."""
    friend, author = UserFactory(), UserFactory()
    second = UserFactory(username="second")
    upload(user)
    kept = make_history(user, friend, author, upload=upload)
    token_pair(APIClient(), "owner")
    with django_capture_on_commit_callbacks(execute=True):
        services.request_export(user)
    export_file = user.data_exports.get().file
    assert upload_storage().exists(export_file)
    told = []
    monkeypatch.setattr(push, "sign_ins_ended", told.append)
    leaving = [user] if how == "one" else [user, second]

    with django_capture_on_commit_callbacks(execute=True):
        if how == "one":
            response = admin_client.post(f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"})
        else:
            response = admin_client.post(
                "/admin/accounts/user/",
                {
                    "action": "delete_selected",
                    ACTION_CHECKBOX_NAME: [m.pk for m in leaving],
                    "post": "yes",
                },
            )

    assert response.status_code == 302
    for member in leaving:
        assert not User.objects.filter(pk=member.pk).exists()
        assert user_references(member.pk) == {}
    assert not upload_storage().exists(export_file)
    assert set(RetiredUsername.objects.values_list("username", flat=True)) == {
        m.username for m in leaving
    }
    assert sorted(told) == sorted(m.pk for m in leaving)
    assert list(Comment.objects.filter(author=None)) == kept["comments"]
    assert_counters_exact()


def test_an_export_file_goes_with_its_row_however_the_row_goes(
    user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.request_export(user)
    export_file = user.data_exports.get().file
    assert upload_storage().exists(export_file)
    with django_capture_on_commit_callbacks(execute=True):
        User.objects.filter(pk=user.pk).delete()  # the shell, past every service
    assert not upload_storage().exists(export_file)


def test_their_live_connections_are_told_every_sign_in_ended(
    user, django_capture_on_commit_callbacks, monkeypatch
):
    told = []
    monkeypatch.setattr(push, "sign_ins_ended", told.append)
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_account(user)
    assert told == [user.pk]


def test_a_wrong_password_on_the_page_is_a_400_form_error(client, user):
    client.force_login(user)
    response = client.post(DELETE_URL, {"password": "not it"})
    assert response.status_code == 400
    assert "That password is not right." in response.content.decode()
    assert User.objects.filter(pk=user.pk).exists()


def test_two_factor_is_required_when_on(client, user):
    secret = enable_mfa(user)
    client.force_login(user)
    page = client.get(DELETE_URL).content.decode()
    assert 'name="otp"' in page

    missing = client.post(DELETE_URL, {"password": PASSWORD})
    assert missing.status_code == 400
    assert "Enter a code" in missing.content.decode()
    wrong = client.post(DELETE_URL, {"password": PASSWORD, "otp": "000000"})
    assert wrong.status_code == 400
    assert "That code is not valid" in wrong.content.decode()
    assert User.objects.filter(pk=user.pk).exists()

    api = APIClient()
    api.force_authenticate(user)
    answer = api.delete(ME_URL, {"password": PASSWORD, "otp": "000000"}, format="json")
    assert answer.status_code == 400
    assert "otp" in answer.json()
    answer = api.delete(ME_URL, {"password": PASSWORD}, format="json")
    assert answer.status_code == 400
    assert "otp" in answer.json()

    right = client.post(DELETE_URL, {"password": PASSWORD, "otp": pyotp.TOTP(secret).now()})
    assert right.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()


def test_wrong_passwords_are_throttled_like_sign_in(client, user, settings):
    settings.SIGNIN_MAX_FAILURES_PER_USERNAME = 2
    client.force_login(user)
    for _ in range(2):
        assert client.post(DELETE_URL, {"password": "nope"}).status_code == 400
    throttled = client.post(DELETE_URL, {"password": PASSWORD})
    assert throttled.status_code == 429
    assert "Retry-After" in throttled
    api = APIClient()
    api.force_authenticate(user)
    answer = api.delete(ME_URL, {"password": PASSWORD}, format="json")
    assert answer.status_code == 429
    assert User.objects.filter(pk=user.pk).exists()


def test_a_member_without_a_password_signs_in_again_with_their_provider_first(client, user):
    user.set_unusable_password()
    user.save()
    client.force_login(user)
    page = client.get(DELETE_URL).content.decode()
    assert 'name="password"' not in page
    assert "sign in again with your provider" in page.lower()
    refused = client.post(DELETE_URL, {})
    assert refused.status_code == 400
    assert User.objects.filter(pk=user.pk).exists()

    session = client.session
    session[providers.REAUTHENTICATED] = {"user_id": user.pk, "at": time.time()}
    session.save()
    assert client.post(DELETE_URL, {}).status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()


def test_a_member_without_a_password_is_offered_a_sign_in_with_their_linked_provider(
    client, user, settings
):
    settings.SOCIAL_AUTH_GITHUB_KEY, settings.SOCIAL_AUTH_GITHUB_SECRET = "id", "secret"
    user.set_unusable_password()
    user.save()
    UserSocialAuth.objects.create(user=user, provider="github", uid="42", extra_data={"login": "o"})
    client.force_login(user)
    page = client.get(DELETE_URL).content.decode()
    assert 'action="/accounts/provider/github/reauthenticate/"' in page
    assert "Sign in again with GitHub" in page
    assert f'name="next" value="{DELETE_URL}"' in page


def test_the_username_is_refused_until_its_retirement_passes(client, user, api_client):
    services.delete_account(user)
    form = {
        "username": "Owner",
        "email": "new@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    page = client.post("/accounts/signup/", form)
    assert page.status_code == 400
    assert "This username was used recently" in page.content.decode()
    body = {"username": "OWNER", "email": "new@example.com", "password": PASSWORD}
    answer = api_client.post("/api/v1/auth/register/", body, format="json")
    assert answer.status_code == 400
    assert "This username was used recently" in answer.json()["username"][0]
    with pytest.raises(Exception, match="used recently"):
        services.register(username="owner", email="new@example.com", password=PASSWORD)

    RetiredUsername.objects.filter(username="owner").update(
        until=timezone.now() - timedelta(seconds=1)
    )
    answer = api_client.post("/api/v1/auth/register/", body, format="json")
    assert answer.status_code == 201


def test_the_admin_refuses_a_retired_username_for_another_member(admin_client, user, other_user):
    services.delete_account(user)
    response = admin_client.get(f"/admin/accounts/user/{other_user.pk}/change/")
    assert response.status_code == 200
    form = response.context["adminform"].form
    data = {
        **{name: value for name, value in form.initial.items() if value is not None},
        "username": "owner",
        "email": other_user.email,
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "groups": [],
        "user_permissions": [],
    }
    data.pop("password", None)
    data.pop("last_login", None)
    answer = admin_client.post(f"/admin/accounts/user/{other_user.pk}/change/", data)
    assert "This username was used recently" in answer.content.decode()
    other_user.refresh_from_db()
    assert other_user.username == "outsider"


def _deletion_queries(member, friend, author, n: int, upload) -> int:
    make_history(member, friend, author, n=n)
    with CaptureQueriesContext(connection) as captured:
        services.delete_account(member)
    return len(captured)


def test_deletion_queries_grow_only_by_one_per_workbook_however_much_the_member_made(db, upload):
    friend, author = UserFactory(), UserFactory()
    small = _deletion_queries(UserFactory(), friend, author, 1, upload)
    large = _deletion_queries(UserFactory(), friend, author, 4, upload)
    # Everything is read, counted and deleted in grouped queries but each workbook's thumbnail:
    # its images go by the model's own post_delete (workbooks.receivers, which must see every
    # deletion), one query per workbook, and on PostgreSQL it is held first (an advisory lock,
    # media.services.hold) so an upload finishing meanwhile cannot show on a deleted workbook.
    per_workbook = 2 if connection.vendor == "postgresql" else 1
    assert large - small == per_workbook * 2 * (4 - 1)  # two workbooks per round of history
    assert_counters_exact()
