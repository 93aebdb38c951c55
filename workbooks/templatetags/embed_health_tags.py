"""The embed-health warning on a workbook's edit page."""

from __future__ import annotations

from django import template

from ..embed_health import Failing, failing_now
from ..models import Workbook

register = template.Library()


@register.simple_tag
def embed_failing(workbook: Workbook) -> Failing | None:
    """Whether the workbook's frame is failing for its readers (one query); None for a draft,
    which readers do not see."""
    return failing_now(workbook) if workbook.is_published else None
