"""What waits for a verified address, per EMAIL_VERIFICATION: in "mandatory" mode an unverified
member's publishing and commenting are refused (the services raise EmailUnverified: 403
`email_unverified` in the API, a page saying why with the resend button), while browsing,
favoriting and following are not; "optional" and "none" hold nothing back."""

import pytest
from django.contrib.sessions.middleware import SessionMiddleware
from pytest_django.asserts import assertContains, assertNotContains
from rest_framework.test import APIClient

from accounts import verification
from accounts.models import User
from sigma_playground.errors import PageErrorsMiddleware
from social import services as social_services
from social.models import Comment, Favorite, Follow
from tests.accounts.helpers import api_client_for
from tests.factories import PUBLIC_EMBED, UserFactory, WorkbookFactory
from workbooks import services as workbook_services
from workbooks.models import Workbook

pytestmark = pytest.mark.django_db

RESEND_PAGE = "/accounts/verify/resend/"


@pytest.fixture
def member() -> User:
    return UserFactory(username="newbie", email_verified=False)


@pytest.fixture
def workbook() -> Workbook:
    return WorkbookFactory(author=UserFactory(username="author"))


@pytest.fixture
def api(member) -> APIClient:
    return api_client_for(member)


@pytest.fixture
def site(client, member):
    client.force_login(member)
    return client


def new_workbook(**overrides) -> dict:
    return {
        "title": "Cloud spend by team",
        "description": "Where the bill goes.",
        "embed_url": PUBLIC_EMBED.format("CloudSpend04"),
        "status": "published",
    } | overrides


# --- Services --------------------------------------------------------------------------------------


def test_mandatory_publishing_and_commenting_wait_in_the_services(member, workbook):
    with pytest.raises(verification.EmailUnverified):
        workbook_services.create_workbook(member, **new_workbook())
    draft = workbook_services.create_workbook(member, **new_workbook(status="draft"))
    with pytest.raises(verification.EmailUnverified):
        workbook_services.update_workbook(draft, status="published")
    with pytest.raises(verification.EmailUnverified):
        social_services.add_comment(member, workbook, "Lovely.")

    assert not Workbook.objects.filter(author=member, status="published").exists()
    assert not Comment.objects.exists()


def test_a_published_workbook_of_an_unverified_member_can_still_be_edited(member, settings):
    settings.EMAIL_VERIFICATION = "optional"
    published = workbook_services.create_workbook(member, **new_workbook())
    settings.EMAIL_VERIFICATION = "mandatory"

    workbook_services.update_workbook(published, title="A better title")

    assert Workbook.objects.get(pk=published.pk).title == "A better title"


@pytest.mark.parametrize("mode", ["optional", "none"])
def test_optional_and_none_hold_nothing_back(member, workbook, settings, mode):
    settings.EMAIL_VERIFICATION = mode

    verification.require_verified(member)
    published = workbook_services.create_workbook(member, **new_workbook())
    social_services.add_comment(member, workbook, "Lovely.")

    assert published.status == "published"
    assert Comment.objects.filter(author=member).count() == 1


def test_a_verified_member_publishes_and_comments_in_mandatory_mode(member, workbook):
    verification.mark_verified(member)

    workbook_services.create_workbook(member, **new_workbook())
    social_services.add_comment(member, workbook, "Lovely.")

    assert Comment.objects.filter(author=member).exists()


# --- API -----------------------------------------------------------------------------------------------


def test_mandatory_the_api_refuses_publishing_and_commenting_with_403(api, workbook):
    published = api.post("/api/v1/workbooks/", new_workbook(), format="json")
    commented = api.post(
        f"/api/v1/workbooks/{workbook.pk}/comments/", {"body": "Lovely."}, format="json"
    )

    for response in (published, commented):
        assert response.status_code == 403
        assert response.json()["code"] == "email_unverified"
        assert "Verify your email address" in response.json()["detail"]
    assert not Workbook.objects.filter(title="Cloud spend by team").exists()
    assert not Comment.objects.exists()


