"""`{% slot "name" arg ... %}`: a part of a page made for each viewer (workbooks.slots)."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from .. import slots

register = template.Library()


@register.simple_tag(takes_context=True)
def slot(context: template.Context, name: str, *args) -> SafeString:
    request = context.get("request")
    if request is not None and not getattr(request, slots.COMPOSED_LATER, False):
        # A page made outside the composing middleware (by a middleware before it: a refused
        # upload, no database connection): filled in at once, for this request.
        return mark_safe(slots.compose(request, slots.marker(name, list(args))))  # noqa: S308
    # Only ids and short texts are passed: the marker carries them, base64-encoded JSON.
    return mark_safe(slots.marker(name, list(args)))  # noqa: S308 - no markup from the arguments
