"""The embed parts of the workbook pages: the copyable snippet and the secure-embedding state."""

from __future__ import annotations

from django import template
from django.utils.html import escape

from .. import embed

register = template.Library()


@register.simple_tag
def embed_snippet(workbook, share_url: str) -> str:
    """The snippet as the text of a textarea: the HTML (escaped once inside) escaped once more, so
    that what a reader copies is exactly embed.snippet's HTML."""
    return escape(embed.snippet(workbook, share_url))


@register.simple_tag
def secure_embed_note(workbook) -> str:
    return embed.approval_note(workbook)
