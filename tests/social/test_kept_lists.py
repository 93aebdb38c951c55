"""A member's feed and notifications: the rows are rendered once and kept while nothing they show
changes; each mark-read form's CSRF token is the viewer's own, filled in per request."""

import re

import pytest
from django.middleware.csrf import _unmask_cipher_token

from social import services
from social.models import Activity, Notification
from tests.factories import BROWSER, UserFactory, WorkbookFactory
from workbooks import cache as gallery_cache

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def rendered(response) -> set[str]:
    return {template.name for template in response.templates}


def get(client, url):
    response = client.get(url, HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200
    return response


@pytest.fixture
def reader(db):
    reader = UserFactory(username="reader")
    author = UserFactory(full_name="Ada Lovelace")
    WorkbookFactory(author=author, title="Revenue by region")  # published: an activity
    services.follow(reader, author)
    for _ in range(3):
        Notification.objects.create(recipient=reader, actor=author, verb="followed")
    return reader


@pytest.mark.parametrize(
    ("url", "rows"),
    [("/feed/", "social/inc/feed_items.html"), ("/notifications/", "social/inc/notification.html")],
)
def test_a_reload_reuses_the_rendered_rows(client, reader, url, rows):
    client.force_login(reader)
    first = get(client, url)
    assert rows in rendered(first)

    again = get(client, url)

    assert rows not in rendered(again)
    assert "Ada Lovelace" in again.content.decode()


def test_a_new_row_or_a_read_one_is_rendered_at_once(client, reader):
    client.force_login(reader)
    get(client, "/notifications/")
    get(client, "/feed/")
    author = UserFactory(full_name="Grace Hopper")
    Notification.objects.create(recipient=reader, actor=author, verb="followed")
    followee = reader.following_links.first().followee
    Activity.objects.create(actor=followee, verb="followed")
    # As the services that record a member's activity do (social.services._count).
    gallery_cache.object_changed("user", followee.pk)
    services.mark_read(reader)

    html = get(client, "/notifications/").content.decode()

    assert "Grace Hopper" in html
    assert "notification--unread" not in html
    assert get(client, "/feed/").content.decode().count("activity__item") == 2


def test_kept_rows_hold_no_csrf_token_and_each_form_gets_the_viewers(client, reader, monkeypatch):
    stored = {}
    real_set = gallery_cache.cache.set

    def recording_set(key, value, *args, **kwargs):
        stored[key] = value
        return real_set(key, value, *args, **kwargs)

    monkeypatch.setattr(gallery_cache.cache, "set", recording_set)
    client.force_login(reader)

    html = get(client, "/notifications/").content.decode()

    rows = [value for key, value in stored.items() if ":notifications:" in key]
    assert rows
    for value in rows:
        assert "csrfmiddlewaretoken" not in value
    # Three unread rows with a mark-read form each, "Mark all read", the muted kinds, signing out.
    secret = client.cookies["csrftoken"].value
    tokens = CSRF_INPUT.findall(html)
    assert len(tokens) == 6
    assert {_unmask_cipher_token(token) for token in tokens} == {secret}
