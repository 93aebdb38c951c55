"""The moderators' queue in the admin: one row per target, newest report first, with the number of
distinct members reporting, the reasons and links; its query count does not grow with the reports.
Only moderators (accounts.roles) see it and act."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.roles import MODERATOR_PERMISSIONS, MODERATORS_GROUP
from moderation import selectors, services
from moderation.admin import target_url
from moderation.models import ModerationAction, Report
from social import services as social_services
from social.models import Comment
from tests.factories import CuratorFactory, UserFactory, WorkbookFactory
from workbooks import services as workbook_services

pytestmark = pytest.mark.django_db

QUEUE = "/admin/moderation/report/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rows(response) -> list[str]:
    """The queue's rows in order, as "kind-id"."""
    html = response.content.decode()
    return [part.split('"')[0] for part in html.split('data-target="')[1:]]


def test_the_moderators_group_has_the_moderation_permissions():
    group = Group.objects.get(name=MODERATORS_GROUP)
    granted = {
        f"{permission.content_type.app_label}.{permission.codename}"
        for permission in group.permissions.select_related("content_type")
    }
    assert {
        "moderation.view_report",
        "moderation.change_report",
        "moderation.view_moderationaction",
    } <= granted
    assert granted == set(MODERATOR_PERMISSIONS)


def test_one_row_per_target_newest_report_first(
    workbook, comment, commenter, moderator, superuser, settings
):
    settings.MODERATION_HOLD_REPORTS = 100
    members = [UserFactory() for _ in range(3)]
    # The workbook: three members, two reasons; the comment's report comes later; then the member.
    for member, reason in zip(members, ["spam", "spam", "copyright"], strict=True):
        services.report(member, "workbook", workbook.pk, reason)
    services.report(members[0], "comment", comment.pk, "abuse")
    services.report(members[1], "user", commenter.username, "harmful")
    Report.objects.filter(target_kind="user").update(created_at=timezone.now())

    response = signed_in(moderator).get(QUEUE)

    assert response.status_code == 200
    assert rows(response) == [
        f"user-{commenter.pk}",
        f"comment-{comment.pk}",
        f"workbook-{workbook.pk}",
    ]
    html = response.content.decode()
    workbook_row = html.split(f'data-target="workbook-{workbook.pk}"')[1].split("</tr>")[0]
    assert "<td>3</td>" in workbook_row
    assert "Spam (2), Copyright (1)" in workbook_row
    assert f'href="{workbook.get_absolute_url()}"' in workbook_row
    assert f'href="/admin/workbooks/workbook/{workbook.pk}/change/"' in workbook_row
    assert f'href="{target_url("workbook", workbook.pk)}"' in workbook_row
    assert f"#comment-{comment.pk}" in html
    # A member's admin page is linked only for who may open it (moderators may not; superusers may).
    user_page = f'href="/admin/accounts/user/{commenter.pk}/change/"'
    assert user_page not in html
    assert user_page in signed_in(superuser).get(QUEUE).content.decode()
    # A single report opens with the others about its target.
    first = Report.objects.filter(target_kind="workbook").first()
    opened = signed_in(moderator).get(f"{QUEUE}{first.pk}/change/")
    assert opened.status_code == 302
    assert opened["Location"] == target_url("workbook", workbook.pk)


def test_the_queue_costs_the_same_queries_however_many_reports(moderator, settings):
    settings.MODERATION_HOLD_REPORTS = 1000
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "report": 1000}
    client = signed_in(moderator)
    client.get(QUEUE)  # the session and permissions, as on every admin page
    members = [UserFactory() for _ in range(6)]

    def add_targets(count: int) -> None:
        for _ in range(count):
            workbook = WorkbookFactory()
            comment = social_services.add_comment(UserFactory(), workbook, "Hello.")
            for member in members[:3]:
                services.report(member, "workbook", workbook.pk, "spam")
                services.report(member, "comment", comment.pk, "abuse")
            services.report(members[4], "user", workbook.author.username, "spam")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(QUEUE).status_code == 200
        return len(captured)

    add_targets(1)
    few = queries()
    add_targets(6)
    many = queries()

    assert many == few, (few, many)
    assert Report.objects.count() == 7 * 7


@pytest.mark.parametrize("who", ["member", "curator", "plain staff"])
def test_only_moderators_see_the_queue_and_act(workbook, reporter, who):
    services.report(reporter, "workbook", workbook.pk, "spam")
    user = {
        "member": lambda: UserFactory(),
        "curator": lambda: CuratorFactory(),
        "plain staff": lambda: UserFactory(is_staff=True),
    }[who]()
    client = signed_in(user)

    assert client.get(QUEUE).status_code in {302, 403}
    acted = client.post(
        target_url("workbook", workbook.pk), {"decision": "dismiss", "reason": "Fine."}
    )
    assert acted.status_code in {302, 403}
    assert Report.objects.open().count() == 1


def test_a_reviewer_without_the_change_permission_reads_but_cannot_act(workbook, reporter):
    services.report(reporter, "workbook", workbook.pk, "spam")
    reader = UserFactory(is_staff=True)
    reader.user_permissions.add(
        *Group.objects.get(name=MODERATORS_GROUP).permissions.filter(codename="view_report")
    )
    client = signed_in(reader)

    assert client.get(QUEUE).status_code == 200
    page = client.get(target_url("workbook", workbook.pk))
    assert page.status_code == 200
    assert "Act on it" not in page.content.decode()
    acted = client.post(
        target_url("workbook", workbook.pk), {"decision": "dismiss", "reason": "Fine."}
    )
    assert acted.status_code == 403
    assert Report.objects.open().count() == 1


