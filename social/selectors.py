"""Social reads, each in a fixed number of queries."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import connections, router
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from accounts import selectors as accounts_selectors
from accounts.models import User
from workbooks import cache as gallery_cache
from workbooks import selectors as workbook_selectors
from workbooks.models import Workbook, listed

from . import kept
from .models import Activity, Block, Comment, Favorite, Follow, MutedVerb, Notification, Verb

if TYPE_CHECKING:
    from typing import TypedDict

    from django_stubs_ext import WithAnnotations

    class _Previous(TypedDict):
        previous: int

    # A notification as `notifications_by_id` reads it, with `previous`.
    NotificationWithPrevious = WithAnnotations[Notification, _Previous]


def notifications_by_id(ids: list[int]) -> list[NotificationWithPrevious]:
    """The notifications to push, each with `previous`: the id of its recipient's notification
    before it (0 for the first). A connection that has sent up to `previous` can send this one at
    once; otherwise one in between has not reached it yet (consumers.in_turn)."""
    before = Notification.objects.filter(
        recipient_id=OuterRef("recipient_id"), pk__lt=OuterRef("pk")
    ).order_by("-pk")
    return list(
        Notification.objects.filter(pk__in=ids)
        .annotate(previous=Coalesce(Subquery(before.values("pk")[:1]), 0))
        .select_related("actor", "workbook")
        .order_by("pk")
    )


def notifications_for(user: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    items = Notification.objects.filter(recipient=user).select_related("actor", "workbook")
    if unread_only:
        items = items.filter(read=False)
    return items.order_by("-pk")


def notifications_after(user_id: int, after_id: int, limit: int = 500) -> list[Notification]:
    """What a reconnecting client missed, oldest first."""
    return list(
        Notification.objects.filter(recipient_id=user_id, pk__gt=after_id)
        .select_related("actor", "workbook")
        .order_by("pk")[:limit]
    )


def unread_counts(user_ids: Iterable[int]) -> dict[int, int]:
    rows = (
        Notification.objects.filter(recipient_id__in=list(user_ids), read=False)
        .values("recipient_id")
        .annotate(count=Count("pk"))
    )
    return {row["recipient_id"]: row["count"] for row in rows}


def unread_count(user_id: int) -> int:
    return Notification.objects.filter(recipient_id=user_id, read=False).count()


def unread_count_and_newest(user_id: int) -> tuple[int, int]:
    """In one query: the member's unread count, and their newest notification id (0 for none). The
    bell's one definition: `bell` keeps it for pages; the live connections ask it afresh."""
    row = Notification.objects.filter(recipient_id=user_id).aggregate(
        unread=Count("pk", filter=Q(read=False)), newest=Coalesce(Max("pk"), 0)
    )
    return row["unread"], row["newest"]


def feed_for(user: User) -> QuerySet[Activity]:
    """What the people `user` follows did, newest first (drafts, and deactivated members and
    their workbooks, left out: they are 404 everywhere else; unlisted workbooks too, which no
    list shows)."""
    followed = Follow.objects.filter(follower=user).values("followee_id")
    return (
        Activity.objects.filter(actor_id__in=followed, actor__is_active=True)
        .filter(Q(workbook__isnull=True) | listed("workbook__"))
        .filter(Q(subject__isnull=True) | Q(subject__is_active=True))
        .select_related("actor", "workbook", "subject")
        .order_by("-pk")
    )


# What the HTML lists show of each row (social/inc/*_items.html and the avatars): only those columns
# are read, not every column of the activity or notification and of its three joined rows.
_SHOWN_PERSON = ("username", "full_name", "avatar")
_SHOWN_WORKBOOK = ("slug", "title", "status", "moderation", "author_id")


def _shown(queryset: QuerySet, related: tuple[str, ...], *own: str) -> QuerySet:
    """`queryset` reading its rows' `own` fields (with id, verb and time) and those shown of each
    `related` row."""
    people = [f"{who}__{name}" for who in ("actor", "subject") for name in _SHOWN_PERSON]
    workbook = [f"workbook__{name}" for name in _SHOWN_WORKBOOK]
    names = [name for name in (*people, *workbook) if name.split("__")[0] in related]
    return queryset.only("id", "verb", "created_at", *own, *names)


