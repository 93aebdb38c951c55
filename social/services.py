"""Social actions: follow, favorite, comment, and the notifications they cause.

Counters change in the same transaction as the row they count, by database-side arithmetic, so they
stay exact under concurrent requests. A notification row is the truth; it is pushed to the
recipient's socket only after its transaction commits (the socket is a hint, `resume` recovers it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from accounts import verification
from accounts.models import User
from sigma_playground import jobs
from sigma_playground.errors import Forbidden
from sigma_playground.models import Moderation, clean_moderation
from sigma_playground.rates import RateLimited as RateLimited
from sigma_playground.rates import check_rate
from workbooks import cache as gallery_cache
from workbooks.models import DailyActivity, Workbook

from . import email_selectors, push, selectors
from .models import (
    Activity,
    Block,
    Comment,
    EmailPreference,
    Favorite,
    Follow,
    MutedVerb,
    Notification,
    Verb,
)

# Undoing an action this soon removes the notification it caused, so nobody is told of a favorite
# or follow that no longer exists.
UNDO_WINDOW = timedelta(minutes=15)


class Blocked(Forbidden):
    """Refused because one of the two members blocks the other: a 403 `blocked`, whose message
    says no more than that the action is not possible."""

    code = "blocked"


def _lock_recipients(user_ids: Iterable[int]) -> None:
    """Per recipient, notifications commit in id order: `resume after N` then misses none.

    Two transactions notifying the same member take turns (a transaction-scoped advisory lock on
    PostgreSQL; SQLite runs one write transaction at a time anyway).
    """
    ids = sorted(set(user_ids))
    if ids and connection.vendor == "postgresql":
        # The two-key form takes two int4s; user ids are bigint. Ids 2**31 apart share a lock,
        # which only makes them wait for each other.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, mod(id, 2147483648)::integer)"
                " FROM unnest(%s::bigint[]) AS id",
                [push.LOCK_NAMESPACE, ids],
            )


def bell_changed(user_ids: Iterable[int]) -> None:
    """These members' bells (unread count, newest id) changed: forgotten now, for this
    transaction's own next read, and once it commits, for a read that raced it."""
    ids = list(user_ids)
    selectors.forget_bells(ids)
    transaction.on_commit(lambda: selectors.forget_bells(ids), robust=True)


def notify(
    recipient: User | int,
    actor: User | None,
    verb: str,
    *,
    workbook: Workbook | None = None,
    comment: Comment | None = None,
) -> Notification | None:
    recipient_id = recipient if isinstance(recipient, int) else recipient.pk
    if actor is not None and recipient_id == actor.pk:
        return None  # nobody is notified of their own actions
    if _unwanted(recipient_id, actor, verb):
        return None
    _lock_recipients([recipient_id])
    notification = Notification.objects.create(
        recipient_id=recipient_id, actor=actor, verb=verb, workbook=workbook, comment=comment
    )
    bell_changed([recipient_id])
    _email_soon(recipient_id, verb, notification.pk)
    # Pushes are hints (resume recovers them): one that fails is logged, never the request's error.
    transaction.on_commit(lambda: push.notifications([notification.pk]), robust=True)
    return notification


# --- The email of a burst -------------------------------------------------------------------------
# One burst of activity is one email (social.emails.send_instant): the burst's first notification
# the member wants by email sets `email_due_at` and queues the one task, EMAIL_BATCH_SECONDS later;
# the next ones find it set. Both ends of a burst hold the recipient's lock (_lock_recipients, as
# notify does), so a notification arriving as a burst ends is either in that burst or starts the
# next one: none is left unsent.


def _email_soon(recipient_id: int, verb: str, notification_id: int) -> None:
    """Called by notify, under the recipient's lock: start a burst, unless one is under way, the
    member does not want this kind by email or cannot be emailed. One query, two to start one."""
    field = EmailPreference.INSTANT.get(verb)
    if field is None:
        return
    member = User.objects.select_related("email_preference").filter(pk=recipient_id).first()
    if member is None or not email_selectors.can_email(member):
        return
    # A burst tells of what happened from its first notification on, not of older ones (from before
    # the member could be emailed, or wanted this kind).
    start = {"email_due_at": _email_due(), "last_emailed_id": notification_id - 1}
    preference = getattr(member, "email_preference", None)
    if preference is None:
        started = _create_preference(recipient_id, start)
    elif getattr(preference, field) and preference.email_due_at is None:
        started = bool(
            EmailPreference.objects.filter(user_id=recipient_id, email_due_at=None).update(**start)
        )
    else:
        return
    if started:
        _queue_email(recipient_id)


