"""GET and POST /api/v1/workbooks/{id}/comments/; GET, PATCH and DELETE /api/v1/comments/{id}/."""

from datetime import timedelta

import pytest
from django.urls import resolve
from django.utils import timezone

from social import services
from social.api import views
from social.models import Comment, Notification
from workbooks.models import Workbook

pytestmark = pytest.mark.django_db

COMMENT_FIELDS = {
    "id", "workbook", "author", "body", "created_at", "edited_at", "can_edit", "can_delete",
    "moderation", "moderation_reason",
}  # fmt: skip


def comments_url(workbook) -> str:
    return f"/api/v1/workbooks/{workbook.pk}/comments/"


def comment_url(comment) -> str:
    return f"/api/v1/comments/{comment.pk}/"


def bodies(response) -> list[str]:
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"next", "previous", "results"}
    return [item["body"] for item in response.json()["results"]]


def comment_count(workbook) -> int:
    workbook.refresh_from_db()
    return workbook.comment_count


@pytest.fixture
def comment(workbook, outsider):
    """The outsider's comment on the owner's workbook."""
    return services.add_comment(outsider, workbook, "Lovely charts.")


@pytest.fixture
def draft_comment(draft, owner):
    """A comment from when the draft was published (it has been unpublished since)."""
    Workbook.objects.filter(pk=draft.pk).update(status="published", published_at=timezone.now())
    draft.refresh_from_db()
    comment = services.add_comment(owner, draft, "Check the Q3 numbers.")
    Workbook.objects.filter(pk=draft.pk).update(status="draft")
    return comment


def test_the_routes_are_social_s_not_the_workbooks_router_s(comment):
    assert resolve(comments_url(comment.workbook)).func.view_class is views.CommentListView
    assert resolve(comment_url(comment)).func.view_class is views.CommentView


# --- Reading --------------------------------------------------------------------------------------


def test_anyone_can_read_a_published_workbook_s_comments_oldest_first(anonymous, workbook, owner):
    services.add_comment(owner, workbook, "First")
    services.add_comment(owner, workbook, "Second")

    response = anonymous.get(comments_url(workbook))

    assert bodies(response) == ["First", "Second"]
    item = response.json()["results"][0]
    assert set(item) == COMMENT_FIELDS
    assert item["author"] == {"username": "owner", "full_name": owner.full_name, "avatar": None}
    assert (item["workbook"], item["edited_at"]) == (workbook.pk, None)
    assert (item["can_edit"], item["can_delete"]) == (False, False)


@pytest.mark.parametrize(
    ("client_name", "can_edit", "can_delete"),
    [
        ("outsider_client", True, True),  # wrote it
        ("owner_client", False, True),  # wrote the workbook
        ("staff_client", False, True),
        ("anonymous", False, False),
    ],
)
def test_each_comment_says_what_the_viewer_may_do(
    request, comment, client_name, can_edit, can_delete
):
    client = request.getfixturevalue(client_name)

    (item,) = client.get(comments_url(comment.workbook)).json()["results"]

    assert (item["can_edit"], item["can_delete"]) == (can_edit, can_delete)


def test_one_comment_can_be_read_on_its_own(anonymous, comment):
    response = anonymous.get(comment_url(comment))

    assert response.status_code == 200
    assert response.json()["body"] == "Lovely charts."


@pytest.mark.parametrize("client_name", ["outsider_client", "anonymous"])
def test_a_draft_s_comments_are_a_404_to_others(request, draft_comment, client_name):
    client = request.getfixturevalue(client_name)

    assert client.get(comments_url(draft_comment.workbook)).status_code == 404
    assert client.get(comment_url(draft_comment)).status_code == 404


@pytest.mark.parametrize("client_name", ["owner_client", "staff_client"])
def test_a_draft_s_comments_are_there_for_its_author_and_staff(request, draft_comment, client_name):
    client = request.getfixturevalue(client_name)

    assert bodies(client.get(comments_url(draft_comment.workbook))) == ["Check the Q3 numbers."]


def test_an_unknown_workbook_or_comment_is_a_404(anonymous):
    assert anonymous.get("/api/v1/workbooks/999999/comments/").status_code == 404
    assert anonymous.get("/api/v1/comments/999999/").status_code == 404


# --- Writing --------------------------------------------------------------------------------------