def feed_rows(user: User) -> QuerySet[Activity]:
    """`feed_for`, with only what the feed page shows: its rows show the workbook's thumbnail too
    (a reference on its row, read with it: no query more)."""
    return _shown(feed_for(user), ("actor", "workbook", "subject"), "workbook__thumbnail")


def notification_rows(user: User) -> QuerySet[Notification]:
    """`notifications_for`, with only what the notifications page shows."""
    return _shown(
        notifications_for(user), ("actor", "workbook"), "recipient_id", "read", "comment_id"
    )


def published_workbook(slug: str) -> Workbook:
    """The published workbook `slug`, with its author: only those are favorited and commented on.
    Raises Workbook.DoesNotExist (for a draft too)."""
    return workbook_selectors.published().select_related("author").get(slug=slug)


def followers_of(user: User) -> QuerySet[User]:
    """Newest follow first. The link's time and id are annotated under names of their own so a
    page's cursor filters on this join rather than adding another (sigma_playground.paging); the
    link's id breaks ties, and the index (followee, -created_at, -id) serves the order."""
    return (
        User.objects.filter(following_links__followee=user, is_active=True)
        .annotate(followed_at=F("following_links__created_at"), follow_pk=F("following_links__id"))
        .order_by("-followed_at", "-follow_pk")
    )


def following_of(user: User) -> QuerySet[User]:
    return (
        User.objects.filter(follower_links__follower=user, is_active=True)
        .annotate(followed_at=F("follower_links__created_at"), follow_pk=F("follower_links__id"))
        .order_by("-followed_at", "-follow_pk")
    )


def favorites_of(user: User, base: QuerySet[Workbook] | None = None) -> QuerySet[Workbook]:
    """A member's favorites, last favorited first, as every list keeps to what is listed (an
    unlisted workbook is favorited from its page, and left out here as from their profile's other
    lists); `base` says what is fetched of each (gallery cards by default;
    workbook_selectors.api_listed() for the API)."""
    base = workbook_selectors.cards(workbook_selectors.listed()) if base is None else base
    return (
        base.filter(favorites__user=user)
        # Named, so a page's cursor filters on this join (see followers_of).
        .annotate(favorited_at=F("favorites__created_at"), favorite_pk=F("favorites__id"))
        .order_by("-favorited_at", "-favorite_pk")
    )


def profiles(viewer: User | AnonymousUser) -> QuerySet[User]:
    """Active members with `workbook_count` (listed, as their profile lists them) and
    `is_following` (the viewer follows them), both in the member's own query."""
    published = (
        Workbook.objects.listed()
        .filter(author=OuterRef("pk"))
        .order_by()
        .values("author")
        .annotate(total=Count("pk"))
        .values("total")
    )
    members = accounts_selectors.active_users().annotate(
        workbook_count=Coalesce(Subquery(published, output_field=IntegerField()), 0)
    )
    if not viewer.is_authenticated:
        return members.annotate(is_following=Value(False))
    return members.annotate(
        is_following=Exists(Follow.objects.filter(follower=viewer, followee=OuterRef("pk")))
    )


def profile(viewer: User | AnonymousUser, username: str) -> User:
    """The active member `username` (in any case), as `profiles` shows them; raises
    User.DoesNotExist."""
    return profiles(viewer).get(username__lower=username.lower())


def is_following(viewer: User | AnonymousUser, user: User) -> bool:
    if not viewer.is_authenticated or viewer.pk == user.pk:
        return False
    return Follow.objects.filter(follower=viewer, followee=user).exists()


def with_is_favorited(
    workbooks: QuerySet[Workbook], viewer: User | AnonymousUser
) -> QuerySet[Workbook]:
    """Annotate `is_favorited` for the viewer, in the same query."""
    if not viewer.is_authenticated:
        return workbooks
    return workbooks.annotate(
        is_favorited=Exists(Favorite.objects.filter(user=viewer, workbook=OuterRef("pk")))
    )


def visible_comments(viewer: User | AnonymousUser) -> QuerySet[Comment]:
    """Comments on the workbooks `viewer` may open, each with its author and workbook."""
    return Comment.objects.visible_to(viewer).select_related("author", "workbook")


