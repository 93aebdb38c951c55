"""A workbook moderators hold or hide (workbooks.services.moderate_workbook) leaves every public
place for everyone but its author and moderators, kept copies of pages included, and comes back
when restored. Its author sees why; they cannot publish it again until it is restored."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from search.models import Entry
from sigma_playground.models import Moderation
from tests.accounts.helpers import api_client_for
from tests.factories import (
    CollectionFactory,
    ModeratorFactory,
    UserFactory,
    WorkbookFactory,
)
from tests.pages import form_alert
from tests.workbooks.markup import page
from tests.workbooks.places import TITLE, everywhere, finance_count, public_places, warm_readers
from workbooks import services
from workbooks.models import Workbook

REASON = "Links to a phishing page"
HELD_OR_HIDDEN = [Moderation.HELD, Moderation.HIDDEN]


@pytest.fixture
def ada(db):
    return UserFactory(username="ada", full_name="Ada Lovelace")


@pytest.fixture
def workbook(ada, django_capture_on_commit_callbacks) -> Workbook:
    """Ada's "Revenue by region" (finance), beside her "Revenue forecast" (finance), which
    suggests it, in a public collection of someone else's."""
    with django_capture_on_commit_callbacks(execute=True):
        shown = WorkbookFactory(author=ada, title=TITLE, tags=["finance"])
        WorkbookFactory(author=ada, title="Revenue forecast", tags=["finance"])
    CollectionFactory(owner=UserFactory(username="curious"), slug="picks", workbooks=[shown])
    return shown


def moderate(workbook, moderation, capture, **options) -> Workbook:
    with capture(execute=True):  # the related lists are made again once committed
        return services.moderate_workbook(workbook, moderation=moderation, **options)


@pytest.mark.parametrize("moderation", HELD_OR_HIDDEN)
def test_held_or_hidden_it_leaves_every_public_place_kept_copies_included(
    workbook, moderation, django_capture_on_commit_callbacks
):
    visitor, member = warm_readers()

    moderate(workbook, moderation, django_capture_on_commit_callbacks, reason=REASON)

    assert public_places(visitor) == everywhere(False)
    assert public_places(member) == everywhere(False)
    assert finance_count() == 1
    for client in (visitor, member):
        assert client.get(workbook.get_absolute_url()).status_code == 404
        assert client.get(f"/api/v1/workbooks/{workbook.pk}/").status_code == 404


@pytest.mark.parametrize("moderation", HELD_OR_HIDDEN)
def test_restored_it_is_back_everywhere(workbook, moderation, django_capture_on_commit_callbacks):
    visitor = Client()
    moderate(workbook, moderation, django_capture_on_commit_callbacks, reason=REASON)
    assert public_places(visitor) == everywhere(False)  # kept so

    restored = moderate(workbook, Moderation.VISIBLE, django_capture_on_commit_callbacks)

    assert (restored.moderation, restored.moderation_reason) == ("", "")
    assert public_places(visitor) == everywhere(True)
    assert finance_count() == 2
    assert visitor.get(workbook.get_absolute_url()).status_code == 200


@pytest.mark.parametrize(
    ("moderation", "notice"),
    [
        (Moderation.HELD, f"Held for review after reports: {REASON}."),
        (Moderation.HIDDEN, f"Hidden by a moderator: {REASON}."),
    ],
)
def test_its_author_still_opens_it_and_is_told_why(
    workbook, ada, moderation, notice, django_capture_on_commit_callbacks
):
    moderate(workbook, moderation, django_capture_on_commit_callbacks, reason=REASON)
    author = Client()
    author.force_login(ada)

    for url in (workbook.get_absolute_url(), f"{workbook.get_absolute_url()}edit/"):
        response = author.get(url)
        assert response.status_code == 200
        shown = page(response).find(data_testid="moderation-notice")
        assert shown.text.strip().startswith(notice), url
    drafts = page(author.get("/u/ada/drafts/"))
    assert notice.rstrip(".") in drafts.find(data_testid="moderation-notice").text
    assert api_client_for(ada).get(f"/api/v1/workbooks/{workbook.pk}/").status_code == 200


@pytest.mark.parametrize("moderation", HELD_OR_HIDDEN)
def test_moderators_still_open_it(workbook, moderation, django_capture_on_commit_callbacks):
    moderate(workbook, moderation, django_capture_on_commit_callbacks, reason=REASON)
    moderator = ModeratorFactory(username="mod")
    browser = Client()
    browser.force_login(moderator)

    response = browser.get(workbook.get_absolute_url())

    assert response.status_code == 200
    assert REASON in response.content.decode()
    assert api_client_for(moderator).get(f"/api/v1/workbooks/{workbook.pk}/").status_code == 200


