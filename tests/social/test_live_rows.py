"""A notification added live is the notifications page's own row (the socket and the event stream
carry it as `html`, rendered from the page's row template), and a notification withdrawn (an
unfollow or unfavorite within the undo window, a deleted comment, a block) is taken away live: a
`withdrawn` message on the socket and the event stream, then the new unread count."""

import json
import re
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from social import payloads, push, selectors, services
from social.models import Comment, Notification, Verb
from tests.factories import UserFactory, WorkbookFactory
from tests.social.realtime import (
    STREAM_PATH,
    StreamClient,
    access,
    bearer,
    open_socket,
    parse_events,
    receive_all,
)

AVATAR = {"key": "avatars/ada", "fallback": "jpeg", "sizes": {"thumb": [150, 150]}}


def normalised(html: str) -> str:
    """The row with its whitespace collapsed and its CSRF token left out (the page fills that in
    for its own request; the live row's form gets the open page's)."""
    html = re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]*"', r'\1"', html)
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


def page_row(recipient, pk: int) -> str:
    client = Client()
    client.force_login(recipient)
    body = client.get("/notifications/").content.decode()
    match = re.search(rf'<li class="notification[^"]*" id="notification-{pk}">.*?</li>', body, re.S)
    assert match, body
    return match.group(0)


def live_row(pk: int) -> str:
    """The row as the socket and the stream send it when the notification is pushed."""
    [message] = [m for _, m in push.notification_messages([pk]) if m["type"] == "notification"]
    return message["notification"]["html"]


def resumed_row(recipient, pk: int) -> str:
    """The row as a resume (or the stream's replay) sends it."""
    [item] = selectors.notifications_after(recipient.pk, pk - 1, limit=1)
    return payloads.notification_message(item)["notification"]["html"]


def make(verb: str, recipient, actor, workbook) -> int:
    if verb == Verb.COMMENTED:
        services.add_comment(actor, workbook, "Which <b>regions</b> are in EMEA?")
        return Notification.objects.get(recipient=recipient, verb=verb).pk
    who = None if verb == Verb.EMBED_FAILING else actor
    return Notification.objects.create(
        recipient=recipient, actor=who, verb=verb, workbook=workbook
    ).pk


@pytest.mark.django_db
@pytest.mark.parametrize("verb", [verb.value for verb in Verb])
@pytest.mark.parametrize("pictured", [False, True], ids=["initial", "picture"])
def test_the_live_row_is_the_pages_row_for_each_verb(verb, pictured):
    bea = UserFactory(username="bea", full_name="Bea Author")
    ada = UserFactory(
        username="ada", full_name='Ada "<Lovelace>"', avatar=AVATAR if pictured else None
    )
    workbook = WorkbookFactory(author=bea, title='Revenue <by> "region" & more')
    pk = make(verb, bea, ada, workbook)

    server = normalised(page_row(bea, pk))
    assert normalised(live_row(pk)) == server
    assert normalised(resumed_row(bea, pk)) == server
    # Escaped as the page escapes it, and no page slot's marker leaves the server.
    assert "<by>" not in live_row(pk)
    assert "<!--" not in live_row(pk)
    assert 'name="csrfmiddlewaretoken"' in live_row(pk)


@pytest.mark.django_db
def test_a_published_fan_out_row_is_the_pages_row_for_each_follower():
    ada = UserFactory(username="ada", full_name="Ada Author", avatar=AVATAR)
    workbook = WorkbookFactory(author=ada, title="Churn <cohorts>")
    followers = [UserFactory(username=f"f{n}") for n in range(3)]
    made = timezone.now()
    rows = []
    for follower in followers:
        item = Notification.objects.create(
            recipient=follower, actor=ada, verb=Verb.PUBLISHED, workbook=workbook, created_at=made
        )
        rows.append((item.pk, follower.pk, 0, 1))
    Notification.objects.update(created_at=made)  # stored as the fan-out stores them: one time

    messages = push.published_messages(workbook, made, rows)

    sent = {m["notification"]["id"]: m for _, m in messages if m["type"] == "notification"}
    for (pk, _, _, _), follower in zip(rows, followers, strict=True):
        assert normalised(sent[pk]["notification"]["html"]) == normalised(page_row(follower, pk))


