"""Server-rendered SVG bar charts for the insights pages.

Readable without colour: each chart is titled and described (<title>, <desc>), its axis is labelled
with numbers and dates, each bar carries its own day and count as a <title>, a chart of two layers
tells them apart by a hatched pattern as well as by shade, with a legend in words; and the pages
put the same numbers in a table beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 360
HEIGHT = 150
LEFT = 30  # room for the axis' numbers
BOTTOM = 24  # room for the dates
TOP = 18  # room for the legend
RIGHT = 4


@dataclass(frozen=True)
class Layer:
    label: str
    values: list[int]
    hatched: bool = False


def _n(number: float) -> str:
    """A coordinate, to a tenth of a unit."""
    return f"{number:.1f}"


def _date(day: date) -> str:
    return f"{day:%d %b}".lstrip("0")


def bar_chart(
    chart_id: str, title: str, description: str, days: list[date], layers: list[Layer]
) -> SafeString:
    """A bar per day, the layers stacked (the first at the bottom)."""
    totals = [sum(layer.values[n] for layer in layers) for n in range(len(days))]
    top = max([*totals, 1])
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    step = plot_width / max(len(days), 1)
    bar = max(step * 0.8, 1)
    rects = []
    for n, day in enumerate(days):
        base = 0
        x = LEFT + n * step + (step - bar) / 2
        for layer in layers:
            value = layer.values[n]
            if value:
                height = plot_height * value / top
                y = TOP + plot_height * (1 - (base + value) / top)
                fill = f"url(#{chart_id}-hatch)" if layer.hatched else "currentColor"
                rects.append(
                    format_html(
                        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"'
                        ' class="chart__bar{}"><title>{}: {} {}</title></rect>',
                        _n(x),
                        _n(y),
                        _n(bar),
                        _n(height),
                        fill,
                        " chart__bar--hatched" if layer.hatched else "",
                        _date(day),
                        value,
                        layer.label,
                    )
                )
                base += value
    axis_y = TOP + plot_height
    labels = [
        (0, days[0]),
        *([(len(days) // 2, days[len(days) // 2])] if len(days) > 2 else []),
        (len(days) - 1, days[-1]),
    ]
    # The first and last dates are anchored inward, so that neither runs off the edge.
    anchors = {0: "start", len(days) - 1: "end"}
    date_labels = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="{}" class="chart__label">{}</text>',
        (
            (
                _n(LEFT + n * step + (0 if n == 0 else step if n == len(days) - 1 else step / 2)),
                HEIGHT - 6,
                anchors.get(n, "middle"),
                _date(day),
            )
            for n, day in labels
        ),
    )
    legend = (
        format_html_join(
            "",
            '<rect x="{}" y="0" width="10" height="10" fill="{}"/>'
            '<text x="{}" y="9" class="chart__label">{}</text>',
            (
                (
                    LEFT + 90 * n,
                    f"url(#{chart_id}-hatch)" if layer.hatched else "currentColor",
                    LEFT + 90 * n + 14,
                    layer.label,
                )
                for n, layer in enumerate(layers)
            ),
        )
        if len(layers) > 1
        else ""
    )
    return format_html(
        '<svg class="chart" id="{id}" role="img" viewBox="0 0 {w} {h}" width="100%"'
        ' preserveAspectRatio="xMinYMin meet" aria-labelledby="{id}-title {id}-desc">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
        '<defs><pattern id="{id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse"'
        ' patternTransform="rotate(45)"><rect width="6" height="6" fill="white"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="currentColor" stroke-width="3"/></pattern></defs>'
        "{legend}"
        '<line x1="{left}" y1="{axis}" x2="{right}" y2="{axis}" stroke="currentColor"/>'
        '<text x="{label_x}" y="{top_y}" text-anchor="end" class="chart__label">{top}</text>'
        '<text x="{label_x}" y="{axis}" text-anchor="end" class="chart__label">0</text>'
        "{bars}{dates}</svg>",
        id=chart_id, w=WIDTH, h=HEIGHT, title=title, desc=description, legend=legend,
        left=LEFT, right=WIDTH - RIGHT, axis=axis_y, label_x=LEFT - 6, top_y=TOP + 8, top=top,
        bars=SafeString("".join(rects)), dates=date_labels,
    )  # fmt: skip