def test_mandatory_a_draft_is_saved_but_publishing_it_is_refused(api):
    draft = api.post("/api/v1/workbooks/", new_workbook(status="draft"), format="json")
    assert draft.status_code == 201

    response = api.patch(
        f"/api/v1/workbooks/{draft.json()['id']}/", {"status": "published"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "email_unverified"
    assert Workbook.objects.get(pk=draft.json()["id"]).status == "draft"


def test_an_unverified_member_favorites_and_follows_through_the_api(api, member, workbook):
    assert api.put(f"/api/v1/workbooks/{workbook.pk}/favorite/").status_code == 200
    assert api.put("/api/v1/users/author/follow/").status_code == 200

    assert Favorite.objects.filter(user=member, workbook=workbook).exists()
    assert Follow.objects.filter(follower=member).exists()


@pytest.mark.parametrize("mode", ["optional", "none"])
def test_optional_and_none_the_api_publishes_and_comments(api, workbook, settings, mode):
    settings.EMAIL_VERIFICATION = mode

    assert api.post("/api/v1/workbooks/", new_workbook(), format="json").status_code == 201
    commented = api.post(
        f"/api/v1/workbooks/{workbook.pk}/comments/", {"body": "Lovely."}, format="json"
    )
    assert commented.status_code == 201


# --- Pages ---------------------------------------------------------------------------------------------


def test_mandatory_the_publish_form_says_why_and_a_refused_publish_is_403_keeping_the_form(site):
    form = site.get("/w/new/")
    assertContains(form, "Publishing waits until you verify your email address")
    assertContains(form, f'action="{RESEND_PAGE}"')

    refused = site.post("/w/new/", new_workbook(tags=""))

    assertContains(refused, "Verify your email address first", status_code=403)
    assertContains(refused, 'value="Cloud spend by team"', status_code=403)
    assertContains(refused, f'action="{RESEND_PAGE}"', status_code=403)
    assert not Workbook.objects.filter(title="Cloud spend by team").exists()
    saved = site.post("/w/new/", new_workbook(tags="", status="draft"))
    assert saved.status_code == 302


def test_mandatory_the_workbook_page_offers_the_resend_button_instead_of_the_comment_form(
    site, workbook
):
    page = site.get(workbook.get_absolute_url())

    assertContains(page, "Commenting waits until you verify your email address")
    assertNotContains(page, "Post comment")


def test_mandatory_a_posted_comment_is_refused_with_403_keeping_what_was_written(site, workbook):
    response = site.post(f"/w/{workbook.slug}/comments/", {"body": "My thoughtful remark"})

    assertContains(response, "Verify your email address first", status_code=403)
    assertContains(response, "My thoughtful remark", status_code=403)
    assertContains(response, f'action="{RESEND_PAGE}"', status_code=403)
    assert not Comment.objects.exists()


def test_an_unverified_member_favorites_and_follows_on_the_pages(site, member, workbook):
    assert site.post(f"/w/{workbook.slug}/favorite/", {"favorite": "1"}).status_code == 302
    assert site.post("/u/author/follow/", {"follow": "1"}).status_code == 302

    assert Favorite.objects.filter(user=member).exists()
    assert Follow.objects.filter(follower=member).exists()


@pytest.mark.parametrize("mode", ["optional", "none"])
def test_optional_and_none_the_pages_publish_and_comment(site, workbook, settings, mode):
    settings.EMAIL_VERIFICATION = mode

    page = site.get(workbook.get_absolute_url())
    assertContains(page, "Post comment")
    assertNotContains(site.get("/w/new/"), "Publishing waits")
    assert site.post("/w/new/", new_workbook(tags="")).status_code == 302
    commented = site.post(f"/w/{workbook.slug}/comments/", {"body": "Lovely."})
    assert commented.status_code == 302
    assert Comment.objects.filter(body="Lovely.").exists()


def test_a_refusal_raised_through_a_page_is_the_403_page_with_the_resend_button(rf, member):
    """Any page whose view lets EmailUnverified through (sigma_playground.errors)."""
    request = rf.get("/somewhere/")
    SessionMiddleware(lambda r: None).process_request(request)
    request.user = member
    response = PageErrorsMiddleware(lambda r: None).process_exception(
        request, verification.EmailUnverified()
    )

    assert response.status_code == 403
    assert RESEND_PAGE in response.content.decode()
