"""The embed part of the workbook's edit page: the secure-embedding state. (The copyable snippet is
a page slot, workbooks.snippet.)"""

from __future__ import annotations

from django import template

from .. import embed

register = template.Library()


@register.simple_tag
def secure_embed_note(workbook) -> str:
    return embed.approval_note(workbook)
