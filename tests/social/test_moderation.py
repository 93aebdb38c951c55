"""Moderation takes permissions, never the staff flag alone: reading others' drafts, changing or
deleting others' workbooks and deleting others' comments. Staff without permissions get exactly what
a member gets; a moderator (accounts.roles) can; a curator, whose role is featured content, cannot.
On the pages and on the API alike."""

import pytest
from django.contrib.auth.models import Group

from accounts.roles import CURATOR_PERMISSIONS, MODERATOR_PERMISSIONS, MODERATORS_GROUP
from social import services
from social.models import Comment
from tests.accounts.helpers import api_client_for
from tests.factories import CuratorFactory, ModeratorFactory, UserFactory, WorkbookFactory
from workbooks.models import Workbook

WHO = ["member", "plain staff", "curator", "moderator"]
# What each may do to someone else's things: a member's answers, and a moderator's.
CANNOT = {"member", "plain staff", "curator"}


@pytest.fixture
def people(db):
    return {
        "member": UserFactory(username="member"),
        "plain staff": UserFactory(username="plainstaff", is_staff=True),
        "curator": CuratorFactory(username="curator"),
        "moderator": ModeratorFactory(username="moderator"),
    }


@pytest.fixture
def owner(db):
    return UserFactory(username="owner")


@pytest.fixture
def draft(owner):
    return WorkbookFactory(author=owner, title="Secret plan", status="draft")


@pytest.fixture
def published(owner):
    return WorkbookFactory(author=owner, title="Quarterly revenue")


@pytest.fixture
def comment(published):
    return services.add_comment(UserFactory(username="commenter"), published, "Nice maps.")


# --- The role ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_moderators_group_has_exactly_the_moderator_permissions():
    group = Group.objects.get(name=MODERATORS_GROUP)

    granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}

    assert granted == set(MODERATOR_PERMISSIONS)


def test_curators_hold_no_moderation_permission():
    moderation = {
        "workbooks.view_draft",
        "workbooks.change_workbook",
        "workbooks.delete_workbook",
        "social.delete_comment",
        "workbooks.approve_secure_embed",
    }
    assert moderation.isdisjoint(CURATOR_PERMISSIONS)
    assert "workbooks.approve_secure_embed" not in MODERATOR_PERMISSIONS


# --- Others' drafts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", WHO)
@pytest.mark.django_db
def test_only_a_moderator_reads_someone_elses_draft_page(client, people, draft, who):
    client.force_login(people[who])

    response = client.get(draft.get_absolute_url())

    assert response.status_code == (404 if who in CANNOT else 200)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.django_db
def test_only_a_moderator_reads_someone_elses_draft_on_the_api(people, draft, who):
    response = api_client_for(people[who]).get(f"/api/v1/workbooks/{draft.pk}/")

    assert response.status_code == (404 if who in CANNOT else 200)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.django_db
def test_only_a_moderator_reads_the_comments_of_someone_elses_draft(people, draft, who):
    response = api_client_for(people[who]).get(f"/api/v1/workbooks/{draft.pk}/comments/")

    assert response.status_code == (404 if who in CANNOT else 200)


# --- Others' workbooks -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", WHO)
@pytest.mark.django_db
def test_only_a_moderator_opens_the_edit_page_of_someone_elses_workbook(
    client, people, published, who
):
    client.force_login(people[who])

    edit = client.get(f"{published.get_absolute_url()}edit/")
    delete = client.get(f"{published.get_absolute_url()}delete/")

    expected = 404 if who in CANNOT else 200
    assert (edit.status_code, delete.status_code) == (expected, expected)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.django_db
def test_only_a_moderator_changes_and_deletes_someone_elses_workbook_on_the_api(
    people, published, who
):
    api = api_client_for(people[who])

    patch = api.patch(f"/api/v1/workbooks/{published.pk}/", {"title": "Moderated"}, format="json")
    delete = api.delete(f"/api/v1/workbooks/{published.pk}/")

    if who in CANNOT:
        assert (patch.status_code, delete.status_code) == (403, 403)
        assert Workbook.objects.filter(pk=published.pk, title="Quarterly revenue").exists()
    else:
        assert (patch.status_code, delete.status_code) == (200, 204)
        assert not Workbook.objects.filter(pk=published.pk).exists()


# --- Others' comments --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", WHO)
@pytest.mark.django_db
def test_only_a_moderator_deletes_someone_elses_comment_from_the_page(client, people, comment, who):
    client.force_login(people[who])

    response = client.post(f"/comments/{comment.pk}/delete/")

    if who in CANNOT:
        assert response.status_code == 403
        assert Comment.objects.filter(pk=comment.pk).exists()
    else:
        assert response.status_code == 302
        assert not Comment.objects.filter(pk=comment.pk).exists()


@pytest.mark.parametrize("who", WHO)
@pytest.mark.django_db
def test_only_a_moderator_deletes_someone_elses_comment_on_the_api(people, comment, who):
    api = api_client_for(people[who])

    listed = api.get(f"/api/v1/workbooks/{comment.workbook_id}/comments/").json()["results"]
    response = api.delete(f"/api/v1/comments/{comment.pk}/")

    assert listed[0]["can_delete"] is (who not in CANNOT)
    if who in CANNOT:
        assert response.status_code == 403
        assert Comment.objects.filter(pk=comment.pk).exists()
    else:
        assert response.status_code == 204
        assert not Comment.objects.filter(pk=comment.pk).exists()


@pytest.mark.parametrize("who", WHO)
@pytest.mark.django_db
def test_only_a_moderator_is_shown_the_delete_button_under_someone_elses_comment(
    client, people, comment, who
):
    client.force_login(people[who])

    response = client.get(comment.workbook.get_absolute_url())

    shows = f'action="/comments/{comment.pk}/delete/"' in response.content.decode()
    assert shows is (who not in CANNOT)
