"""Reads: the target a member reports (as they see it), the moderators' queue, one target's reports."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Max, Q
from django.http import Http404
from django.urls import NoReverseMatch, reverse

from accounts import selectors as accounts_selectors
from accounts.models import DELETED_MEMBER, User
from sigma_playground.api import MAX_ID
from social.models import Comment
from workbooks.models import Workbook

from .models import ModerationAction, Report, Target

QUEUE_PAGE_SIZE = 50
# A target's own admin page, and the permission to open it: {kind: (admin URL name, permission)}.
ADMIN_PAGES: dict[str, tuple[str, str]] = {
    Target.WORKBOOK: ("workbooks_workbook", "workbooks.view_workbook"),
    Target.USER: ("accounts_user", "accounts.view_user"),
}
# One target's page lists at most this many of its newest open reports (the count says how many).
TARGET_REPORTS_SHOWN = 100


@dataclass
class Found:
    """What a report or a moderator's action is about."""

    kind: str
    id: int
    obj: Workbook | Comment | User | None  # None: gone since it was reported
    owner_id: int | None = None  # who made it (the member themselves for a member)

    @property
    def description(self) -> str:
        """What the audit log keeps of it, in words: a title, a comment's first words, a name."""
        obj = self.obj
        if isinstance(obj, Workbook):
            return obj.title[:300]
        if isinstance(obj, Comment):
            by = obj.author.username if obj.author else f"a {DELETED_MEMBER}"
            return f"{by}: {obj.body[:200]} (on “{obj.workbook.title[:60]}”)"
        if isinstance(obj, User):
            return f"@{obj.username}"
        return f"{self.kind} {self.id} (deleted)"

    @property
    def public_url(self) -> str | None:
        obj = self.obj
        if isinstance(obj, Workbook):
            return obj.get_absolute_url()
        if isinstance(obj, Comment):
            return f"{obj.workbook.get_absolute_url()}#comment-{obj.pk}"
        if isinstance(obj, User):
            return reverse("workbooks:author", args=[obj.username])
        return None

    def admin_url(self, viewer: User | AnonymousUser) -> str | None:
        """The row's own admin page, where its model has one and `viewer` may open it."""
        name, permission = ADMIN_PAGES.get(self.kind, ("", ""))
        if not name or self.obj is None or not viewer.has_perm(permission):
            return None
        try:
            return reverse(f"admin:{name}_change", args=[self.id])
        except NoReverseMatch:
            return None

    @property
    def moderation(self) -> str:
        """Where content stands (sigma_playground.models.Moderation); "" for a member."""
        return getattr(self.obj, "moderation", "")


def _as_id(ref: str | int) -> int:
    try:
        number = int(ref)
    except (TypeError, ValueError):
        raise Http404("No such thing to report.") from None
    if not 0 < number <= MAX_ID:
        raise Http404("No such thing to report.")
    return number


def reportable(viewer: User | AnonymousUser, kind: str, ref: str | int) -> Found:
    """The target as `viewer` may see it: a workbook or comment by id, a member by username. What
    they cannot see is a 404, exactly like what does not exist."""
    if kind == Target.WORKBOOK:
        try:
            workbook = Workbook.objects.visible_to(viewer).get(pk=_as_id(ref))
        except Workbook.DoesNotExist:
            raise Http404("No such workbook.") from None
        return Found(kind, workbook.pk, workbook, workbook.author_id)
    if kind == Target.COMMENT:
        try:
            comment = (
                Comment.objects.visible_to(viewer)
                .select_related("author", "workbook")
                .get(pk=_as_id(ref))
            )
        except Comment.DoesNotExist:
            raise Http404("No such comment.") from None
        return Found(kind, comment.pk, comment, comment.author_id)
    if kind == Target.USER:
        person = accounts_selectors.active_user_or_404(str(ref))
        return Found(kind, person.pk, person, person.pk)
    raise Http404("No such kind of thing to report.")


