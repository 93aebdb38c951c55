"""The notification as clients see it, the same over REST, the websocket and the event stream."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any, Literal, TypedDict, overload

from django.template.loader import render_to_string
from django.urls import reverse

from media.api.fields import picture_urls
from workbooks import slots

from .models import Notification

if TYPE_CHECKING:
    from accounts.models import User

    from .selectors import NotificationWithPrevious


class NotificationMessage(TypedDict):
    type: Literal["notification"]
    notification: dict[str, Any]


class PushedNotification(NotificationMessage):
    """A notification as social.push sends it to the member's connections: with `previous`, the id
    of the member's notification before it when it was pushed (0: none). The connections send
    clients the `NotificationMessage` without it."""

    previous: int


class UnreadCountMessage(TypedDict):
    type: Literal["unread_count"]
    count: int


class WithdrawnMessage(TypedDict):
    """A notification deleted because what it told of was undone (an unfollow or unfavorite within
    the undo window, a deleted comment, a block): a page showing it takes it away."""

    type: Literal["withdrawn"]
    id: int


# What social.push sends a member's connections, in order.
PushMessage = PushedNotification | UnreadCountMessage | WithdrawnMessage

# The row's template, the one the notifications page renders its rows with.
ROW_TEMPLATE = "social/inc/notification.html"
# What the row's "Mark read" form carries instead of the page's CSRF slot: the page fills the value
# in from its own token (a pushed row is made for no request, and a slot marker must not leave the
# server: it carries a token of the site's).
LIVE_CSRF_FIELD = '<input type="hidden" name="csrfmiddlewaretoken" value="">'
# Stands for the id in a row made once for many recipients (`shared_row`): random, so no title or
# name a member wrote can contain it.
ID_STAND_IN = f"notification-id-{secrets.token_hex(8)}"


@overload
def person(user: None) -> None: ...
@overload
def person(user: User) -> dict[str, Any]: ...
def person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    # Paths relative to the site unless media has its own origin: the socket has no request to
    # build absolute URLs from.
    return {
        "username": user.username,
        "full_name": user.full_name,
        "avatar": picture_urls(user.picture),
    }


def target(notification: Notification) -> dict[str, Any] | None:
    workbook = notification.shown_workbook
    if workbook is not None:
        return {
            "type": "workbook",
            "id": workbook.pk,
            "slug": workbook.slug,
            "title": workbook.title,
            "url": reverse("workbooks:detail", args=[workbook.slug]),
            "comment_id": notification.comment_id,
        }
    return None


def notification(item: Notification) -> dict[str, Any]:
    return {
        "id": item.pk,
        "verb": item.verb,
        "actor": person(item.actor),
        "target": target(item),
        "created_at": item.created_at.isoformat().replace("+00:00", "Z"),
        "read": item.read,
    }


def row(item: Notification) -> str:
    """The notification's row exactly as the notifications page renders it (the same template, for no
    request), its CSRF slot left for the page to fill in. `item` has its actor and workbook loaded
    (selectors.notifications_by_id, notifications_after), so rendering runs no query."""
    html = render_to_string(ROW_TEMPLATE, {"item": item})
    return html.replace(slots.marker("csrf", []), LIVE_CSRF_FIELD).strip()


def shared_row(item: Notification) -> str:
    """`row` for a notification many recipients get alike but for its id (a fan-out of `published`):
    rendered once, with ID_STAND_IN for the id; `with_id` makes each recipient's."""
    return row(Notification(**{**_fields(item), "id": ID_STAND_IN}))


def with_id(shared: str, pk: int) -> str:
    return shared.replace(ID_STAND_IN, str(pk))


def _fields(item: Notification) -> dict[str, Any]:
    return {
        "recipient_id": item.recipient_id,
        "actor": item.actor,
        "verb": item.verb,
        "workbook": item.workbook,
        "comment_id": item.comment_id,
        "created_at": item.created_at,
        "read": item.read,
    }


def live_notification(item: Notification) -> dict[str, Any]:
    """The notification as the socket and the event stream send it: the REST object plus `html`,
    its row on the notifications page, so a row added live is the server's own."""
    return {**notification(item), "html": row(item)}


def notification_message(item: Notification) -> NotificationMessage:
    return {"type": "notification", "notification": live_notification(item)}


def pushed_notification(item: NotificationWithPrevious) -> PushedNotification:
    """`item` comes from selectors.notifications_by_id, which annotates `previous`."""
    return {
        "type": "notification",
        "notification": live_notification(item),
        "previous": item.previous,
    }


def unread_count_message(count: int) -> UnreadCountMessage:
    return {"type": "unread_count", "count": count}


def withdrawn_message(notification_id: int) -> WithdrawnMessage:
    return {"type": "withdrawn", "id": notification_id}
