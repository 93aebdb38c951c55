"""Embed health: how each workbook's frame fares for its readers, and whether its author should know.

A reader's page reports one outcome per view (static/js/embed.js): Sigma said the workbook loaded,
Sigma reported an error, or Sigma said nothing within SIGMA_EMBED_LOAD_TIMEOUT. Each is counted per
workbook per day (EmbedHealth), with one UPDATE, or an INSERT for the day's first. Nothing about the
reader is kept: the address only names a rate-limit counter in the cache, which expires.

A workbook is failing when more than EMBED_FAILING_SHARE of its last EMBED_FAILING_WINDOW outcomes
were errors or timeouts. Only counts per day are kept, so the window is read from the newest day
back; on the day where it starts, that day's failures are taken as spread evenly through the day.
Its author then sees a warning on the edit page, and the `embed_failing` signal is sent (social
tells the author, at most once a day).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.cache import BaseCache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from sigma_playground.cache import counted
from sigma_playground.errors import RetryLater

from . import signals
from .models import EmbedHealth, Workbook

RATE_WINDOW = 60  # seconds: EMBED_OUTCOMES_PER_MINUTE is counted per minute


class Outcome(enum.StrEnum):
    """What a reader's page saw of the frame; each value names its EmbedHealth column."""

    LOADED = "loaded"
    ERROR = "error"
    TIMEOUT = "timeout"

    @property
    def column(self) -> str:
        return {"loaded": "loads", "error": "errors", "timeout": "timeouts"}[self.value]

    @property
    def failed(self) -> bool:
        return self is not Outcome.LOADED


class TooManyOutcomes(RetryLater):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many reports. Try again in {retry_after} seconds.")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Failing:
    """A workbook's last `window` outcomes, of which `share` failed (more than the set share)."""

    share: float
    window: int

    @property
    def percent(self) -> int:
        return round(self.share * 100)


def check_rate(address: str, workbook_id: int) -> None:
    """At most EMBED_OUTCOMES_PER_MINUTE reports per address per workbook per minute, counted in
    the cache (this process's memory while Redis is down): one client cannot make a healthy
    workbook look broken to its author, nor a broken one healthy, by repeating reports."""
    minute = int(time.time() // RATE_WINDOW)
    key = f"embed-outcome:{workbook_id}:{address}:{minute}"

    def hit(cache: BaseCache) -> int:
        cache.add(key, 0, timeout=RATE_WINDOW * 2)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add() and incr(), or the cache is down
            cache.set(key, 1, timeout=RATE_WINDOW * 2)
            return 1

    if counted("embed-outcomes", hit) > settings.EMBED_OUTCOMES_PER_MINUTE:
        raise TooManyOutcomes(retry_after=RATE_WINDOW - int(time.time()) % RATE_WINDOW or 1)


def record_outcome(workbook: Workbook, outcome: Outcome, day: date | None = None) -> None:
    """Count one reader's outcome on `day` (today, UTC, as the daily activity); a failure that
    leaves the workbook failing sends signals.embed_failing."""
    day = day or timezone.now().date()
    column = outcome.column
    with transaction.atomic():
        rows = EmbedHealth.objects.filter(workbook=workbook, day=day)
        if not rows.update(**{column: F(column) + 1}):
            try:
                with transaction.atomic():  # a savepoint: a concurrent first report may win
                    EmbedHealth.objects.create(workbook=workbook, day=day, **{column: 1})
            except IntegrityError:
                rows.update(**{column: F(column) + 1})
        if outcome.failed:
            failing = failing_now(workbook)
            if failing is not None:
                signals.embed_failing.send(
                    Workbook, workbook=workbook, share=failing.share, window=failing.window
                )


def failing_now(workbook: Workbook) -> Failing | None:
    """Whether more than EMBED_FAILING_SHARE of the last EMBED_FAILING_WINDOW outcomes failed; None
    until that many were reported. One query: each day kept has at least one outcome, so the
    window's days are among the newest `window` rows."""
    window = settings.EMBED_FAILING_WINDOW
    days = EmbedHealth.objects.filter(workbook=workbook).order_by("-day")[:window]
    share = failed_share(list(days.values_list("loads", "errors", "timeouts")), window)
    if share is None or share <= settings.EMBED_FAILING_SHARE:
        return None
    return Failing(share=share, window=window)


def failed_share(days: list[tuple[int, int, int]], window: int) -> float | None:
    """The failed share of the last `window` outcomes, from (loads, errors, timeouts) per day,
    newest first; None when fewer than `window` were reported. Only part of the oldest day needed
    may fall in the window: its failures are counted in proportion."""
    taken = 0
    failed = 0.0
    for loads, errors, timeouts in days:
        total = loads + errors + timeouts
        part = min(total, window - taken)
        if part:
            failed += (errors + timeouts) * part / total
            taken += part
        if taken == window:
            return failed / window
    return None