def changeable_comment(viewer: User | AnonymousUser, action: str, pk: int) -> Comment:
    """The comment `pk` (with its author and workbook) if `viewer` may edit it (action="change") or
    delete it (action="delete"). Raises Comment.DoesNotExist if they cannot see it, and
    PermissionDenied if they see it but may not (CommentQuerySet.get_changeable)."""
    return Comment.objects.select_related("author", "workbook").get_changeable(
        viewer, action, pk=pk
    )


def comments_for(
    workbook: Workbook, viewer: User | AnonymousUser | None = None
) -> QuerySet[Comment]:
    """The workbook's comments, oldest first; for a `viewer`, those they see (held or hidden ones
    only if theirs, or to moderators: CommentQuerySet.seen_by), without those of the members they
    block (a subquery: no query more, however many they block). Without a viewer, every one (the
    page's kept list, which social.slots narrows for each viewer)."""
    comments = Comment.objects.filter(workbook=workbook)
    if viewer is not None:
        comments = comments.seen_by(viewer)
    if viewer is not None and viewer.is_authenticated:
        comments = comments.exclude(
            author__in=Block.objects.filter(blocker=viewer).values("blocked_id")
        )
    return comments.select_related("author").order_by("created_at", "pk")


# --- Blocks ---------------------------------------------------------------------------------------


def blocks(blocker_id: int, blocked_id: int) -> bool:
    return Block.objects.filter(blocker_id=blocker_id, blocked_id=blocked_id).exists()


def blocked_ids(blocker_id: int) -> set[int]:
    """Whom the member blocks (their comments are left out of what the member sees)."""
    return set(Block.objects.filter(blocker_id=blocker_id).values_list("blocked_id", flat=True))


def blocked_members(user: User) -> QuerySet[User]:
    """The active members `user` blocks, newest block first, with `blocked_at`. Named so a page's
    cursor filters on this join (see followers_of); the block's id breaks ties."""
    return (
        User.objects.filter(blocked_by__blocker=user, is_active=True)
        .annotate(blocked_at=F("blocked_by__created_at"), block_pk=F("blocked_by__id"))
        .order_by("-blocked_at", "-block_pk")
    )


# --- What the HTML pages show the viewer ---------------------------------------------------------


# The bell is on every page a member opens, so it is kept in the cache; every write that changes it
# forgets it (services.bell_changed). What no service sees (a deleted workbook taking its
# notifications with it) and a forgetting that the cache missed (Redis away at that moment) last no
# longer than this.
BELL_SECONDS = 60
# How long a member's bell generation lives unread (a lost one is made anew: it only retires the
# bell kept under the old one).
BELL_GENERATION_SECONDS = 3600


def _bell_key(user_id: int) -> str:
    return f"social:bell:{user_id}"


def _bell_generation_key(user_id: int) -> str:
    return f"social:bell-generation:{user_id}"


def bell_keys(user_id: int) -> list[str]:
    """The cache keys `bell` reads, for a page that reads them ahead (`found`)."""
    return [_bell_key(user_id), _bell_generation_key(user_id)]


def bell(user: User, found: dict | None = None) -> dict[str, int]:
    """The navigation's bell: the unread count, and the newest notification id (where the page's
    live connection resumes from). From the cache (one read: the bell and the member's bell
    generation), or one query. The bell is kept with the generation read before the query, and used
    only while that generation is current: a change committed between the query and the store
    (`forget_bells` makes a new generation) retires it, where a plain delete would be undone by the
    store that follows."""
    key, generation_key = _bell_key(user.pk), _bell_generation_key(user.pk)
    if found is None:  # else read ahead in this request, with the page
        found = cache.get_many([key, generation_key])
    generation, kept = found.get(generation_key), found.get(key)
    if generation is not None and isinstance(kept, tuple) and len(kept) == 2:
        made_with, counted = kept
        if made_with == generation:
            return counted
    if generation is None:
        cache.add(generation_key, secrets.token_hex(8), BELL_GENERATION_SECONDS)
        generation = cache.get(generation_key)
    unread, last_id = unread_count_and_newest(user.pk)
    counted = {"unread": unread, "last_id": last_id}
    if generation is not None:  # else the cache cannot say: nothing is kept
        cache.set(key, (generation, counted), BELL_SECONDS)
    return counted


