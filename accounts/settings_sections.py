"""The Settings page's sections from the apps above accounts: email choices and blocked members
live with the social graph, which accounts cannot import. Each app registers, when it is ready, a
function that renders its section for the signed-in member; the page shows them in `order`.

    settings_sections.register("blocked", order=40, render=render_blocked_section)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.safestring import SafeString

Render = Callable[[HttpRequest], SafeString | str]


@dataclass(frozen=True)
class Section:
    name: str
    order: int
    render: Render


_sections: dict[str, Section] = {}


def register(name: str, *, order: int, render: Render) -> None:
    _sections[name] = Section(name, order, render)


def render_all(request: HttpRequest) -> list[SafeString | str]:
    """Each registered section's HTML for this member, in order."""
    return [section.render(request) for section in sorted(_sections.values(), key=_order)]


def _order(section: Section) -> tuple[int, str]:
    return (section.order, section.name)