def test_an_unknown_kind_or_a_gone_target(moderator, workbook, reporter):
    services.report(reporter, "workbook", workbook.pk, "spam")
    client = signed_in(moderator)
    assert client.get("/admin/moderation/report/target/photo/1/").status_code == 404

    workbook_id = workbook.pk
    workbook_services.delete_workbook(workbook)
    page = client.get(target_url("workbook", workbook_id))
    assert page.status_code == 200
    assert "no longer exists" in page.content.decode()
    # Its reports can still be closed.
    done = client.post(
        target_url("workbook", workbook_id), {"decision": "dismiss", "reason": "Deleted by author."}
    )
    assert done.status_code == 302
    assert not Report.objects.open().exists()


def test_a_suspension_needs_its_end_and_spares_staff(moderator, commenter):
    client = signed_in(moderator)
    url = target_url("user", commenter.pk)

    no_date = client.post(url, {"decision": "suspend", "period": "date", "reason": "Spam."})
    past = client.post(
        url, {"decision": "suspend", "period": "date", "until": "2001-01-01", "reason": "Spam."}
    )
    staff = client.post(
        target_url("user", moderator.pk), {"decision": "suspend", "period": "1", "reason": "No."}
    )

    assert [no_date.status_code, past.status_code, staff.status_code] == [400, 400, 400]
    commenter.refresh_from_db()
    moderator.refresh_from_db()
    assert commenter.suspended_until is None
    assert moderator.suspended_until is None
    until = client.post(
        url, {"decision": "suspend", "period": "date", "until": "2999-01-01", "reason": "Spam."}
    )
    assert until.status_code == 302
    commenter.refresh_from_db()
    assert commenter.suspended_until.year == 2999


def test_a_moderator_restores_what_was_hidden_from_the_logs_link(workbook, comment, moderator):
    services.hide_comment(moderator, comment, "Looked like spam.")
    services.unpublish_workbook(moderator, WorkbookFactory(author=workbook.author), "Copied.")
    client = signed_in(moderator)
    log = client.get("/admin/moderation/moderationaction/").content.decode()
    assert f'href="{target_url("comment", comment.pk)}"' in log
    assert "Restore it" in client.get(target_url("comment", comment.pk)).content.decode()

    done = client.post(
        target_url("comment", comment.pk), {"decision": "restore", "reason": "A real shop."}
    )

    assert done.status_code == 302
    comment.refresh_from_db()
    assert (comment.moderation, comment.moderation_reason) == ("", "")
    assert comment.body in Client().get(workbook.get_absolute_url()).content.decode()
    restored = ModerationAction.objects.get(action="restore")
    assert (restored.moderator, restored.target_id) == (moderator, comment.pk)


def test_the_log_and_a_targets_page_cost_the_same_queries_however_long(moderator, settings):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "report": 1000}
    settings.MODERATION_HOLD_REPORTS = 1000
    workbook = WorkbookFactory()
    client = signed_in(moderator)
    client.get(QUEUE)

    def grow(count: int) -> None:
        for _ in range(count):
            services.report(UserFactory(), "workbook", workbook.pk, "other", "Looks copied.")
            services.dismiss(moderator, selectors.target("user", moderator.pk), "Nothing.")

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    log = "/admin/moderation/moderationaction/"
    grow(1)
    few = queries(log), queries(target_url("workbook", workbook.pk))
    grow(8)
    many = queries(log), queries(target_url("workbook", workbook.pk))

    assert many == few
    assert Report.objects.open().count() == 9


def test_a_moderators_actions_are_rate_limited_per_minute(
    moderator, workbook, comment, commenter, reporter, settings, fresh_minute
):
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "moderate": 2}
    services.report(reporter, "workbook", workbook.pk, "spam")
    services.report(reporter, "comment", comment.pk, "spam")
    client = signed_in(moderator)

    dismissed = client.post(
        target_url("workbook", workbook.pk), {"decision": "dismiss", "reason": "Fine."}
    )
    hidden = client.post(
        target_url("comment", comment.pk), {"decision": "hide_comment", "reason": "Spam."}
    )
    suspended = client.post(
        target_url("user", commenter.pk),
        {"decision": "suspend", "period": "7", "reason": "Spamming again."},
    )

    assert [dismissed.status_code, hidden.status_code] == [302, 302]
    assert suspended.status_code == 429
    assert 0 < int(suspended["Retry-After"]) <= 60
    assert "Spamming again." in suspended.content.decode()  # what was typed stays
    commenter.refresh_from_db()
    assert commenter.suspended_until is None
    assert ModerationAction.objects.filter(action="suspend").count() == 0


def test_a_reported_workbook_or_comment_links_its_authors_page_to_suspend_them(
    moderator, workbook, author, comment, commenter, reporter
):
    client = signed_in(moderator)

    on_workbook = client.get(target_url("workbook", workbook.pk)).content.decode()
    on_comment = client.get(target_url("comment", comment.pk)).content.decode()
    authors_page = client.get(target_url("user", commenter.pk)).content.decode()

    assert f'href="{target_url("user", author.pk)}"' in on_workbook
    assert f'href="{target_url("user", commenter.pk)}"' in on_comment
    assert 'value="suspend"' in authors_page


def test_a_deleted_members_comment_links_no_author(moderator, comment):
    Comment.objects.filter(pk=comment.pk).update(author=None)

    page = signed_in(moderator).get(target_url("comment", comment.pk))

    assert page.status_code == 200
    assert "Its author" not in page.content.decode()
