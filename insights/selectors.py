"""Authors' insights: how their workbooks are doing, per day, over the last 7, 30 or 90 days.

Everything is read in a fixed number of queries, whatever the period or the number of workbooks:
one for the workbooks, one per kind of count (grouped by workbook and day in the database), one
for the referrers. Days are UTC dates, as the view flush counts them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Aggregate, Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from sigma_playground.models import Moderation
from social.models import Collection, CollectionItem, Comment, Favorite
from workbooks.models import DailyActivity, DailyReferrer, EmbedHealth, Workbook

# The periods an author may ask for, in days; anything else is refused.
PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
TOP_REFERRERS = 10

# The embed outcomes counted per day, each an EmbedHealth column.
EMBED = ("loads", "errors", "timeouts")


class BadPeriod(ValueError):
    """The period asked for is not one of PERIODS."""


def period(raw: str | None) -> int:
    """`?days=` as a period: absent means the default; anything but 7, 30 or 90 is refused."""
    if raw is None:
        return DEFAULT_PERIOD
    if raw not in {str(days) for days in PERIODS}:
        raise BadPeriod(f"days must be one of {', '.join(map(str, PERIODS))}.")
    return int(raw)


def workbook_for(user: User | AnonymousUser, **lookup: Any) -> Workbook:
    """The workbook `lookup` finds if `user` may see its insights; raises Workbook.DoesNotExist
    otherwise, as for one that is not there.

    Its author may; so may staff, but only what they may open: someone else's draft needs the
    view_draft permission (moderators), as opening it does, and curators are staff without it."""
    if not user.is_authenticated:
        raise Workbook.DoesNotExist
    mine = Workbook.objects.filter(author=user)
    found = Workbook.objects.visible_to(user) if user.is_staff else mine
    return found.only("pk", "slug", "title", "status", "author_id").get(**lookup)


@dataclass
class Day:
    day: date
    views: int = 0
    favorites: int = 0
    comments: int = 0
    collection_adds: int = 0
    loads: int = 0
    errors: int = 0
    timeouts: int = 0

    @property
    def failed(self) -> int:
        return self.errors + self.timeouts

    @property
    def outcomes(self) -> int:
        return self.loads + self.errors + self.timeouts

    @property
    def failed_share(self) -> float | None:
        """The share of reported outcomes that failed, or None with none reported."""
        return round(self.failed / self.outcomes, 4) if self.outcomes else None

    def add(self, name: str, value: int) -> None:
        setattr(self, name, getattr(self, name) + value)


@dataclass
class WorkbookTotals:
    workbook: Workbook
    totals: Day


@dataclass
class Insights:
    days: int
    series: list[Day]
    totals: Day
    referrers: list[tuple[str, int]]
    # Each workbook's totals over the period (the author's page: all their workbooks).
    workbooks: list[WorkbookTotals] = field(default_factory=list)

    @property
    def start(self) -> date:
        return self.series[0].day

    @property
    def end(self) -> date:
        return self.series[-1].day


def _per_day(
    rows: QuerySet[Any], day: str, values: dict[str, Aggregate], since: date
) -> Iterable[dict[str, Any]]:
    """`rows` since `since`, summed per workbook and day (`day`: a date field, or a datetime
    truncated to its UTC date)."""
    if day.endswith("_at"):  # a moment: compared as such, so that its index serves
        rows = rows.filter(**{f"{day}__gte": datetime.combine(since, time.min, tzinfo=UTC)})
        by_day: TruncDate | F = TruncDate(day)
    else:
        rows = rows.filter(**{f"{day}__gte": since})
        by_day = F(day)
    grouped: Iterable[dict[str, Any]] = (
        rows.annotate(on=by_day).values("workbook_id", "on").annotate(**values).order_by()
    )
    return grouped


# The collection adds counted: to public collections, and to the workbook's author's own of any
# visibility. Adds to others' private or unlisted collections are theirs to keep: counting them
# would tell the author (and staff) when someone collected the workbook where nobody else can see.
# The author's own adds tell them nothing they do not know.
COUNTED_ADDS = Q(collection__visibility=Collection.Visibility.PUBLIC) | Q(
    collection__owner=F("workbook__author")
)


def _counts(workbooks: Q, since: date) -> Iterable[tuple[int, date, str, int]]:
    """(workbook id, day, metric, count) for every non-zero count of the workbooks `workbooks`
    selects (a condition on `workbook`), one query per kind of count."""
    one: dict[str, Aggregate] = {"n": Count("pk")}
    sources: list[tuple[QuerySet[Any], str, dict[str, Aggregate], tuple[str, ...]]] = [
        (DailyActivity.objects.filter(workbooks), "day", {"views": Sum("views")}, ("views",)),
        (Favorite.objects.filter(workbooks), "created_at", one, ("favorites",)),
        # As comment_count does: only the comments every reader sees, not held or hidden ones.
        (
            Comment.objects.filter(workbooks, moderation=Moderation.VISIBLE),
            "created_at",
            one,
            ("comments",),
        ),
        (
            CollectionItem.objects.filter(workbooks).filter(COUNTED_ADDS),
            "added_at",
            one,
            ("collection_adds",),
        ),
        (
            EmbedHealth.objects.filter(workbooks),
            "day",
            {name: Sum(name) for name in EMBED},
            EMBED,
        ),
    ]
    for rows, day, values, names in sources:
        for row in _per_day(rows, day, values, since):
            on = row["on"]
            for name, key in zip(names, values, strict=True):
                if row[key]:
                    yield row["workbook_id"], on, name, row[key]


def _referrers(workbooks: Q, since: date) -> list[tuple[str, int]]:
    rows = (
        DailyReferrer.objects.filter(workbooks, day__gte=since)
        .values("domain")
        .annotate(views=Sum("views"))
        .order_by("-views", "domain")[:TOP_REFERRERS]
    )
    return [(row["domain"], row["views"]) for row in rows]


def _insights(workbooks: Q, days: int, listed: list[Workbook]) -> Insights:
    today = timezone.now().date()
    since = today - timedelta(days=days - 1)
    series = [Day(since + timedelta(days=n)) for n in range(days)]
    by_day = {row.day: row for row in series}
    totals = Day(today)
    per_workbook = {workbook.pk: WorkbookTotals(workbook, Day(today)) for workbook in listed}
    for workbook_id, on, name, count in _counts(workbooks, since):
        if on in by_day:
            by_day[on].add(name, count)
            totals.add(name, count)
            if workbook_id in per_workbook:
                per_workbook[workbook_id].totals.add(name, count)
    return Insights(
        days=days,
        series=series,
        totals=totals,
        referrers=_referrers(workbooks, since),
        workbooks=list(per_workbook.values()),
    )


def for_workbook(workbook: Workbook, days: int) -> Insights:
    """One workbook's insights over the last `days` days."""
    return _insights(Q(workbook_id=workbook.pk), days, [])


def for_author(author: User, days: int) -> Insights:
    """All of `author`'s workbooks together over the last `days` days, with each one's totals
    (newest first)."""
    listed = list(
        Workbook.objects.filter(author=author)
        .only("pk", "slug", "title", "status", "author_id")
        .order_by("-created_at", "-pk")
    )
    return _insights(Q(workbook__author=author), days, listed)
