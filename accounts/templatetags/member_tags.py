from django import template

from accounts.models import DELETED_MEMBER

register = template.Library()


@register.simple_tag
def deleted_member() -> str:
    """How a member whose account is gone is named (accounts.models.DELETED_MEMBER)."""
    return DELETED_MEMBER
