"""A comment moderators hold or hide (social.services.moderate_comment) is shown to nobody but its
author, with the reason, and moderators: on the workbook page (a kept copy shared by every reader,
cut per viewer) and in the comments API. The workbook's comment_count counts only the comments
every reader sees, and stays exact through holding, hiding, restoring and deleting."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sigma_playground.models import Moderation
from social import services
from social.models import Comment
from tests.factories import BROWSER, ModeratorFactory, UserFactory
from tests.social.conftest import client_for
from workbooks.models import Workbook

pytestmark = pytest.mark.django_db

BODY = "Buy cheap followers now"
REASON = "Spam"
HELD_OR_HIDDEN = [Moderation.HELD, Moderation.HIDDEN]


@pytest.fixture
def commenter(db):
    return UserFactory(username="commenter")


@pytest.fixture
def comment(workbook, commenter) -> Comment:
    services.add_comment(commenter, workbook, "A fair question about Q3")
    return services.add_comment(commenter, workbook, BODY)


def browser_for(user=None) -> Client:
    browser = Client()
    if user is not None:
        browser.force_login(user)
    return browser


def page_text(browser: Client, workbook: Workbook) -> str:
    response = browser.get(workbook.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200
    return response.content.decode()


def api_bodies(client, workbook: Workbook) -> list[str]:
    response = client.get(f"/api/v1/workbooks/{workbook.pk}/comments/")
    assert response.status_code == 200
    return [row["body"] for row in response.json()["results"]]


def comment_count(workbook: Workbook) -> int:
    return Workbook.objects.values_list("comment_count", flat=True).get(pk=workbook.pk)


# --- Who sees it ----------------------------------------------------------------------------------


@pytest.mark.parametrize("moderation", HELD_OR_HIDDEN)
def test_others_no_longer_see_it_on_the_page_kept_copies_included(
    workbook, comment, outsider, moderation
):
    visitor, member, owner_page = browser_for(), browser_for(outsider), browser_for(workbook.author)
    for browser in (visitor, member, owner_page):
        assert BODY in page_text(browser, workbook)  # and kept so

    services.moderate_comment(comment, moderation=moderation, reason=REASON)

    for browser in (visitor, member, owner_page):  # the workbook's author too
        text = page_text(browser, workbook)
        assert BODY not in text
        assert "A fair question about Q3" in text
        assert REASON not in text


@pytest.mark.parametrize("moderation", HELD_OR_HIDDEN)
def test_others_no_longer_get_it_from_the_api(
    workbook, comment, anonymous, outsider_client, owner_client, moderation
):
    services.moderate_comment(comment, moderation=moderation, reason=REASON)

    for client in (anonymous, outsider_client, owner_client):
        assert api_bodies(client, workbook) == ["A fair question about Q3"]
        assert client.get(f"/api/v1/comments/{comment.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("moderation", "notice"),
    [
        (Moderation.HELD, f"Held for review after reports: {REASON}."),
        (Moderation.HIDDEN, f"Hidden by a moderator: {REASON}."),
    ],
)
def test_its_author_sees_it_with_the_reason(workbook, comment, commenter, moderation, notice):
    services.moderate_comment(comment, moderation=moderation, reason=REASON)

    text = page_text(browser_for(commenter), workbook)
    assert BODY in text
    assert notice in text

    api = client_for(commenter)
    rows = api.get(f"/api/v1/workbooks/{workbook.pk}/comments/").json()["results"]
    assert [(row["body"], row["moderation"], row["moderation_reason"]) for row in rows] == [
        ("A fair question about Q3", "", ""),
        (BODY, moderation, REASON),
    ]
    assert api.get(f"/api/v1/comments/{comment.pk}/").json()["moderation"] == moderation


def test_moderators_see_it(workbook, comment):
    services.moderate_comment(comment, moderation=Moderation.HIDDEN, reason=REASON)
    moderator = ModeratorFactory(username="mod")

    assert BODY in page_text(browser_for(moderator), workbook)
    assert BODY in api_bodies(client_for(moderator), workbook)


def test_restored_everyone_sees_it_again(workbook, comment, outsider):
    visitor = browser_for()
    services.moderate_comment(comment, moderation=Moderation.HIDDEN, reason=REASON)
    assert BODY not in page_text(visitor, workbook)  # and kept so

    restored = services.moderate_comment(comment, moderation=Moderation.VISIBLE)

    assert (restored.moderation, restored.moderation_reason) == ("", "")
    assert BODY in page_text(visitor, workbook)
    assert BODY in page_text(browser_for(outsider), workbook)
    assert "Hidden by a moderator" not in page_text(visitor, workbook)


def test_a_blocker_and_a_held_comment_both_leave_the_list(workbook, comment, outsider):
    """Blocking and moderation narrow the same kept list, each for its own reason."""
    other = services.add_comment(outsider, workbook, "Another view")
    services.moderate_comment(comment, moderation=Moderation.HELD, reason=REASON)
    services.block(workbook.author, outsider)

    text = page_text(browser_for(workbook.author), workbook)

    assert "A fair question about Q3" in text
    assert BODY not in text
    assert other.body not in text


# --- Counters -------------------------------------------------------------------------------------


def test_comment_count_counts_only_the_comments_everyone_sees(workbook, comment, commenter):
    assert comment_count(workbook) == 2

    services.moderate_comment(comment, moderation=Moderation.HELD, reason=REASON)
    assert comment_count(workbook) == 1
    services.moderate_comment(comment, moderation=Moderation.HIDDEN, reason=REASON)
    assert comment_count(workbook) == 1  # still not seen: not counted twice
    services.moderate_comment(comment, moderation=Moderation.VISIBLE)
    assert comment_count(workbook) == 2
    services.moderate_comment(comment, moderation=Moderation.VISIBLE)
    assert comment_count(workbook) == 2


def test_deleting_a_hidden_comment_does_not_count_it_down_again(workbook, comment, commenter):
    services.moderate_comment(comment, moderation=Moderation.HIDDEN, reason=REASON)

    services.delete_comment(commenter, comment)

    assert comment_count(workbook) == 1
    assert (
        comment_count(workbook)
        == Comment.objects.filter(workbook=workbook, moderation=Moderation.VISIBLE).count()
    )


def test_the_pages_count_follows(workbook, comment):
    """The workbook page's kept copy holds the count: retired with it."""
    visitor = browser_for()
    page_text(visitor, workbook)

    services.moderate_comment(comment, moderation=Moderation.HIDDEN, reason=REASON)

    card = visitor.get(f"/api/v1/workbooks/{workbook.pk}/").json()
    assert card["comment_count"] == 1


