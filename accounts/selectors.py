"""Account reads."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import User


def username_taken(username: str, *, exclude_pk: int | None = None) -> bool:
    return User.objects.filter(username__lower=username.lower()).exclude(pk=exclude_pk).exists()


def email_taken(email: str, *, exclude_pk: int | None = None) -> bool:
    return User.objects.filter(email__lower=email.lower()).exclude(pk=exclude_pk).exists()


def active_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True)


def get_active_user(username: str) -> User:
    """The profile behind /u/<username>/; raises User.DoesNotExist."""
    return active_users().get(username__lower=username.lower())


def search_people(query: str, limit: int = 24) -> list[User]:
    query = query.strip()
    if not query:
        return []
    users = active_users().filter(username__icontains=query) | active_users().filter(
        full_name__icontains=query
    )
    return list(users.order_by("username")[:limit])


def newest_members(limit: int = 8) -> list[User]:
    return list(active_users().order_by("-date_joined")[:limit])
