"""Report -> held -> a moderator's decision in the admin -> the author sees why -> the audit log,
which nobody can change; at the API and on the pages. Suspending from the admin ends the member's
sign-ins."""

import html
import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts import tokens
from moderation.admin import target_url
from moderation.models import ImmutableRow, ModerationAction, Report
from sigma_playground.models import Moderation
from tests.accounts.helpers import api_client_for
from tests.factories import PASSWORD
from tests.moderation.conftest import REPORTS_URL

pytestmark = pytest.mark.django_db


def report_by_api(member, target, ref, reason="spam", text=""):
    body = {"target": target, "id": ref, "reason": reason, "text": text}
    return api_client_for(member).post(REPORTS_URL, body, format="json")


def report_by_page(member, target, ref, reason="abuse", text=""):
    client = Client()
    client.force_login(member)
    return client.post(f"/report/{target}/{ref}/", {"reason": reason, "text": text})


def moderator_client(moderator) -> Client:
    client = Client()
    client.force_login(moderator)
    return client


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assert_the_log_cannot_change(entry: ModerationAction, admin: Client) -> None:
    entry = ModerationAction.objects.get(pk=entry.pk)
    before = ModerationAction.objects.values().get(pk=entry.pk)
    reason = entry.reason
    # In code: a save of a written row, a delete, and the querysets' update and delete.
    entry.reason = "Rewritten later."
    with pytest.raises(ImmutableRow):
        entry.save()
    with pytest.raises(ImmutableRow):
        entry.delete()
    with pytest.raises(ImmutableRow):
        ModerationAction.objects.filter(pk=entry.pk).update(reason="Rewritten later.")
    with pytest.raises(ImmutableRow):
        ModerationAction.objects.all().delete()
    # In the admin: it can be read, not added to, changed or deleted.
    changelist = admin.get("/admin/moderation/moderationaction/")
    assert changelist.status_code == 200
    assert reason in html.unescape(changelist.content.decode())
    assert 'name="action"' not in changelist.content.decode()  # no bulk delete
    detail = admin.get(f"/admin/moderation/moderationaction/{entry.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    url = f"/admin/moderation/moderationaction/{entry.pk}/"
    assert admin.post(f"{url}change/", {"reason": "Rewritten later."}).status_code == 403
    assert admin.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    assert admin.get("/admin/moderation/moderationaction/add/").status_code == 403
    assert ModerationAction.objects.values().get(pk=entry.pk) == before


def test_a_reported_workbook_is_held_unpublished_with_a_reason_and_logged_through_the_api(
    workbook, author, reporters, moderator, superuser, hold_at_three
):
    api_url = f"/api/v1/workbooks/{workbook.pk}/"
    for member in reporters[:2]:
        assert report_by_api(member, "workbook", workbook.pk).status_code == 201
    # A second report from the same member is refused, so it cannot add to the count.
    assert report_by_api(reporters[1], "workbook", workbook.pk).status_code == 400
    assert APIClient().get(api_url).status_code == 200

    assert report_by_api(reporters[2], "workbook", workbook.pk, "harmful").status_code == 201

    # Held: hidden from others, still there for its author and moderators.
    workbook.refresh_from_db()
    assert workbook.moderation == Moderation.HELD
    assert APIClient().get(api_url).status_code == 404
    assert api_client_for(reporters[3]).get(api_url).status_code == 404
    assert Client().get(workbook.get_absolute_url()).status_code == 404
    assert api_client_for(author).get(api_url).status_code == 200
    assert api_client_for(moderator).get(api_url).status_code == 200
    held = ModerationAction.objects.get()
    assert (held.action, held.moderator, held.target_kind, held.target_id) == (
        "hold",
        None,
        "workbook",
        workbook.pk,
    )
    assert "automatically" in held.reason

    # The moderator sees it in the queue and unpublishes it, with a reason, in the admin.
    admin = moderator_client(moderator)
    queue = admin.get("/admin/moderation/report/")
    assert queue.status_code == 200
    assert workbook.title in queue.content.decode()
    reason = "It copies another team's dashboard without permission."
    done = admin.post(
        target_url("workbook", workbook.pk), {"decision": "unpublish_workbook", "reason": reason}
    )
    assert done.status_code == 302

    workbook.refresh_from_db()
    assert (workbook.status, workbook.moderation, workbook.moderation_reason) == (
        "draft",
        Moderation.HIDDEN,
        reason,
    )
    # The author sees why; others still see nothing.
    own_page = page_client(author).get(workbook.get_absolute_url())
    assert own_page.status_code == 200
    assert reason in html.unescape(own_page.content.decode())
    assert api_client_for(reporters[0]).get(api_url).status_code == 404

    # The log says who, what, when and why; the reports are closed by that entry.
    entry = ModerationAction.objects.get(action="unpublish_workbook")
    assert (entry.moderator, entry.moderator_username, entry.reason) == (
        moderator,
        "moderator",
        reason,
    )
    assert (entry.target_kind, entry.target_id, entry.target_description) == (
        "workbook",
        workbook.pk,
        workbook.title,
    )
    assert entry.created_at is not None
    assert set(Report.objects.values_list("resolution", flat=True)) == {entry.pk}
    assert not Report.objects.open().exists()
    assert "Nothing to review" in admin.get("/admin/moderation/report/").content.decode()

    assert_the_log_cannot_change(entry, admin)
    superadmin = page_client(superuser)
    assert_the_log_cannot_change(entry, superadmin)


def test_a_reported_comment_is_held_hidden_with_a_reason_and_logged_through_the_pages(
    workbook, comment, commenter, reporters, moderator, hold_at_three
):
    for member in reporters[:3]:
        answer = report_by_page(member, "comment", comment.pk, "other", "Advertising watches.")
        assert answer.status_code == 302
        assert answer["Location"] == f"{workbook.get_absolute_url()}#comment-{comment.pk}"

    comment.refresh_from_db()
    assert comment.moderation == Moderation.HELD
    text = comment.body
    assert text not in Client().get(workbook.get_absolute_url()).content.decode()
    assert text not in page_client(reporters[3]).get(workbook.get_absolute_url()).content.decode()
    assert text in page_client(commenter).get(workbook.get_absolute_url()).content.decode()
    assert text in page_client(moderator).get(workbook.get_absolute_url()).content.decode()

    admin = moderator_client(moderator)
    review = admin.get(target_url("comment", comment.pk))
    assert review.status_code == 200
    assert review.content.decode().count("Advertising watches.") == 3
    # A reason is required.
    refused = admin.post(target_url("comment", comment.pk), {"decision": "hide_comment"})
    assert refused.status_code == 400
    comment.refresh_from_db()
    assert comment.moderation == Moderation.HELD

    reason = "Advertising is not allowed in comments."
    done = admin.post(
        target_url("comment", comment.pk), {"decision": "hide_comment", "reason": reason}
    )
    assert done.status_code == 302

    comment.refresh_from_db()
    assert (comment.moderation, comment.moderation_reason) == (Moderation.HIDDEN, reason)
    own = page_client(commenter).get(workbook.get_absolute_url()).content.decode()
    assert reason in own
    assert text not in Client().get(workbook.get_absolute_url()).content.decode()
    entry = ModerationAction.objects.get(action="hide_comment")
    assert (entry.moderator_username, entry.target_kind, entry.target_id, entry.reason) == (
        "moderator",
        "comment",
        comment.pk,
        reason,
    )
    assert not Report.objects.open().exists()
    assert_the_log_cannot_change(entry, admin)


def test_dismissing_shows_held_content_again_and_closes_the_reports(
    workbook, reporters, moderator, hold_at_three
):
    for member in reporters[:3]:
        report_by_api(member, "workbook", workbook.pk)
    workbook.refresh_from_db()
    assert workbook.moderation == Moderation.HELD

    done = moderator_client(moderator).post(
        target_url("workbook", workbook.pk),
        {"decision": "dismiss", "reason": "A fair comparison, not a copy."},
    )

    assert done.status_code == 302
    workbook.refresh_from_db()
    assert (workbook.moderation, workbook.status) == (Moderation.VISIBLE, "published")
    assert APIClient().get(f"/api/v1/workbooks/{workbook.pk}/").status_code == 200
    assert not Report.objects.open().exists()
    assert ModerationAction.objects.filter(action="dismiss", moderator=moderator).count() == 1


def test_suspending_from_the_admin_ends_the_members_sign_ins(commenter, reporter, moderator):
    assert report_by_api(reporter, "user", commenter.username, "abuse").status_code == 201
    session = Client()
    session.force_login(commenter)
    assert session.get("/settings/").status_code == 200
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.issue_tokens(commenter).access}")
    assert bearer.get("/api/v1/me/").status_code == 200

    done = moderator_client(moderator).post(
        target_url("user", commenter.pk),
        {"decision": "suspend", "period": "7", "reason": "Harassing other members."},
    )

    assert done.status_code == 302
    commenter.refresh_from_db()
    assert commenter.suspended_until is not None
    assert commenter.suspension_reason == "Harassing other members."
    assert session.get("/settings/").status_code == 302  # signed out
    assert bearer.get("/api/v1/me/").status_code in {401, 403}
    sign_in = Client().post(
        "/accounts/login/", {"username": commenter.username, "password": PASSWORD}
    )
    assert "Harassing other members." in sign_in.content.decode()
    entry = ModerationAction.objects.get(action="suspend")
    assert entry.target_id == commenter.pk
    assert re.search(r"until \d{4}-\d\d-\d\d", entry.reason)
    assert not Report.objects.open().exists()

    lifted = moderator_client(moderator).post(
        target_url("user", commenter.pk),
        {"decision": "lift_suspension", "reason": "Apologised."},
    )
    assert lifted.status_code == 302
    commenter.refresh_from_db()
    assert commenter.suspended_until is None
    assert ModerationAction.objects.filter(action="lift_suspension").count() == 1