def _create_preference(user_id: int, start: dict[str, object]) -> bool:
    """The member's first burst, with the default choices (every kind wanted). False if their row
    was made meanwhile (a Settings save): its choices then decide, at the burst's email."""
    try:
        with transaction.atomic():
            EmailPreference.objects.create(user_id=user_id, **start)
    except IntegrityError:
        return False
    return True


def _email_due() -> datetime:
    return timezone.now() + timedelta(seconds=settings.EMAIL_BATCH_SECONDS)


def _queue_email(user_id: int) -> None:
    # A message the broker loses is not the email lost: resume_instant_emails finds the burst
    # overdue by its `email_due_at` and queues it again.
    jobs.later("social.tasks.send_instant_email", user_id, countdown=settings.EMAIL_BATCH_SECONDS)


def end_email_burst(user_id: int, due: datetime) -> bool:
    """The burst due at `due` has had its email (social.emails.send_instant): it ends, or, if
    notifications came while it was sent, the next burst starts with them. False if another run
    of the task ended it first (`email_due_at` moved on)."""
    with transaction.atomic():
        _lock_recipients([user_id])
        preference = (
            EmailPreference.objects.filter(user_id=user_id, email_due_at=due)
            .select_related("user")
            .first()
        )
        if preference is None:
            return False
        more = (
            email_selectors.can_email(preference.user)
            and email_selectors.unsent_notifications(preference).exists()
        )
        EmailPreference.objects.filter(user_id=user_id, email_due_at=due).update(
            email_due_at=_email_due() if more else None
        )
        if more:
            _queue_email(user_id)
    return True


def _unwanted(recipient_id: int, actor: User | None, verb: str) -> bool:
    """Whether the recipient muted this kind, or blocks the actor: one query either way."""
    muted = MutedVerb.objects.filter(user_id=recipient_id, verb=verb)
    if actor is None:
        return muted.exists()
    blocked = Block.objects.filter(blocker_id=recipient_id, blocked_id=actor.pk)
    return User.objects.filter(pk=recipient_id).filter(Exists(muted) | Exists(blocked)).exists()


def _retract(recipient_id: int, actor: User, verb: str, workbook: Workbook | None = None) -> None:
    """Remove the notification of an action undone within UNDO_WINDOW."""
    since = timezone.now() - UNDO_WINDOW
    _delete_and_tell(
        Notification.objects.filter(
            recipient_id=recipient_id,
            actor=actor,
            verb=verb,
            workbook=workbook,
            created_at__gte=since,
        )
    )


def _delete_and_tell(notifications: QuerySet[Notification]) -> None:
    """Delete these notifications; once that commits, their recipients' pages take them away
    (a `withdrawn` message each, then the new unread count: push.withdrawn)."""
    rows = list(notifications.values_list("pk", "recipient_id"))
    if not rows:
        return
    Notification.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
    _tell_withdrawn(rows)


def _tell_withdrawn(rows: list[tuple[int, int]]) -> None:
    """(id, recipient) of notifications deleted in this transaction: told once it commits."""
    ids_by_recipient: dict[int, list[int]] = {}
    for pk, recipient_id in rows:
        ids_by_recipient.setdefault(recipient_id, []).append(pk)
    bell_changed(ids_by_recipient)
    transaction.on_commit(lambda: push.withdrawn(ids_by_recipient), robust=True)


def _count(model, pk: int, **deltas: int) -> None:
    model.objects.filter(pk=pk).update(
        **{field: F(field) + delta for field, delta in deltas.items()}
    )
    # Pages kept for visitors show the counts (and a workbook's comments): they are retired.
    gallery_cache.object_changed(model._meta.model_name, pk)


# --- Follow ---------------------------------------------------------------------------------------


def _count_follow(follower: User, followee: User, delta: int) -> None:
    """Both members' counters, the lower id first: two members following each other at once then
    lock their rows in the same order instead of deadlocking."""
    for pk, field in sorted([(follower.pk, "following_count"), (followee.pk, "follower_count")]):
        _count(User, pk, **{field: delta})


