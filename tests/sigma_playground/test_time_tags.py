"""How long ago, as the pages say it: "just now" under a minute, never "0 minutes ago", with the
exact time kept in <time datetime> for machines."""

from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template

from sigma_playground.templatetags.time_tags import ago
from social import services
from social.models import Activity, Verb
from tests.factories import UserFactory, WorkbookFactory
from tests.workbooks.markup import page

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("age", "said"),
    [
        (timedelta(0), "just now"),
        (timedelta(seconds=59), "just now"),
        (timedelta(seconds=-20), "just now"),  # another server's clock a little ahead
        (timedelta(seconds=60), "1\xa0minute ago"),
        (timedelta(minutes=5, seconds=30), "5\xa0minutes ago"),
        (timedelta(days=2, hours=3), "2\xa0days, 3\xa0hours ago"),
    ],
)
def test_ago_says_just_now_under_a_minute_and_how_long_otherwise(age, said):
    assert ago(NOW - age, NOW) == said


def test_ago_of_no_time_is_nothing():
    assert ago(None) == ""


def test_ago_is_loaded_by_name_in_any_template():
    rendered = Template("{% load time_tags %}{{ when|ago }}").render(Context({"when": NOW}))

    assert rendered.endswith(" ago")


def times(response) -> list[tuple[str, str]]:
    return [(time.attrs["datetime"], time.text) for time in page(response).find_all("time")]


@pytest.mark.django_db
def test_a_fresh_comment_feed_row_and_notification_say_just_now(client):
    owner, reader = UserFactory(), UserFactory()
    workbook = WorkbookFactory(author=owner)
    comment = services.add_comment(reader, workbook, "Nice")
    services.follow(reader, owner)
    Activity.objects.create(actor=owner, verb=Verb.FOLLOWED, subject=reader)
    exact = comment.created_at.isoformat()

    client.force_login(reader)
    on_workbook = times(client.get(workbook.get_absolute_url()))
    in_feed = times(client.get("/feed/"))
    client.force_login(owner)
    in_notifications = times(client.get("/notifications/"))

    assert (exact, "just now") in on_workbook
    assert {text for _, text in in_feed} == {"just now"}
    assert {text for _, text in in_notifications} == {"just now"}
    every = on_workbook + in_feed + in_notifications
    assert all(datetime.fromisoformat(stamp) for stamp, _ in every)  # machine-readable kept
    assert not [text for _, text in every if "0\xa0minutes" in text]
