"""Account reads."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from .models import RetiredUsername, User


def username_taken(username: str, *, exclude_pk: int | None = None) -> bool:
    return _others(User.objects.filter(username__lower=username.lower()), exclude_pk).exists()


USERNAME_RETIRED = (
    "This username was used recently by an account that has been deleted. Choose another."
)


def username_retired(username: str) -> bool:
    """Whether `username` belonged to an account deleted less than RETIRED_USERNAME_DAYS ago:
    nobody may take over a name others know and link to (accounts.services.delete_account)."""
    return RetiredUsername.objects.filter(
        username=username.lower(), until__gt=timezone.now()
    ).exists()


def email_taken(email: str, *, exclude_pk: int | None = None) -> bool:
    return _others(User.objects.filter(email__lower=email.lower()), exclude_pk).exists()


def _others(users: QuerySet[User], exclude_pk: int | None) -> QuerySet[User]:
    """`users` without the member `exclude_pk`, if one is given (a new account has no pk yet)."""
    return users if exclude_pk is None else users.exclude(pk=exclude_pk)


def active_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True)


def get_active_user(username: str) -> User:
    """The profile behind /u/<username>/; raises User.DoesNotExist."""
    return active_users().get(username__lower=username.lower())


def active_user_or_404(username: str) -> User:
    """The same for views: a missing or deactivated member is a 404 (pages and API alike)."""
    try:
        return get_active_user(username)
    except User.DoesNotExist:
        raise Http404("No such member.") from None


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