def follow(follower: User, followee: User) -> bool:
    """Idempotent; True when a new follow was made."""
    if follower.pk == followee.pk:
        raise ValidationError("You cannot follow yourself.", code="self_follow")
    check_rate(follower, "follow")
    with transaction.atomic():
        _, created = Follow.objects.get_or_create(follower=follower, followee=followee)
        if created:
            _count_follow(follower, followee, 1)
            # Asked once both members' rows are locked (by the counts, as `block` locks them): a
            # block committed meanwhile is seen, and this follow is undone with the refusal.
            _refuse_across_block(follower, followee)
            Activity.objects.create(actor=follower, verb=Verb.FOLLOWED, subject=followee)
            notify(followee, follower, Verb.FOLLOWED)
    return created


def unfollow(follower: User, followee: User) -> bool:
    with transaction.atomic():
        deleted, _ = Follow.objects.filter(follower=follower, followee=followee).delete()
        if deleted:
            _count_follow(follower, followee, -1)
            Activity.objects.filter(actor=follower, verb=Verb.FOLLOWED, subject=followee).delete()
            _retract(followee.pk, follower, Verb.FOLLOWED)
    return bool(deleted)


def _refuse_across_block(follower: User, followee: User) -> None:
    """No follow either way between a member and someone they block (one query). The blocked one
    is told only that they cannot: not why."""
    blockers = set(
        Block.objects.filter(
            blocker__in=[follower, followee], blocked__in=[follower, followee]
        ).values_list("blocker_id", flat=True)
    )
    if followee.pk in blockers:
        raise Blocked("You cannot follow this member.")
    if follower.pk in blockers:
        raise Blocked("You block this member: unblock them to follow them.")


# --- Block ----------------------------------------------------------------------------------------


def _refuse_self_block(blocker: User, blocked: User) -> None:
    if blocker.pk == blocked.pk:
        raise ValidationError("You cannot block yourself.", code="self_block")


def block(blocker: User, blocked: User) -> bool:
    """Idempotent; True when a new block was made. The blocked member no longer follows the
    blocker nor is followed by them (counted down as an unfollow is), and their unread
    notifications to the blocker are withdrawn. From then on they cannot follow the blocker,
    comment on the blocker's workbooks or notify them, and the blocker does not see their comments
    (social.slots, selectors.comments_for). They are not told."""
    _refuse_self_block(blocker, blocked)
    check_rate(blocker, "block")
    with transaction.atomic():
        # Both members' rows, lower id first (the order follow's counts lock them in): a follow
        # being made meanwhile commits first and is removed below, or waits and is refused.
        locked = User.objects.select_for_update().filter(pk__in=[blocker.pk, blocked.pk])
        list(locked.order_by("pk").values_list("pk", flat=True))
        _, created = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
        if created:
            unfollow(blocked, blocker)
            unfollow(blocker, blocked)
            _withdraw(blocker.pk, blocked.pk)
            # What is kept under the blocker's token (their buttons' state, whose comments they
            # see) is made again.
            gallery_cache.object_changed("user", blocker.pk)
    return created


def unblock(blocker: User, blocked: User) -> bool:
    """Idempotent; True when a block was removed. Follows removed by the block stay removed."""
    _refuse_self_block(blocker, blocked)
    check_rate(blocker, "block")
    with transaction.atomic():
        deleted, _ = Block.objects.filter(blocker=blocker, blocked=blocked).delete()
        if deleted:
            gallery_cache.object_changed("user", blocker.pk)
    return bool(deleted)


def _withdraw(recipient_id: int, actor_id: int) -> None:
    """Remove the recipient's unread notifications from this actor; read ones stay, as history."""
    _delete_and_tell(
        Notification.objects.filter(recipient_id=recipient_id, actor_id=actor_id, read=False)
    )


# --- Favorite -------------------------------------------------------------------------------------


def _daily_favorites(workbook: Workbook, delta: int) -> None:
    """Called after the workbook's counter is updated: the workbook row is locked before its daily
    activity, the order the view flush takes them in too, so the two never deadlock."""
    today = timezone.now().date()
    DailyActivity.objects.bulk_create(
        [DailyActivity(workbook=workbook, day=today)], ignore_conflicts=True
    )
    DailyActivity.objects.filter(workbook=workbook, day=today).update(
        favorites=F("favorites") + delta
    )


def _require_published(workbook: Workbook) -> None:
    if not workbook.is_published:
        raise ValidationError(
            "Only published workbooks can be favorited or discussed.", code="not_published"
        )


