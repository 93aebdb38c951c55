"""Demo workbooks for `make run`: varied, tagged, featured, with generated thumbnails."""

from __future__ import annotations

import colorsys
import random
from datetime import timedelta
from io import BytesIO

from django.utils import timezone
from PIL import Image, ImageDraw

from accounts import services as account_services
from accounts.models import User
from media import selectors as media_selectors
from media import services as media_services
from media.models import Image as UploadedImage

from . import services
from .models import DailyActivity, Featured, Workbook

EMBED = "https://app.sigmacomputing.com/embed/"
DEMO_WORKBOOKS = [
    # author, title, embed id or URL, tags, description
    (
        "ada",
        "Quarterly revenue by region",
        "1-DemoRevenueByRegion01",
        ["finance", "revenue", "regions"],
        "Revenue per **region** and quarter, with a drill-down to each account.\n\n"
        "- Filters for fiscal year\n- Variance against plan",
    ),
    (
        "ada",
        "Cohort retention explorer",
        "1-DemoCohortRetention02",
        ["saas", "retention", "cohorts"],
        "Monthly signup cohorts and how many stay active, as a heatmap and as curves.",
    ),
    (
        "grace",
        "Support queue health",
        "1-DemoSupportQueue0003",
        ["operations", "support"],
        "Open tickets, first-response time and backlog age, refreshed hourly.",
    ),
    (
        "grace",
        "Cloud spend by team",
        "1-DemoCloudSpend000004",
        ["finance", "cloud", "finops"],
        "Where the cloud bill goes: spend per team, service and environment, with anomalies flagged.",
    ),
    (
        "katherine",
        "Launch window calculator",
        "1-DemoLaunchWindow0005",
        ["engineering", "what-if"],
        "Play with the **input tables** to see how orbital parameters move the launch windows.",
    ),
    (
        "katherine",
        "Flight delays, 2015 to 2024",
        "1-DemoFlightDelays0006",
        ["transport", "public data"],
        "Ten years of US domestic flight delays by carrier, airport and hour of day.",
    ),
    (
        "ada",
        "Pipeline coverage",
        "1-DemoPipelineCover007",
        ["sales", "forecasting"],
        "Pipeline versus quota, by segment and rep. Uses `forecast_category` from the CRM.",
    ),
    (
        "grace",
        "Inventory days of supply",
        "1-DemoInventoryDays008",
        ["supply chain", "operations"],
        "Days of supply per SKU and warehouse, with reorder suggestions.",
    ),
    (
        "katherine",
        "Energy mix of the grid",
        "1-DemoEnergyMix0000009",
        ["energy", "public data"],
        "Hourly generation by source and the share of renewables across a year.",
    ),
    (
        "ada",
        "Marketing attribution",
        "1-DemoAttribution00010",
        ["marketing", "saas"],
        "First-touch, last-touch and linear attribution side by side.",
    ),
    (
        "grace",
        "Hiring funnel",
        "1-DemoHiringFunnel0011",
        ["people", "recruiting"],
        "From application to offer: conversion by stage, source and role.",
    ),
    (
        "katherine",
        "A workbook that fails to load",
        "1-DemoEmbedThatWillError12",
        ["examples"],
        "Shows what readers see when Sigma reports an error: the thumbnail and a link to open Sigma. "
        "Unlisted: it opens from its link (and the workshop collection) but no list shows it.",
    ),
]
# Demo-only examples, unlisted (Workbook.listed): they open from their link, the README's and the
# workshop collection's, but stay out of the gallery's lists, search and feeds.
DEMO_UNLISTED = {"A workbook that fails to load"}

# Up to three of each member's published workbooks, pinned to the top of their profile, in order.
DEMO_PINS = {
    "ada": ["Cohort retention explorer", "Quarterly revenue by region"],
    "grace": ["Cloud spend by team", "Support queue health", "Hiring funnel"],
    "katherine": ["Launch window calculator"],
}


