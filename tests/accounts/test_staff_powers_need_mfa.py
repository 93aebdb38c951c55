"""Where staff must have two-factor sign-in (MFA_REQUIRED_FOR_STAFF), a staff account or a superuser
without it holds no permission anywhere: not in the admin, not on the pages, not through the API. A
password alone, guessed or reused, cannot moderate."""

import pytest
from rest_framework.test import APIClient

from social import services as social_services
from tests.accounts.helpers import enable_mfa
from tests.factories import ModeratorFactory, UserFactory, WorkbookFactory


@pytest.fixture
def required(settings):
    settings.MFA_REQUIRED_FOR_STAFF = True


@pytest.fixture
def comment(db):
    workbook = WorkbookFactory(title="Quarterly revenue")
    return social_services.add_comment(UserFactory(username="commenter"), workbook, "Nice maps.")


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db
@pytest.mark.usefixtures("required")
def test_a_moderator_without_two_factor_cannot_delete_others_comments_through_the_api(comment):
    moderator = ModeratorFactory(username="moderator")

    response = api_as(moderator).delete(f"/api/v1/comments/{comment.pk}/")

    assert response.status_code in (403, 404)
    assert type(comment).objects.filter(pk=comment.pk).exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("required")
def test_a_moderator_with_two_factor_can(comment):
    moderator = ModeratorFactory(username="moderator")
    enable_mfa(moderator)

    response = api_as(moderator).delete(f"/api/v1/comments/{comment.pk}/")

    assert response.status_code == 204


@pytest.mark.django_db
@pytest.mark.usefixtures("required")
def test_a_moderator_without_two_factor_does_not_see_others_drafts(client):
    draft = WorkbookFactory(title="Secret plan", status="draft")
    client.force_login(ModeratorFactory(username="moderator"))

    assert client.get(draft.get_absolute_url()).status_code == 404
    assert (
        api_as(ModeratorFactory(username="other-mod"))
        .get(f"/api/v1/workbooks/{draft.pk}/")
        .status_code
        == 404
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("required")
def test_a_superuser_without_two_factor_holds_no_permission():
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)

    assert not superuser.has_perm("social.delete_comment")
    assert not superuser.has_perm("workbooks.approve_secure_embed")
    assert not superuser.has_module_perms("workbooks")

    enable_mfa(superuser)
    assert superuser.has_perm("workbooks.approve_secure_embed")


@pytest.mark.django_db
def test_without_the_requirement_permissions_are_as_granted(settings, comment):
    settings.MFA_REQUIRED_FOR_STAFF = False
    moderator = ModeratorFactory(username="moderator")

    assert moderator.has_perm("social.delete_comment")
    assert api_as(moderator).delete(f"/api/v1/comments/{comment.pk}/").status_code == 204


@pytest.mark.django_db
@pytest.mark.usefixtures("required")
def test_a_member_is_not_affected(comment):
    author = comment.author

    assert api_as(author).delete(f"/api/v1/comments/{comment.pk}/").status_code == 204