def favorite(user: User, workbook: Workbook) -> bool:
    _require_published(workbook)
    check_rate(user, "favorite")
    with transaction.atomic():
        _, created = Favorite.objects.get_or_create(user=user, workbook=workbook)
        if created:
            _count(Workbook, workbook.pk, favorite_count=1)
            _count(User, user.pk, favorite_count=1)
            _daily_favorites(workbook, 1)
            Activity.objects.create(actor=user, verb=Verb.FAVORITED, workbook=workbook)
            notify(workbook.author_id, user, Verb.FAVORITED, workbook=workbook)
    return created


def unfavorite(user: User, workbook: Workbook) -> bool:
    with transaction.atomic():
        deleted, _ = Favorite.objects.filter(user=user, workbook=workbook).delete()
        if deleted:
            _count(Workbook, workbook.pk, favorite_count=-1)
            _count(User, user.pk, favorite_count=-1)
            _daily_favorites(workbook, -1)
            Activity.objects.filter(actor=user, verb=Verb.FAVORITED, workbook=workbook).delete()
            _retract(workbook.author_id, user, Verb.FAVORITED, workbook)
    return bool(deleted)


# --- Comments -------------------------------------------------------------------------------------


def clean_comment_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError("Write something first.", code="blank")
    if len(body) > Comment.MAX_LENGTH:
        raise ValidationError(
            f"Keep it under {Comment.MAX_LENGTH:,} characters (this is {len(body):,}).",
            code="max_length",
        )
    return body


def add_comment(author: User, workbook: Workbook, body: str) -> Comment:
    verification.require_verified(author)
    _require_published(workbook)
    body = clean_comment_body(body)
    if selectors.blocks(workbook.author_id, author.pk):
        raise Blocked("You cannot comment on this workbook.")
    check_rate(author, "comment")
    with transaction.atomic():
        comment = Comment.objects.create(workbook=workbook, author=author, body=body)
        _count(Workbook, workbook.pk, comment_count=1)
        Activity.objects.create(actor=author, verb=Verb.COMMENTED, workbook=workbook)
        # Their followers' kept feeds show it: they depend on the commenter's token (an edit or a
        # delete leaves the activity as it was, so neither renews it).
        gallery_cache.object_changed("user", author.pk)
        notify(workbook.author_id, author, Verb.COMMENTED, workbook=workbook, comment=comment)
    return comment


class _AuthoredWorkbook(Protocol):
    @property
    def author_id(self) -> int: ...


class CommentFacts(Protocol):
    """What the comment rules read of a comment: a Comment, or what a kept comment list keeps of
    one (social.slots)."""

    @property
    def author_id(self) -> int | None: ...  # None: by a deleted member

    @property
    def created_at(self) -> datetime: ...

    @property
    def workbook(self) -> _AuthoredWorkbook: ...


def can_edit_comment(user: User, comment: CommentFacts) -> bool:
    """CommentQuerySet.editable_by's rule, for a comment in hand."""
    return (
        comment.author_id == user.pk and timezone.now() - comment.created_at <= Comment.EDIT_WINDOW
    )


def can_delete_comment(user: User, comment: CommentFacts) -> bool:
    """CommentQuerySet.deletable_by's rule, for a comment in hand: its author, the workbook's
    author, or a moderator (the permission, not being staff: curators are staff and have no say
    over comments)."""
    if not user.is_authenticated:
        return False
    return user.pk in (comment.author_id, comment.workbook.author_id) or user.has_perm(
        "social.delete_comment"
    )


def edit_comment(user: User, comment: Comment, body: str) -> Comment:
    if not can_edit_comment(user, comment):
        raise PermissionDenied(Comment.EDIT_RULE)
    comment.body = clean_comment_body(body)
    comment.edited_at = timezone.now()
    comment.save(update_fields=["body", "edited_at"])
    gallery_cache.object_changed("workbook", comment.workbook_id)
    return comment


def delete_comment(user: User, comment: Comment) -> None:
    if not can_delete_comment(user, comment):
        raise PermissionDenied(Comment.DELETE_RULE)
    with transaction.atomic():
        # Read locked: a held or hidden comment was counted down when it was held or hidden.
        moderation = _locked_moderation(comment)
        told = list(Notification.objects.filter(comment=comment).values_list("pk", "recipient_id"))
        _, deleted = comment.delete()  # its notification goes with it
        if not deleted.get(Comment._meta.label):
            return  # someone deleted it meanwhile, and counted it down
        if moderation == Moderation.VISIBLE:
            _count(Workbook, comment.workbook_id, comment_count=-1)
        else:
            gallery_cache.object_changed("workbook", comment.workbook_id)
        if told:
            _tell_withdrawn(told)


