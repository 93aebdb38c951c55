"""The Report links (workbook page, each comment, a profile) and the report form behind them."""

import pytest
from django.test import Client

from moderation.models import Report
from tests.factories import WorkbookFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_workbook_page_each_comment_and_a_profile_link_to_the_report_form(
    workbook, comment, commenter
):
    page = Client().get(workbook.get_absolute_url()).content.decode()
    profile = Client().get(f"/u/{commenter.username}/").content.decode()

    assert f'href="/report/workbook/{workbook.pk}/"' in page
    assert f'href="/report/comment/{comment.pk}/"' in page
    assert f'href="/report/user/{commenter.username}/"' in profile


def test_a_member_reports_a_workbook_from_the_form(workbook, reporter):
    client = signed_in(reporter)
    form = client.get(f"/report/workbook/{workbook.pk}/")
    assert form.status_code == 200
    assert 'name="reason"' in form.content.decode()
    assert workbook.title in form.content.decode()

    sent = client.post(
        f"/report/workbook/{workbook.pk}/", {"reason": "copyright", "text": "Mine."}, follow=True
    )

    assert sent.redirect_chain[0] == (workbook.get_absolute_url(), 302)
    assert "moderators will look at your report" in sent.content.decode()
    report = Report.objects.get()
    assert (report.reporter, report.target_kind, report.target_id, report.reason, report.text) == (
        reporter,
        "workbook",
        workbook.pk,
        "copyright",
        "Mine.",
    )


def test_a_member_is_reported_by_username(commenter, reporter):
    sent = signed_in(reporter).post(f"/report/user/{commenter.username}/", {"reason": "abuse"})

    assert sent.status_code == 302
    assert sent["Location"] == f"/u/{commenter.username}/"
    assert Report.objects.get().target_id == commenter.pk


def test_the_form_shows_its_errors(workbook, reporter):
    client = signed_in(reporter)

    no_reason = client.post(f"/report/workbook/{workbook.pk}/", {"text": "Hm."})
    other_without_text = client.post(f"/report/workbook/{workbook.pk}/", {"reason": "other"})

    assert no_reason.status_code == other_without_text.status_code == 400
    assert "Say what is wrong" in other_without_text.content.decode()
    assert not Report.objects.exists()


def test_visitors_sign_in_first(workbook):
    response = Client().get(f"/report/workbook/{workbook.pk}/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_what_the_member_cannot_see_is_a_404(author, reporter):
    draft = WorkbookFactory(author=author, status="draft")
    client = signed_in(reporter)

    assert client.get(f"/report/workbook/{draft.pk}/").status_code == 404
    assert client.post(f"/report/workbook/{draft.pk}/", {"reason": "spam"}).status_code == 404
    assert client.get("/report/workbook/nope/").status_code == 404
    assert client.get("/report/comment/99999/").status_code == 404
    assert client.get("/report/user/nobody-here/").status_code == 404
    assert client.get("/report/photo/1/").status_code == 404
    assert not Report.objects.exists()


def test_own_content_and_a_second_report_are_refused_with_the_reason(
    workbook, author, comment, commenter, reporter
):
    own = [
        signed_in(author).get(f"/report/workbook/{workbook.pk}/"),
        signed_in(author).post(f"/report/user/{author.username}/", {"reason": "spam"}),
        signed_in(commenter).post(f"/report/comment/{comment.pk}/", {"reason": "spam"}),
    ]
    assert [page.status_code for page in own] == [400, 400, 400]
    assert "cannot report yourself" in own[0].content.decode()

    client = signed_in(reporter)
    assert client.post(f"/report/comment/{comment.pk}/", {"reason": "spam"}).status_code == 302
    again = client.post(f"/report/comment/{comment.pk}/", {"reason": "spam"})
    assert again.status_code == 400
    assert "already reported" in again.content.decode()
    assert Report.objects.count() == 1


def test_too_many_reports_is_a_429_that_keeps_what_was_written(settings, fresh_minute, reporter):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "report": 1}
    first, second = WorkbookFactory(), WorkbookFactory()
    client = signed_in(reporter)
    assert client.post(f"/report/workbook/{first.pk}/", {"reason": "spam"}).status_code == 302

    refused = client.post(
        f"/report/workbook/{second.pk}/", {"reason": "other", "text": "Looks like a phish."}
    )

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Looks like a phish." in refused.content.decode()
    assert Report.objects.count() == 1
