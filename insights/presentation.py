"""What the insights page shows: its charts, drawn from a selectors.Insights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.safestring import SafeString

from workbooks.models import Workbook

from .charts import Layer, bar_chart
from .selectors import PERIODS, Insights

# (field, heading, what one counts), in the order the page shows them.
ACTIVITY_CHARTS = (
    ("views", "Views", "views counted"),
    ("favorites", "Favorites", "favorites added"),
    ("comments", "Comments", "comments posted"),
    ("collection_adds", "Collection adds", "adds to collections"),
)


@dataclass(frozen=True)
class Chart:
    id: str
    heading: str
    total: int
    svg: SafeString


def charts(insights: Insights, subject: str) -> list[Chart]:
    days = [row.day for row in insights.series]
    period = f"per day over the last {insights.days} days, {days[0]:%d %B} to {days[-1]:%d %B %Y}"
    found = []
    for name, heading, counted in ACTIVITY_CHARTS:
        values = [getattr(row, name) for row in insights.series]
        total = getattr(insights.totals, name)
        found.append(
            Chart(
                f"chart-{name}",
                heading,
                total,
                bar_chart(
                    f"chart-{name}",
                    f"{heading} of {subject}",
                    f"{heading} {period}: {total} {counted} in all.",
                    days,
                    [Layer(counted, values)],
                ),
            )
        )
    loads = [row.loads for row in insights.series]
    failed = [row.failed for row in insights.series]
    totals = insights.totals
    found.append(
        Chart(
            "chart-embed",
            "Embed health",
            totals.outcomes,
            bar_chart(
                "chart-embed",
                f"Embed health of {subject}",
                f"Frames that loaded (solid) and failed (hatched: errors and timeouts) {period}: "
                f"{totals.loads} loaded, {totals.errors} errors, {totals.timeouts} timeouts.",
                days,
                [Layer("loaded", loads), Layer("failed", failed, hatched=True)],
            ),
        )
    )
    return found


def context(insights: Insights, workbook: Workbook | None) -> dict[str, Any]:
    subject = f"“{workbook.title}”" if workbook else "all your workbooks"
    return {
        "insights": insights,
        "workbook": workbook,
        "subject": subject,
        "charts": charts(insights, subject),
        "periods": PERIODS,
        # Newest first in the table: the day an author comes to look at is usually today.
        "rows": list(reversed(insights.series)),
    }