def _locked_moderation(comment: Comment) -> str | None:
    """The comment's moderation state as stored, its row locked until the transaction ends; None
    once it is gone."""
    return (
        Comment.objects.select_for_update()
        .filter(pk=comment.pk)
        .values_list("moderation", flat=True)
        .first()
    )


def moderate_comment(
    comment: Comment, *, moderation: Moderation | str, reason: str = ""
) -> Comment:
    """Hold (reported by enough members) or hide (a moderator's decision) a comment, or restore it
    (VISIBLE). A held or hidden comment is shown to nobody but its author, with `reason`, and
    moderators (Comment.objects.visible_to, the workbook page's comments); the workbook's
    `comment_count` counts only the comments every reader sees, so it goes down on holding or
    hiding and up on restoring. Raises Comment.DoesNotExist if it was deleted meanwhile."""
    moderation, reason = clean_moderation(moderation, reason)
    with transaction.atomic():
        current = _locked_moderation(comment)
        if current is None:
            raise Comment.DoesNotExist("The comment was deleted.")
        Comment.objects.filter(pk=comment.pk).update(
            moderation=moderation, moderation_reason=reason
        )
        was_visible, visible = current == Moderation.VISIBLE, moderation == Moderation.VISIBLE
        if was_visible != visible:
            _count(Workbook, comment.workbook_id, comment_count=1 if visible else -1)
        else:  # the kept comment list shows the state and reason to the author: made again
            gallery_cache.object_changed("workbook", comment.workbook_id)
    comment.moderation, comment.moderation_reason = moderation, reason
    return comment


# --- Notifications --------------------------------------------------------------------------------


def mark_read(user: User, ids: Iterable[int] | None = None) -> int:
    """Mark some (or, with ids=None, all) of the user's notifications read."""
    notifications = Notification.objects.filter(recipient=user, read=False)
    if ids is not None:
        notifications = notifications.filter(pk__in=list(ids))
    changed = notifications.update(read=True)
    if changed:
        bell_changed([user.pk])
        transaction.on_commit(lambda: push.unread_count(user.pk), robust=True)
    return changed


def set_muted_verbs(user: User, verbs: Iterable[str]) -> None:
    verbs = {verb for verb in verbs if verb in Verb.values}
    with transaction.atomic():
        MutedVerb.objects.filter(user=user).exclude(verb__in=verbs).delete()
        MutedVerb.objects.bulk_create(
            [MutedVerb(user=user, verb=verb) for verb in verbs], ignore_conflicts=True
        )
        # The member's kept notifications page shows the muted kinds: retired, whoever called.
        selectors.muted_changed(user.pk)


# --- Fan-out of `published` and `featured` --------------------------------------------------------

FAN_OUT_BATCH = 1000


# One batch in one INSERT on PostgreSQL: the followers come as one array parameter, the ones already
# told are skipped by the statement itself, and the new rows' ids come back in follow order. Its
# snapshot is taken after _lock_recipients, so a batch run twice at once still tells nobody twice.
# The ones told are read once, as a hashed set (NOT IN; recipient_id is never null): as NOT EXISTS,
# the planner, misjudging a new workbook's rows as one, compared each follower with every row told
# so far, and each batch took longer than the one before (23, 84, 156, 218 ms for the first four).
# Each row comes back with what its push needs: `previous`, and the follower's unread count (the
# statement does not see the rows it inserts, hence the + 1), counted here for about 10 ms a batch
# instead of by a query of its own after the commit (about 30 ms).
_INSERT_PUBLISHED = """
    INSERT INTO social_notification (recipient_id, actor_id, verb, workbook_id, created_at, read)
    SELECT batch.recipient_id, %(actor)s, %(verb)s, %(workbook)s, %(now)s, false
    FROM unnest(%(recipients)s::bigint[]) WITH ORDINALITY AS batch (recipient_id, position)
    WHERE batch.recipient_id NOT IN (
        SELECT told.recipient_id FROM social_notification told
        WHERE told.workbook_id = %(workbook)s AND told.verb = %(verb)s
    )
    ORDER BY batch.position
    RETURNING id, recipient_id, coalesce((
        SELECT max(before.id) FROM social_notification before
        WHERE before.recipient_id = social_notification.recipient_id
          AND before.id < social_notification.id
    ), 0), (
        SELECT count(*) FROM social_notification unread
        WHERE unread.recipient_id = social_notification.recipient_id AND NOT unread.read
    ) + 1
"""


