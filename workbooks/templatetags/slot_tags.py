"""`{% slot "name" arg ... %}`: a part of a page made for each viewer (workbooks.slots)."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from .. import slots

register = template.Library()


@register.simple_tag
def slot(name: str, *args) -> SafeString:
    # Only ids and short texts are passed: the marker carries them, base64-encoded JSON.
    return mark_safe(slots.marker(name, list(args)))  # noqa: S308 - no markup from the arguments