def forget_bells(user_ids: Iterable[int]) -> None:
    """The next page of each of these members counts their bell again: a new generation for each
    (a random token, so a generation lost and made again never equals an old one), which also
    retires a bell stored by a page that counted before this change."""
    ids = set(user_ids)
    cache.set_many(
        {_bell_generation_key(user_id): secrets.token_hex(8) for user_id in ids},
        BELL_GENERATION_SECONDS,
    )
    cache.delete_many([_bell_key(user_id) for user_id in ids])


def favorited_ids(
    user: User | int, workbook_ids: Iterable[int], *, using: str | None = None
) -> list[int]:
    """Which of these workbooks the user (or the user with this id) has favorited, in order (gallery
    cards are shared by every viewer, so their state is asked for separately): one statement, not a
    queryset compiled per call, none for no ids. Read from `using` if given, else where the router
    sends reads of favorites."""
    ids = list(workbook_ids)
    if not ids:
        return []
    connection = connections[using or router.db_for_read(Favorite)]
    quote = connection.ops.quote_name
    meta = Favorite._meta
    table, member, workbook = (
        quote(meta.db_table),
        quote(meta.get_field("user").column),
        quote(meta.get_field("workbook").column),
    )
    marks = ", ".join(["%s"] * len(ids))
    # The model's own names, quoted; every value is a parameter.
    sql = f"SELECT {workbook} FROM {table} WHERE {member} = %s AND {workbook} IN ({marks})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [user if isinstance(user, int) else user.pk, *ids])
        return sorted(row[0] for row in cursor.fetchall())


def muted_verbs(user: User) -> set[str]:
    return set(MutedVerb.objects.filter(user=user).values_list("verb", flat=True))


# --- What a member's kept feed and notifications depend on (social.kept) --------------------------


def _muted_key(user_id: int) -> str:
    return f"social:muted-generation:{user_id}"


def muted_changed(user_id: int) -> None:
    """The member's muted kinds changed: their kept notifications page (which shows them) is
    retired, now and again once committed (a page rendered meanwhile from the old rows)."""
    gallery_cache.renew(_muted_key(user_id))


def notifications_tokens(user_id: int) -> dict[str, str] | None:
    """What the member's notifications page depends on besides the gallery's version: their bell
    generation (every notification made or retracted, every read: services.bell_changed) and
    their muted kinds' (`muted_changed`)."""
    return gallery_cache.tokens([_bell_generation_key(user_id), _muted_key(user_id)])


def feed_tokens(user: User) -> dict[str, str] | None:
    """What the member's feed depends on besides the gallery's version: their own token (renewed
    by each of their follows and unfollows) and that of everyone they follow (renewed by their
    favorites, unfavorites, follows and unfollows, social.services `_count`, and their comments,
    `add_comment`). The member's is read
    first, so a follow committed after it retires the page even if the list of followed members
    read next already has them. None (the page is not kept) beyond kept.MAX_DEPENDS of them."""
    own = gallery_cache.depends_on(("user", user.pk))
    if own is None:
        return None
    followed = list(
        Follow.objects.filter(follower=user).values_list("followee_id", flat=True)[
            : kept.MAX_DEPENDS
        ]
    )
    if len(followed) >= kept.MAX_DEPENDS:  # with their own token, more than the most
        return None
    others = gallery_cache.depends_on(*(("user", pk) for pk in followed)) if followed else {}
    if others is None:
        return None
    return {**own, **others}


def unfinished_fan_outs(*, published_after: datetime, published_before: datetime) -> list[int]:
    """Workbooks first published in the window with a follower from before then (not muting
    "published") who has no notification of it: their fan-out stopped short (a lost message, a
    worker lost between batches). The same followers services.fan_out_published tells."""
    told = Notification.objects.filter(
        verb=Verb.PUBLISHED, workbook=OuterRef(OuterRef("pk")), recipient=OuterRef("follower")
    )
    muted = MutedVerb.objects.filter(user=OuterRef("follower"), verb=Verb.PUBLISHED)
    untold = Follow.objects.filter(
        followee=OuterRef("author"), created_at__lte=OuterRef("published_at")
    ).exclude(Exists(muted) | Exists(told))
    return list(
        Workbook.objects.filter(
            listed(),  # an unlisted workbook is announced to nobody (services.fan_out_published)
            published_at__gte=published_after,
            published_at__lt=published_before,
        )
        .filter(Exists(untold))
        .order_by("published_at")
        .values_list("pk", flat=True)
    )