def thumbnail_png(title: str, seed: int) -> bytes:
    """A chart-like picture per workbook, so the gallery looks finished offline."""
    rng = random.Random(seed)  # noqa: S311 - decoration, not security
    hue = seed * 47 % 360
    image = Image.new("RGB", (1200, 675), _hsl(hue, 0.55, 0.95))
    draw = ImageDraw.Draw(image)
    draw.rectangle([60, 60, 1140, 615], fill=(255, 255, 255), outline=_hsl(hue, 0.3, 0.85), width=2)
    bars = rng.randint(6, 10)
    width = 960 // bars
    for i in range(bars):
        height = rng.randint(120, 430)
        x = 120 + i * width
        draw.rectangle(
            [x, 560 - height, x + width - 24, 560], fill=_hsl(hue, 0.6, 0.45 + 0.03 * (i % 3))
        )
    draw.line([100, 560, 1100, 560], fill=_hsl(hue, 0.2, 0.6), width=3)
    draw.text((100, 90), title[:60], fill=_hsl(hue, 0.5, 0.25), font_size=44)
    buffer = BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _hsl(hue: int, saturation: float, lightness: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hls_to_rgb(hue / 360, lightness, saturation)
    return int(r * 255), int(g * 255), int(b * 255)


def ensure_demo_workbooks(users: dict[str, User], curator: User) -> int:
    created = 0
    for index, (author, title, embed_id, tags, description) in enumerate(DEMO_WORKBOOKS):
        listed = title not in DEMO_UNLISTED
        workbook = Workbook.objects.filter(author=users[author], title=title).first()
        if workbook is None:
            workbook = services.create_workbook(
                users[author],
                title=title,
                description=description,
                embed_url=EMBED + embed_id,
                tags=tags,
                status=Workbook.Status.PUBLISHED,
                listed=listed,
            )
            Workbook.objects.filter(pk=workbook.pk).update(
                published_at=timezone.now() - timedelta(days=len(DEMO_WORKBOOKS) - index)
            )
            created += 1
        elif workbook.listed != listed:
            # A demo database seeded before examples were unlisted: brought up to date.
            workbook = services.update_workbook(workbook, listed=listed)
        if not workbook.thumbnail and not media_selectors.has_uploads(
            kind=UploadedImage.Kind.THUMBNAIL, holder=workbook.pk
        ):
            # Through the same path as an author's upload: checked, then made into variants.
            media_services.accept_upload(
                owner=workbook.author,
                kind=UploadedImage.Kind.THUMBNAIL,
                holder=workbook.pk,
                file=BytesIO(thumbnail_png(title, index + 1)),
            )
    _demo_pins(users)
    if created:
        _demo_activity()
        picks = Workbook.objects.filter(title__in=[w[1] for w in DEMO_WORKBOOKS[:4]]).order_by("pk")
        if not Featured.objects.exists():
            services.feature(picks, curator, note="A clear, well-annotated example.")
    return created


def _demo_pins(users: dict[str, User]) -> None:
    """Pin a few workbooks through the profile service (it checks the pins and tells what shows
    the profile). A member with pins already keeps theirs: a re-run changes nothing."""
    for username, titles in DEMO_PINS.items():
        user = users[username]
        if user.pinned_workbook_ids:
            continue
        by_title = dict(
            Workbook.objects.published()
            .filter(author=user, title__in=titles)
            .values_list("title", "pk")
        )
        account_services.update_profile(
            user,
            full_name=user.full_name,
            bio=user.bio,
            website=user.website,
            pinned_workbook_ids=[by_title[title] for title in titles if title in by_title],
        )


def _demo_activity() -> None:
    rng = random.Random(7)  # noqa: S311
    today = timezone.now().date()
    rows = []
    for workbook in Workbook.objects.published():
        for age in range(7):
            rows.append(
                DailyActivity(
                    workbook=workbook,
                    day=today - timedelta(days=age),
                    views=rng.randint(0, 40),
                    favorites=rng.randint(0, 4),
                )
            )
    DailyActivity.objects.bulk_create(rows, ignore_conflicts=True)
    for workbook in Workbook.objects.published():
        total = sum(r.views for r in rows if r.workbook_id == workbook.pk)
        Workbook.objects.filter(pk=workbook.pk).update(view_count=total)
    services.refresh_trending()
