"""What a member did in the community, in their data export (accounts.exports): collections,
comments, favorites, follows and notifications. Registered in SocialConfig.ready
(social.receivers). Each section is a fixed number of queries, whatever the member's history."""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Prefetch, Q

from accounts import exports
from accounts.models import User
from workbooks.models import public

from .models import Collection, CollectionItem, Comment, Favorite, Follow, Notification


def register() -> None:
    exports.register("collections", data=collections_of)
    exports.register("comments", data=comments_of)
    exports.register("favorites", data=favorites_of)
    exports.register("follows", data=follows_of)
    exports.register("notifications", data=notifications_of)


def _shown(user: User, prefix: str = "workbook__") -> ExpressionWrapper:
    """Whether the member may read the workbook now (public, or their own), read in the same
    query as the rows that name it."""
    return ExpressionWrapper(
        public(prefix) | Q(**{f"{prefix}author": user}), output_field=BooleanField()
    )


def _workbook(workbook, shown: bool) -> dict[str, Any] | None:
    """A workbook they commented on, kept, or were notified about. Only its id when they may no
    longer read it: another member's workbook unpublished, hidden or renamed since must not
    reveal its current title to them."""
    if workbook is None:
        return None
    if not shown:
        return {"id": workbook.pk, "unavailable": True}
    return {"id": workbook.pk, "slug": workbook.slug, "title": workbook.title}


def _item_workbook(item: CollectionItem) -> dict[str, Any] | None:
    # The prefetched items carry the annotation, which the stubs cannot see through Prefetch.
    return _workbook(item.workbook, item.workbook_shown)  # type: ignore[attr-defined]


def collections_of(user: User) -> list[dict[str, Any]]:
    """Their collections, private ones included, each with its workbooks in order (two queries)."""
    items = (
        CollectionItem.objects.select_related("workbook")
        .annotate(workbook_shown=_shown(user))
        .order_by("position", "id")
    )
    collections = (
        Collection.objects.filter(owner=user)
        .prefetch_related(Prefetch("items", queryset=items))
        .order_by("created_at", "id")
    )
    return [
        {
            "title": collection.title,
            "slug": collection.slug,
            "description": collection.description,
            "visibility": collection.visibility,
            "created_at": collection.created_at,
            "updated_at": collection.updated_at,
            "workbooks": [
                {**(_item_workbook(item) or {}), "added_at": item.added_at}
                for item in collection.items.all()
            ],
        }
        for collection in collections
    ]


def comments_of(user: User) -> list[dict[str, Any]]:
    comments = (
        Comment.objects.filter(author=user)
        .select_related("workbook")
        .annotate(workbook_shown=_shown(user))
        .order_by("id")
    )
    return [
        {
            "id": comment.pk,
            "workbook": _workbook(comment.workbook, comment.workbook_shown),
            "body": comment.body,
            "created_at": comment.created_at,
            "edited_at": comment.edited_at,
        }
        for comment in comments
    ]


def favorites_of(user: User) -> list[dict[str, Any]]:
    favorites = (
        Favorite.objects.filter(user=user)
        .select_related("workbook")
        .annotate(workbook_shown=_shown(user))
        .order_by("id")
    )
    return [
        {
            "workbook": _workbook(favorite.workbook, favorite.workbook_shown),
            "created_at": favorite.created_at,
        }
        for favorite in favorites
    ]


def follows_of(user: User) -> dict[str, list[dict[str, Any]]]:
    """Whom they follow and who follows them, by username (two queries); deactivated members
    are left out, as everywhere else on the site."""
    following = Follow.objects.filter(follower=user, followee__is_active=True).order_by("id")
    followers = Follow.objects.filter(followee=user, follower__is_active=True).order_by("id")
    return {
        "following": [
            {"username": username, "since": since}
            for username, since in following.values_list("followee__username", "created_at")
        ],
        "followers": [
            {"username": username, "since": since}
            for username, since in followers.values_list("follower__username", "created_at")
        ],
    }


def notifications_of(user: User) -> list[dict[str, Any]]:
    notifications = (
        Notification.objects.filter(recipient=user)
        .select_related("actor", "workbook")
        .annotate(workbook_shown=_shown(user))
        .order_by("id")
    )
    return [
        {
            "verb": notification.verb,
            "actor": notification.actor.username if notification.actor else None,
            "workbook": _workbook(notification.workbook, notification.workbook_shown),
            "comment_id": notification.comment_id,
            "created_at": notification.created_at,
            "read": notification.read,
        }
        for notification in notifications
    ]
