"""Which workbooks a member has favorited, for the workbooks API's `is_favorited`.

Favorites are social's (social.models.Favorite): social registers how they are read here when it is
ready (social.receivers), so the workbooks app asks without importing social.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

from accounts.models import User

from .models import Workbook

Annotate = Callable[[QuerySet[Workbook], User | AnonymousUser], QuerySet[Workbook]]
IdsOf = Callable[[User | int, Iterable[int], str | None], list[int]]

_UNREGISTERED = "favorites are read once the social app is ready (it registers them)"
_annotate: Annotate | None = None
_ids_of: IdsOf | None = None


def register(annotate: Annotate, ids_of: IdsOf) -> None:
    """`annotate(workbooks, viewer)` adds `is_favorited` in the same query; `ids_of(member,
    workbook ids, database alias or None)` lists those of the ids the member has favorited."""
    global _annotate, _ids_of
    _annotate, _ids_of = annotate, ids_of


def with_is_favorited(
    workbooks: QuerySet[Workbook], viewer: User | AnonymousUser
) -> QuerySet[Workbook]:
    """`workbooks` with `is_favorited` for the viewer annotated, in the same query."""
    if _annotate is None:
        raise ImproperlyConfigured(_UNREGISTERED)
    return _annotate(workbooks, viewer)


def favorited_ids(
    member: User | int, workbook_ids: Iterable[int], *, using: str | None = None
) -> list[int]:
    """Which of these workbooks the member has favorited (read from `using`, if given)."""
    if _ids_of is None:
        raise ImproperlyConfigured(_UNREGISTERED)
    return _ids_of(member, workbook_ids, using)
