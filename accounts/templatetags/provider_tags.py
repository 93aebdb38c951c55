from django import template

from accounts import providers
from accounts.models import User

register = template.Library()


@register.simple_tag
def sign_in_providers() -> list[providers.Provider]:
    """The providers whose buttons the sign-in and sign-up pages show (none until configured)."""
    return providers.enabled()


@register.simple_tag
def sign_in_methods_of(user: User) -> list[providers.Method]:
    """Settings' "Sign-in methods": every enabled provider, linked or not (one query)."""
    return providers.sign_in_methods(user)
