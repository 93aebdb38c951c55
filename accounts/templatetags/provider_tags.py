from django import template

from accounts import providers

register = template.Library()


@register.simple_tag
def sign_in_providers() -> list[providers.Provider]:
    """The providers whose buttons the sign-in and sign-up pages show (none until configured)."""
    return providers.enabled()