@pytest.mark.parametrize("moderation", HELD_OR_HIDDEN)
def test_a_moderators_reading_of_it_is_never_kept_for_others(
    workbook, moderation, django_capture_on_commit_callbacks
):
    """A moderator who may read but not change it sees the page every reader would for a public
    workbook: none may be kept from it."""
    moderate(workbook, moderation, django_capture_on_commit_callbacks, reason=REASON)
    reader = UserFactory(username="reader", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_draft"))
    browser = Client()
    browser.force_login(reader)
    for _ in range(3):  # a member's page is kept from their second miss on
        assert browser.get(workbook.get_absolute_url()).status_code == 200
    someone = Client()
    someone.force_login(UserFactory(username="someone"))

    assert someone.get(workbook.get_absolute_url()).status_code == 404
    assert Client().get(workbook.get_absolute_url()).status_code == 404


@pytest.mark.postgres
def test_its_search_entry_leaves_the_index_range_and_comes_back(
    workbook, django_capture_on_commit_callbacks
):
    moderate(workbook, Moderation.HIDDEN, django_capture_on_commit_callbacks, reason=REASON)
    assert Entry.objects.get(workbook=workbook).published_at is None

    moderate(workbook, Moderation.VISIBLE, django_capture_on_commit_callbacks)
    assert Entry.objects.get(workbook=workbook).published_at == workbook.published_at


# --- Unpublishing, and publishing again -----------------------------------------------------------


def test_hiding_with_unpublish_makes_it_a_draft_and_restoring_leaves_it_one(
    workbook, django_capture_on_commit_callbacks
):
    hidden = moderate(
        workbook, Moderation.HIDDEN, django_capture_on_commit_callbacks, reason=REASON,
        unpublish=True,
    )  # fmt: skip
    assert (hidden.status, hidden.moderation) == (Workbook.Status.DRAFT, Moderation.HIDDEN)

    restored = moderate(workbook, Moderation.VISIBLE, django_capture_on_commit_callbacks)

    assert (restored.status, restored.moderation) == (Workbook.Status.DRAFT, "")
    # Now its author may publish it again.
    services.update_workbook(restored, status=Workbook.Status.PUBLISHED)
    assert Workbook.objects.published().filter(pk=workbook.pk).exists()


@pytest.mark.parametrize("moderation", HELD_OR_HIDDEN)
def test_its_author_cannot_publish_it_again_until_it_is_restored(
    workbook, ada, moderation, django_capture_on_commit_callbacks
):
    moderate(
        workbook, moderation, django_capture_on_commit_callbacks, reason=REASON, unpublish=True
    )
    author = Client()
    author.force_login(ada)
    form = {
        "title": TITLE,
        "embed_url": workbook.embed_url,
        "description": "",
        "tags": "finance",
        "status": "published",
    }

    refused = author.post(f"{workbook.get_absolute_url()}edit/", form)

    assert refused.status_code == 400
    assert REASON in form_alert(refused)
    assert "once a moderator restores it" in form_alert(refused)
    api = api_client_for(ada).patch(
        f"/api/v1/workbooks/{workbook.pk}/", {"status": "published"}, format="json"
    )
    assert api.status_code == 400
    assert api.json()["code"] == "moderated"
    workbook.refresh_from_db()
    assert workbook.status == Workbook.Status.DRAFT
    # Saved as a draft, its other changes are kept.
    saved = author.post(f"{workbook.get_absolute_url()}edit/", {**form, "status": "draft"})
    assert saved.status_code == 302


def test_a_held_workbook_still_published_can_be_edited_by_its_author(
    workbook, django_capture_on_commit_callbacks
):
    moderate(workbook, Moderation.HELD, django_capture_on_commit_callbacks)

    edited = services.update_workbook(workbook, title="Revenue by region, fixed")

    assert edited.title == "Revenue by region, fixed"
    assert not Workbook.objects.published().filter(pk=workbook.pk).exists()


# --- Bad input ------------------------------------------------------------------------------------


def test_an_unknown_state_or_a_reason_too_long_is_refused(workbook):
    with pytest.raises(services.ValidationError):
        services.moderate_workbook(workbook, moderation="gone")
    with pytest.raises(services.ValidationError):
        services.moderate_workbook(workbook, moderation=Moderation.HIDDEN, reason="x" * 501)
    workbook.refresh_from_db()
    assert workbook.moderation == Moderation.VISIBLE


# --- The author's drafts list ---------------------------------------------------------------------


def test_the_drafts_list_costs_the_same_queries_for_2_and_for_12_held_workbooks(
    ada, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    author = Client()
    author.force_login(ada)

    def hold(count: int) -> None:
        for n in range(count):
            made = WorkbookFactory(author=ada, title=f"Held {n}")
            moderate(made, Moderation.HELD, django_capture_on_commit_callbacks, reason="reports")

    hold(2)
    with CaptureQueriesContext(connection) as few:
        response = author.get("/u/ada/drafts/")
    assert response.content.decode().count('data-testid="moderation-notice"') == 2
    hold(10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = author.get("/u/ada/drafts/")
    assert response.content.decode().count('data-testid="moderation-notice"') == 12
