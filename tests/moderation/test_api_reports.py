"""POST /api/v1/reports/: what a member may report, the answers, one open report per member and
target, the rate limit and Idempotency-Key."""

import pytest
from rest_framework.test import APIClient

from moderation import selectors, services
from moderation.models import Report
from tests.accounts.helpers import api_client_for
from tests.factories import UserFactory, WorkbookFactory
from tests.moderation.conftest import REPORTS_URL

pytestmark = pytest.mark.django_db


def post(client, target, ref, reason="spam", text="", **headers):
    body = {"target": target, "id": ref, "reason": reason, "text": text}
    return client.post(REPORTS_URL, body, format="json", headers=headers)


def test_a_member_reports_a_workbook(workbook, reporter):
    response = post(api_client_for(reporter), "workbook", workbook.pk, "copyright", "Not theirs.")

    assert response.status_code == 201, response.json()
    body = response.json()
    report = Report.objects.get()
    assert body == {
        "id": report.pk,
        "target": "workbook",
        "target_id": workbook.pk,
        "reason": "copyright",
        "text": "Not theirs.",
        "created_at": body["created_at"],
    }
    assert (report.reporter, report.target_kind, report.target_id) == (
        reporter,
        "workbook",
        workbook.pk,
    )
    assert report.is_open


def test_a_comment_by_id_and_a_member_by_username(comment, commenter, reporter):
    client = api_client_for(reporter)

    by_comment = post(client, "comment", comment.pk, "spam")
    by_member = post(client, "user", commenter.username.upper(), "abuse")

    assert by_comment.status_code == 201, by_comment.json()
    assert by_member.status_code == 201, by_member.json()
    assert by_member.json()["target_id"] == commenter.username.upper()
    assert set(Report.objects.values_list("target_kind", "target_id")) == {
        ("comment", comment.pk),
        ("user", commenter.pk),
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"target": "workbook", "reason": "spam"}, "id"),
        ({"target": "workbook", "id": "x", "reason": "spam"}, "id"),
        ({"target": "workbook", "id": 0, "reason": "spam"}, "id"),
        ({"target": "workbook", "id": True, "reason": "spam"}, "id"),
        ({"target": "workbook", "id": "9" * 5000, "reason": "spam"}, "id"),
        ({"target": "comment", "id": "9" * 20, "reason": "spam"}, "id"),
        ({"target": "workbook", "id": 2**63, "reason": "spam"}, "id"),
        ({"target": "user", "id": 5, "reason": "spam"}, "id"),
        ({"target": "photo", "id": "WB", "reason": "spam"}, "target"),
        ({"target": "workbook", "id": "WB", "reason": "boring"}, "reason"),
        ({"target": "workbook", "id": "WB", "reason": "other"}, "text"),
        ({"target": "workbook", "id": "WB", "reason": "other", "text": "   "}, "text"),
        ({"target": "workbook", "id": "WB", "reason": "spam", "text": "x" * 1001}, "text"),
    ],
)
def test_bad_input_is_a_400_on_its_field(workbook, reporter, body, field):
    if body.get("id") == "WB":
        body = {**body, "id": workbook.pk}

    response = api_client_for(reporter).post(REPORTS_URL, body, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert not Report.objects.exists()


def test_what_the_member_cannot_see_is_a_404_like_what_does_not_exist(author, reporter):
    draft = WorkbookFactory(author=author, status="draft")
    gone = UserFactory(username="gone", is_active=False)
    client = api_client_for(reporter)

    answers = [
        post(client, "workbook", draft.pk),
        post(client, "workbook", draft.pk + 1000),
        post(client, "comment", 987654),
        post(client, "user", gone.username),
        post(client, "user", "nobody-at-all"),
    ]

    assert [answer.status_code for answer in answers] == [404] * 5
    assert {answer.json()["code"] for answer in answers} == {"not_found"}
    assert not Report.objects.exists()


def test_nobody_reports_themselves_or_their_own_content(workbook, author, comment, commenter):
    answers = [
        post(api_client_for(author), "workbook", workbook.pk),
        post(api_client_for(author), "user", author.username),
        post(api_client_for(commenter), "comment", comment.pk),
    ]

    assert [answer.status_code for answer in answers] == [400] * 3
    assert {answer.json()["code"] for answer in answers} == {"own_content"}
    assert not Report.objects.exists()


def test_one_open_report_per_member_and_target(workbook, reporter, moderator):
    client = api_client_for(reporter)
    assert post(client, "workbook", workbook.pk).status_code == 201

    again = post(client, "workbook", workbook.pk, "abuse", "And rude.")

    assert again.status_code == 400
    assert again.json()["code"] == "already_reported"
    assert Report.objects.count() == 1
    # Once moderators closed it, the member may report it again.
    services.dismiss(moderator, selectors.target("workbook", workbook.pk), "Fine.")
    assert post(client, "workbook", workbook.pk).status_code == 201
    assert Report.objects.count() == 2


def test_reports_are_rate_limited_per_member(settings, fresh_minute, reporters):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "report": 2}
    workbooks = WorkbookFactory.create_batch(3)
    client = api_client_for(reporters[0])

    answers = [post(client, "workbook", workbook.pk).status_code for workbook in workbooks]
    other = post(api_client_for(reporters[1]), "workbook", workbooks[2].pk)

    assert answers == [201, 201, 429]
    assert other.status_code == 201  # per member
    refused = post(client, "workbook", workbooks[2].pk)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert Report.objects.count() == 3


def test_signing_in_comes_first(workbook):
    response = post(APIClient(), "workbook", workbook.pk)

    assert response.status_code == 401
    assert not Report.objects.exists()


def test_a_retried_report_with_its_idempotency_key_answers_the_first_answer(workbook, reporter):
    client = api_client_for(reporter)

    first = post(client, "workbook", workbook.pk, **{"Idempotency-Key": "report-1"})
    retried = post(client, "workbook", workbook.pk, **{"Idempotency-Key": "report-1"})

    assert first.status_code == retried.status_code == 201
    assert retried.json() == first.json()
    assert retried["Idempotent-Replayed"] == "true"
    assert Report.objects.count() == 1