# --- Bad input ------------------------------------------------------------------------------------


def test_an_unknown_state_or_a_reason_too_long_is_refused(workbook, comment):
    with pytest.raises(ValidationError):
        services.moderate_comment(comment, moderation="gone")
    with pytest.raises(ValidationError):
        services.moderate_comment(comment, moderation=Moderation.HIDDEN, reason="x" * 501)
    comment.refresh_from_db()
    assert comment.moderation == Moderation.VISIBLE
    assert comment_count(workbook) == 2


def test_a_comment_deleted_meanwhile_is_not_found(workbook, comment, commenter):
    stale = Comment.objects.get(pk=comment.pk)
    services.delete_comment(commenter, comment)

    with pytest.raises(Comment.DoesNotExist):
        services.moderate_comment(stale, moderation=Moderation.HIDDEN, reason=REASON)
    assert comment_count(workbook) == 1


# --- Query counts ---------------------------------------------------------------------------------


def _queries(request) -> int:
    with CaptureQueriesContext(connection) as captured:
        request()
    return len(captured.captured_queries)


@pytest.mark.parametrize("viewer", ["commenter", "outsider", "moderator"])
def test_the_comments_cost_the_same_queries_for_4_and_for_30_with_some_hidden(
    workbook, commenter, outsider, viewer, settings
):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "comment": 1000}
    who = {"commenter": commenter, "outsider": outsider, "moderator": ModeratorFactory()}[viewer]
    api, browser = client_for(who), browser_for(who)

    def grow(have: int, total: int) -> None:
        for n in range(have, total):
            author = commenter if n % 2 else UserFactory()
            made = services.add_comment(author, workbook, f"Comment {n}")
            if n % 3 == 0:
                services.moderate_comment(made, moderation=Moderation.HIDDEN, reason=REASON)

    def read() -> None:
        assert api.get(f"/api/v1/workbooks/{workbook.pk}/comments/").status_code == 200
        assert browser.get(workbook.get_absolute_url(), HTTP_USER_AGENT=BROWSER).status_code == 200

    # Each count is taken right after the same changes (comments by others and by the commenter,
    # whose own token moves with theirs), as a reader meets them: the page's kept copy, its
    # comments and the commenter's buttons' state are made again.
    grow(0, 2)
    read()  # what a process reads once
    grow(2, 4)
    few = _queries(read)
    grow(4, 30)
    many = _queries(read)

    assert few == many