def _store_published(
    workbook: Workbook, recipient_ids: list[int]
) -> tuple[list[int], list[int], Callable[[], None]]:
    """Store `published` for those of these (locked) followers not yet told. Returns the new
    notifications' ids and their recipients, in id order, and what pushes them once committed
    (it may run on another thread): it reads one row, whether the workbook is still shown to
    followers (push.shown_only), and pushes no notification of it if not."""
    if connection.vendor == "postgresql":
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                _INSERT_PUBLISHED,
                {
                    "actor": workbook.author_id,
                    "verb": Verb.PUBLISHED,
                    "workbook": workbook.pk,
                    "now": now,
                    "recipients": recipient_ids,
                },
            )
            # (id, recipient, previous, unread): the push needs nothing else it does not know.
            rows = sorted(cursor.fetchall())
        return (
            [pk for pk, _, _, _ in rows],
            [recipient_id for _, recipient_id, _, _ in rows],
            lambda: push.published(workbook, now, rows),
        )
    already = set(
        Notification.objects.filter(
            verb=Verb.PUBLISHED, workbook=workbook, recipient_id__in=recipient_ids
        ).values_list("recipient_id", flat=True)
    )
    created = Notification.objects.bulk_create(
        Notification(
            recipient_id=recipient_id,
            actor_id=workbook.author_id,
            verb=Verb.PUBLISHED,
            workbook=workbook,
        )
        for recipient_id in recipient_ids
        if recipient_id not in already
    )
    fresh = [item.pk for item in created]
    messages = push.notification_messages(fresh)  # read in this transaction, sent after it
    return (
        fresh,
        [item.recipient_id for item in created],
        lambda: push.send(push.shown_only(workbook.pk, messages)),
    )


def _now(job: Callable[[], None]) -> None:
    job()


def fan_out_published(
    workbook_id: int,
    after_follow_id: int = 0,
    *,
    pushes: Callable[[Callable[[], None]], None] = _now,
    bells: Callable[[Callable[[], None]], None] = _now,
) -> int | None:
    """Notify one batch of the author's followers; returns the last follow id to continue from,
    or None when done. Idempotent: a follower already told of this workbook is skipped.

    Once the batch commits, its push is given to `pushes`, then the forgetting of its followers'
    bells to `bells`, which run them: at once by default (push, then bells); the task runs each
    kind in order on a thread of its own while it stores the next batch (push.InOrder), so a
    batch's push and bells run side by side, in no set order. The push reads one row (whether the
    workbook is still shown to followers); the bells read nothing."""
    workbook = Workbook.objects.filter(pk=workbook_id).select_related("author").first()
    if workbook is None or not workbook.is_listed:
        # Held or hidden meanwhile, or unlisted (opened from its link only): nobody is told.
        return None
    batch = list(
        Follow.objects.filter(followee_id=workbook.author_id, pk__gt=after_follow_id)
        .exclude(follower__muted_verbs__verb=Verb.PUBLISHED)
        .order_by("pk")
        .values_list("pk", "follower_id")[:FAN_OUT_BATCH]
    )
    if not batch:
        return None
    recipient_ids = [follower_id for _, follower_id in batch]
    with transaction.atomic():
        _lock_recipients(recipient_ids)
        fresh, told, push_them = _store_published(workbook, recipient_ids)
        if fresh:
            # Pushed as soon as this batch commits: a task of its own waited for a broker round
            # trip and a free worker, behind the next batches. A push that fails is logged; the
            # followers' clients catch up with `resume`. This transaction reads no bell, so the
            # bells are forgotten once, after it commits, beside the push (in either order: the
            # push carries the new counts, and a page counting the bell meanwhile counts them
            # too, the generation renewed after retiring what it kept). A worker killed
            # before it is forgotten leaves those bells as they were until they expire
            # (selectors.BELL_SECONDS); the push is a hint either way (`resume`).
            transaction.on_commit(lambda: pushes(push_them), robust=True)
            transaction.on_commit(lambda: bells(lambda: selectors.forget_bells(told)), robust=True)
    return batch[-1][0] if len(batch) == FAN_OUT_BATCH else None


