"""The notification as clients see it, the same over REST, the websocket and the event stream."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypedDict, overload

from django.urls import reverse

from media.api.fields import picture_urls

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


# What social.push sends a member's connections, in order.
PushMessage = PushedNotification | UnreadCountMessage


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


def notification_message(item: Notification) -> NotificationMessage:
    return {"type": "notification", "notification": notification(item)}


def pushed_notification(item: NotificationWithPrevious) -> PushedNotification:
    """`item` comes from selectors.notifications_by_id, which annotates `previous`."""
    return {"type": "notification", "notification": notification(item), "previous": item.previous}


def unread_count_message(count: int) -> UnreadCountMessage:
    return {"type": "unread_count", "count": count}
