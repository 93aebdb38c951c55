"""Embed health: how each workbook's frame fares for its readers, and whether its author should know.

A reader's page reports one outcome per view (static/js/embed.js): Sigma said the workbook loaded,
Sigma reported an error, or Sigma said nothing within SIGMA_EMBED_LOAD_TIMEOUT. Each is counted per
workbook per day (EmbedHealth), with one UPDATE, or an INSERT for the day's first. Nothing about the
reader is kept: their address, hashed with the secret key (an IPv6 address by its /64, which one
household or machine holds), only names short-lived keys in the cache.

Anyone's browser can be made to send reports, so no single reporter may decide what an author is
told: each address (or /64) is counted once per workbook per REPORT_PERIOD, and a workbook is
failing only when more than EMBED_FAILING_SHARE of its last EMBED_FAILING_WINDOW outcomes were
errors or timeouts AND at least EMBED_FAILING_MIN_REPORTERS distinct addresses reported a failure
within FAILERS_PERIOD. Only counts per day are kept, so the window is read from the newest day
back; on the day where it starts, that day's failures are taken as spread evenly through the day.
Its author then sees a warning on the edit page, and the `embed_failing` signal is sent (social
tells the author, at most once a day).
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
import time
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.cache import BaseCache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from sigma_playground.cache import counted

from . import signals
from .models import EmbedHealth, Workbook

# Seconds during which one address (or IPv6 /64) is counted once per workbook.
REPORT_PERIOD = 10 * 60
# Seconds a failure report names its reporter among the workbook's recent failers.
FAILERS_PERIOD = 24 * 60 * 60


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


@dataclass(frozen=True)
class Failing:
    """A workbook's last `window` outcomes, of which `share` failed (more than the set share)."""

    share: float
    window: int

    @property
    def percent(self) -> int:
        return round(self.share * 100)


def reporter_key(address: str) -> str:
    """Who reported, as a salted hash of the client address: an IPv6 address by its /64 (a home or
    a host is given a whole /64, so its other addresses are the same reporter), an IPv4 one whole."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        block = address
    else:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            block = str(ip.ipv4_mapped)
        elif isinstance(ip, ipaddress.IPv6Address):
            block = str(ipaddress.IPv6Network((ip, 64), strict=False))
        else:
            block = str(ip)
    return hashlib.sha256(f"{settings.SECRET_KEY}:embed-reporter:{block}".encode()).hexdigest()[:32]


def first_report(reporter: str, workbook_id: int) -> bool:
    """Whether this is the reporter's first report on the workbook in REPORT_PERIOD: only that one is
    counted (a page reports once per view, so a reader reloading meanwhile goes uncounted), marked in
    the cache (this process's memory while Redis is down). A reporter repeating themself moves a
    workbook's counts by at most one in REPORT_PERIOD; they cannot make it failing alone (see
    failing_now)."""
    key = f"embed-outcome:{workbook_id}:{reporter}"
    return counted("embed-outcomes", lambda cache: cache.add(key, True, timeout=REPORT_PERIOD))


def _failers_key(workbook_id: int) -> str:
    return f"embed-failers:{workbook_id}"


def note_failure(workbook_id: int, reporter: str) -> None:
    """Remember that `reporter` saw the workbook's frame fail, for FAILERS_PERIOD. Only the newest
    EMBED_FAILING_MIN_REPORTERS distinct reporters are kept: all that failing_now asks is whether
    there were that many. Two failures noted at the same moment may keep only one of the two
    reporters; that only delays the warning until the next failure."""
    key = _failers_key(workbook_id)
    now = time.time()

    def note(cache: BaseCache) -> None:
        failers: dict[str, float] = cache.get(key) or {}
        failers = {r: at for r, at in failers.items() if at > now - FAILERS_PERIOD}
        failers[reporter] = now
        newest = sorted(failers.items(), key=lambda item: item[1], reverse=True)
        kept = dict(newest[: settings.EMBED_FAILING_MIN_REPORTERS])
        cache.set(key, kept, timeout=FAILERS_PERIOD)

    counted("embed-failers", note)


def failing_reporters(workbook_id: int) -> int:
    """How many distinct reporters saw the workbook's frame fail within FAILERS_PERIOD (at most
    EMBED_FAILING_MIN_REPORTERS are remembered)."""
    failers = counted("embed-failers", lambda cache: cache.get(_failers_key(workbook_id))) or {}
    since = time.time() - FAILERS_PERIOD
    return sum(1 for at in failers.values() if at > since)


def record_outcome(
    workbook: Workbook, outcome: Outcome, day: date | None = None, *, reporter: str | None = None
) -> None:
    """Count one reader's outcome on `day` (today, UTC, as the daily activity); a failure, from
    `reporter` (reporter_key) when known, that leaves the workbook failing sends
    signals.embed_failing.

    Every report updates the workbook's one row for the day, so while Sigma is down a popular
    workbook's reports wait on each other for that row's lock. Each is one short UPDATE, and
    first_report admits one report per reader per workbook per REPORT_PERIOD, which bounds that
    queue by the number of readers in ten minutes rather than by their page loads.
    """
    day = day or timezone.now().date()
    column = outcome.column
    if outcome.failed and reporter is not None:
        note_failure(workbook.pk, reporter)
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
    """Whether more than EMBED_FAILING_SHARE of the last EMBED_FAILING_WINDOW outcomes failed, as
    seen by at least EMBED_FAILING_MIN_REPORTERS distinct reporters; None until that many outcomes
    and reporters were reported. At most one query, after a cache read: each day kept has at
    least one outcome, so the window's days are among the newest `window` rows."""
    if failing_reporters(workbook.pk) < settings.EMBED_FAILING_MIN_REPORTERS:
        return None
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