def record_published(workbook: Workbook, **signal: object) -> None:
    """A workbook was published for the first time: into the author's activity, and to followers.

    Connected to workbooks.signals.workbook_published itself (social.receivers), so the signal's
    `sender` and `signal` arrive in `signal`, unused."""
    Activity.objects.create(actor_id=workbook.author_id, verb=Verb.PUBLISHED, workbook=workbook)
    # Published either way: a fan-out the broker could not take is logged, not the author's error;
    # the sweep for unfinished fan-outs (tasks.resume_fan_outs) queues it again.
    jobs.later("social.tasks.fan_out_published", workbook.pk)


def record_featured(workbook: Workbook, curator: User, **signal: object) -> None:
    """A curator featured a workbook: its author is told. Connected to
    workbooks.signals.workbook_featured itself (social.receivers)."""
    notify(workbook.author_id, curator, Verb.FEATURED, workbook=workbook)


def notify_embed_failing(workbook: Workbook, **signal: object) -> None:
    """A workbook's frame is failing for its readers: its author is told, at most once a day (UTC)
    per workbook, unless they muted it. Nobody did it, so the notification names no actor.
    Connected to workbooks.signals.embed_failing (social.receivers), sent on each failure while
    failing: the day's notification, once there, is what stops the next ones."""
    recipient_id = workbook.author_id
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    with transaction.atomic():
        # Two failures reported at once take turns here, so the second finds the first's notification.
        _lock_recipients([recipient_id])
        told_today = Notification.objects.filter(
            recipient_id=recipient_id,
            verb=Verb.EMBED_FAILING,
            workbook=workbook,
            created_at__gte=today,
        ).exists()
        if not told_today:
            notify(recipient_id, None, Verb.EMBED_FAILING, workbook=workbook)


# --- A member leaving -------------------------------------------------------------------------------


def member_leaving(user_id: int) -> None:
    """A member's account is about to be deleted (accounts.signals.member_deleting, inside the
    deleting transaction). The cascade that follows removes their follows, favorites and
    workbooks (with others' favorites of them) without a word to the counters other members and
    workbooks keep: they are put right here, first, one grouped update each, so the queries do
    not grow with the member's history. Their comments on others' workbooks stay (by a deleted
    member), so no comment count moves; the pages that show any of it are retired."""
    followed = list(
        Follow.objects.filter(follower_id=user_id).values_list("followee_id", flat=True)
    )
    followers = list(
        Follow.objects.filter(followee_id=user_id).values_list("follower_id", flat=True)
    )
    User.objects.filter(pk__in=followed).update(follower_count=F("follower_count") - 1)
    User.objects.filter(pk__in=followers).update(following_count=F("following_count") - 1)
    favorited = list(
        Favorite.objects.filter(user_id=user_id)
        .exclude(workbook__author_id=user_id)
        .values_list("workbook_id", flat=True)
    )
    Workbook.objects.filter(pk__in=favorited).update(favorite_count=F("favorite_count") - 1)
    # Others' favorites of the member's workbooks: each favoriter's own count, by how many.
    given = (
        Favorite.objects.filter(user_id=OuterRef("pk"), workbook__author_id=user_id)
        .order_by()
        .values("user_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    favoriters = list(
        Favorite.objects.filter(workbook__author_id=user_id)
        .exclude(user_id=user_id)
        .values_list("user_id", flat=True)
        .distinct()
    )
    User.objects.filter(pk__in=favoriters).update(
        favorite_count=F("favorite_count") - Subquery(given)
    )
    commented = list(
        Comment.objects.filter(author_id=user_id)
        .exclude(workbook__author_id=user_id)
        .values_list("workbook_id", flat=True)
        .distinct()
    )
    # Their notifications to others go with them (the actor's cascade): those bells change.
    told = list(
        Notification.objects.filter(actor_id=user_id)
        .exclude(recipient_id=user_id)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    bell_changed(told)
    people, workbooks = {*followed, *followers, *favoriters}, {*favorited, *commented}
    transaction.on_commit(lambda: _retire_pages(people, workbooks), robust=True)


def _retire_pages(people: set[int], workbooks: set[int]) -> None:
    for pk in people:
        gallery_cache.object_changed("user", pk)
    for pk in workbooks:
        gallery_cache.object_changed("workbook", pk)