# --- Withdrawn, live ------------------------------------------------------------------------------


def on_socket(user, action, *, resume: bool = True) -> list[dict]:
    async def run():
        communicator = await open_socket(user, resume=resume)
        await database_sync_to_async(action)()
        messages = await receive_all(communicator)
        await communicator.disconnect()
        return messages

    return async_to_sync(run)()


@pytest.mark.parametrize("resume", [True, False], ids=["live", "before-its-resume"])
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("in_memory_layer")
def test_an_unfollow_within_the_undo_window_withdraws_the_notification_on_the_socket(
    owner, outsider, resume
):
    services.follow(outsider, owner)
    pk = Notification.objects.get(recipient=owner, verb=Verb.FOLLOWED).pk

    messages = on_socket(owner, lambda: services.unfollow(outsider, owner), resume=resume)

    # A socket whose first resume is not answered yet is told too: its page shows the row.
    assert {"type": "withdrawn", "id": pk} in messages
    if resume:
        assert messages == [{"type": "withdrawn", "id": pk}, {"type": "unread_count", "count": 0}]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("in_memory_layer")
def test_an_unfollow_after_the_undo_window_withdraws_nothing(owner, outsider):
    services.follow(outsider, owner)
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=16))

    messages = on_socket(owner, lambda: services.unfollow(outsider, owner))

    assert messages == []
    assert Notification.objects.filter(recipient=owner).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("in_memory_layer")
def test_an_unfavorite_within_the_undo_window_withdraws_the_notification(owner, outsider):
    workbook = WorkbookFactory(author=owner)
    services.favorite(outsider, workbook)
    pk = Notification.objects.get(recipient=owner, verb=Verb.FAVORITED).pk

    messages = on_socket(owner, lambda: services.unfavorite(outsider, workbook))

    assert messages == [{"type": "withdrawn", "id": pk}, {"type": "unread_count", "count": 0}]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("in_memory_layer")
def test_deleting_a_comment_withdraws_its_notification(owner, outsider):
    workbook = WorkbookFactory(author=owner)
    comment = services.add_comment(outsider, workbook, "Lovely maps")
    kept = Notification.objects.create(recipient=owner, actor=outsider, verb=Verb.FOLLOWED)
    pk = Notification.objects.get(recipient=owner, verb=Verb.COMMENTED).pk

    messages = on_socket(
        owner, lambda: services.delete_comment(outsider, Comment.objects.get(pk=comment.pk))
    )

    assert messages == [{"type": "withdrawn", "id": pk}, {"type": "unread_count", "count": 1}]
    assert Notification.objects.filter(pk=kept.pk).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("in_memory_layer")
def test_the_event_stream_says_withdrawn_without_moving_last_event_id(owner, outsider):
    workbook = WorkbookFactory(author=owner)
    services.follow(outsider, owner)
    services.favorite(outsider, workbook)
    followed = Notification.objects.get(recipient=owner, verb=Verb.FOLLOWED).pk
    favorited = Notification.objects.get(recipient=owner, verb=Verb.FAVORITED).pk

    async def run():
        client = await StreamClient(STREAM_PATH, [bearer(access(owner))]).start()
        await client.read_until("event: unread_count")
        await database_sync_to_async(services.unfollow)(outsider, owner)
        await client.read_until('"count":1')
        await client.hang_up()
        return parse_events(client.body)

    events = async_to_sync(run)()

    withdrawn = [e for e in events if e.get("event") == "withdrawn"]
    assert withdrawn == [
        {"event": "withdrawn", "data": json.dumps({"id": followed}, separators=(",", ":"))}
    ]
    assert events[-1] == {"event": "unread_count", "data": '{"count":1}'}
    assert Notification.objects.filter(pk=favorited).exists()