def test_posting_a_comment_answers_201_with_it(outsider_client, workbook, owner):
    response = outsider_client.post(comments_url(workbook), {"body": "  Lovely  "}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == COMMENT_FIELDS
    assert (body["body"], body["author"]["username"]) == ("Lovely", "outsider")
    assert (body["can_edit"], body["can_delete"]) == (True, True)
    assert comment_count(workbook) == 1
    assert Notification.objects.get().verb == "commented"


def test_a_comment_of_exactly_the_longest_length_is_fine(outsider_client, workbook):
    body = "x" * Comment.MAX_LENGTH

    assert (
        outsider_client.post(comments_url(workbook), {"body": body}, format="json").status_code
        == 201
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"body": ""}, id="empty"),
        pytest.param({"body": "   \n  "}, id="whitespace"),
        pytest.param({"body": "x" * (Comment.MAX_LENGTH + 1)}, id="too long"),
        pytest.param({}, id="missing"),
        pytest.param({"body": None}, id="null"),
        pytest.param({"body": ["a", "list"]}, id="not text"),
    ],
)
def test_a_blank_missing_or_too_long_comment_is_a_400(outsider_client, workbook, body):
    response = outsider_client.post(comments_url(workbook), body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["body"]
    assert comment_count(workbook) == 0


def test_an_anonymous_visitor_cannot_comment(anonymous, workbook):
    response = anonymous.post(comments_url(workbook), {"body": "Hi"}, format="json")

    assert response.status_code == 401
    assert not Comment.objects.exists()


def test_nobody_else_can_comment_on_a_draft(outsider_client, draft):
    response = outsider_client.post(comments_url(draft), {"body": "Hi"}, format="json")

    assert response.status_code == 404
    assert not Comment.objects.exists()


def test_commenting_too_often_is_a_429_with_retry_after(rate_limits, outsider_client, workbook):
    for n in range(2):
        outsider_client.post(comments_url(workbook), {"body": f"{n}"}, format="json")

    response = outsider_client.post(comments_url(workbook), {"body": "more"}, format="json")

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert comment_count(workbook) == 2


# --- Editing --------------------------------------------------------------------------------------


def test_its_author_may_edit_a_comment_at_first(outsider_client, comment):
    response = outsider_client.patch(comment_url(comment), {"body": "Lovely!"}, format="json")

    assert response.status_code == 200
    assert response.json()["body"] == "Lovely!"
    assert response.json()["edited_at"] is not None
    comment.refresh_from_db()
    assert comment.body == "Lovely!"


def test_an_empty_patch_changes_nothing(outsider_client, comment):
    response = outsider_client.patch(comment_url(comment), {}, format="json")

    assert response.status_code == 200
    assert response.json()["edited_at"] is None


def test_its_author_may_not_edit_a_comment_after_15_minutes(outsider_client, comment):
    Comment.objects.filter(pk=comment.pk).update(
        created_at=timezone.now() - Comment.EDIT_WINDOW - timedelta(seconds=1)
    )

    response = outsider_client.patch(comment_url(comment), {"body": "Too late"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "15 minutes" in response.json()["detail"]


@pytest.mark.parametrize("client_name", ["owner_client", "staff_client"])
def test_nobody_else_may_edit_a_comment(request, comment, client_name):
    client = request.getfixturevalue(client_name)

    response = client.patch(comment_url(comment), {"body": "Rewritten"}, format="json")

    assert response.status_code == 403
    comment.refresh_from_db()
    assert comment.body == "Lovely charts."


def test_someone_else_s_blank_edit_is_a_403_before_it_is_a_400(owner_client, comment):
    assert owner_client.patch(comment_url(comment), {"body": ""}, format="json").status_code == 403


def test_an_edit_to_blank_is_a_400(outsider_client, comment):
    response = outsider_client.patch(comment_url(comment), {"body": "  "}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["body"]


def test_an_anonymous_visitor_cannot_edit_or_delete(anonymous, comment):
    assert anonymous.patch(comment_url(comment), {"body": "x"}, format="json").status_code == 401
    assert anonymous.delete(comment_url(comment)).status_code == 401


def test_put_is_not_allowed(outsider_client, comment):
    assert (
        outsider_client.put(comment_url(comment), {"body": "x"}, format="json").status_code == 405
    )


# --- Deleting -------------------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ["outsider_client", "owner_client", "staff_client"])
def test_its_author_the_workbook_s_author_or_staff_may_delete_a_comment(
    request, comment, client_name
):
    client = request.getfixturevalue(client_name)

    response = client.delete(comment_url(comment))

    assert response.status_code == 204
    assert not Comment.objects.exists()
    assert comment_count(comment.workbook) == 0


def test_nobody_else_may_delete_a_comment(stranger_client, comment, workbook):
    response = stranger_client.delete(comment_url(comment))

    assert response.status_code == 403
    assert "Only the comment's author" in response.json()["detail"]
    assert comment_count(workbook) == 1


def test_a_comment_on_a_draft_the_viewer_cannot_see_is_a_404_not_a_403(
    outsider_client, draft_comment
):
    assert outsider_client.delete(comment_url(draft_comment)).status_code == 404
    assert Comment.objects.filter(pk=draft_comment.pk).exists()


def test_deleting_twice_is_a_404_the_second_time(outsider_client, comment):
    assert outsider_client.delete(comment_url(comment)).status_code == 204
    assert outsider_client.delete(comment_url(comment)).status_code == 404
    assert comment_count(comment.workbook) == 0