def target(kind: str, target_id: int) -> Found:
    """The target as moderators see it: whatever its state, or None in `obj` if it is gone."""
    obj: Workbook | Comment | User | None
    if kind == Target.WORKBOOK:
        obj = Workbook.objects.select_related("author").filter(pk=target_id).first()
        return Found(kind, target_id, obj, obj.author_id if obj else None)
    if kind == Target.COMMENT:
        obj = Comment.objects.select_related("author", "workbook").filter(pk=target_id).first()
        return Found(kind, target_id, obj, obj.author_id if obj else None)
    if kind == Target.USER:
        obj = User.objects.filter(pk=target_id).first()
        return Found(kind, target_id, obj, target_id if obj else None)
    raise Http404("No such kind of target.")


# --- The queue ------------------------------------------------------------------------------------


@dataclass
class QueueRow:
    """One target with open reports."""

    target: Found
    reporters: int  # distinct members with an open report of it
    newest: datetime
    reasons: dict[str, int] = field(default_factory=dict)  # reason -> open reports giving it

    @property
    def reason_labels(self) -> list[str]:
        labels = dict(Report._meta.get_field("reason").choices or [])
        return [
            f"{labels.get(reason, reason)} ({count})"
            for reason, count in sorted(self.reasons.items(), key=lambda item: -item[1])
        ]


def open_targets() -> list[dict]:
    """The targets with open reports, newest report first: a values() queryset the admin pages."""
    return (
        Report.objects.open()  # type: ignore[return-value]  # sliced by the paginator
        .values("target_kind", "target_id")
        .annotate(reporters=Count("reporter", distinct=True), newest=Max("created_at"))
        .order_by("-newest", "target_kind", "-target_id")
    )


def queue_rows(page: list[dict]) -> list[QueueRow]:
    """A page of open_targets() with each target's reasons and rows: one query for the reasons
    and one per kind of target on the page, however many reports there are."""
    if not page:
        return []
    ids: dict[str, set[int]] = defaultdict(set)
    for row in page:
        ids[row["target_kind"]].add(row["target_id"])
    which = Q()
    for kind, kind_ids in ids.items():
        which |= Q(target_kind=kind, target_id__in=kind_ids)
    reasons: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)
    for reason in (
        Report.objects.open()
        .filter(which)
        .values("target_kind", "target_id", "reason")
        .annotate(count=Count("pk"))
        .order_by()
    ):
        reasons[reason["target_kind"], reason["target_id"]][reason["reason"]] = reason["count"]
    objects = _objects(ids)
    rows = []
    for row in page:
        key = (row["target_kind"], row["target_id"])
        obj = objects.get(key)
        owner = obj.pk if isinstance(obj, User) else getattr(obj, "author_id", None)
        rows.append(
            QueueRow(
                target=Found(row["target_kind"], row["target_id"], obj, owner),
                reporters=row["reporters"],
                newest=row["newest"],
                reasons=reasons[key],
            )
        )
    return rows


def _objects(ids: dict[str, set[int]]) -> dict[tuple[str, int], Workbook | Comment | User]:
    found: dict[tuple[str, int], Workbook | Comment | User] = {}
    if ids.get(Target.WORKBOOK):
        for workbook in Workbook.objects.filter(pk__in=ids[Target.WORKBOOK]).select_related(
            "author"
        ):
            found[Target.WORKBOOK, workbook.pk] = workbook
    if ids.get(Target.COMMENT):
        for comment in Comment.objects.filter(pk__in=ids[Target.COMMENT]).select_related(
            "author", "workbook"
        ):
            found[Target.COMMENT, comment.pk] = comment
    if ids.get(Target.USER):
        for person in User.objects.filter(pk__in=ids[Target.USER]):
            found[Target.USER, person.pk] = person
    return found


def open_reports(kind: str, target_id: int) -> list[Report]:
    """A target's newest open reports, with their reporters."""
    return list(
        Report.objects.open()
        .about(kind, target_id)
        .select_related("reporter")
        .order_by("-created_at", "-pk")[:TARGET_REPORTS_SHOWN]
    )


def history(kind: str, target_id: int, limit: int = 20) -> list[ModerationAction]:
    """What moderators did to a target before, newest first."""
    return list(ModerationAction.objects.filter(target_kind=kind, target_id=target_id)[:limit])
