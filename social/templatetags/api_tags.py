"""`{% api_root %}`: the API's root URL ("/api/v1/"), for the scripts that call it (social.js), so
that the URLconf is the one place that says where the API is."""

from __future__ import annotations

from django import template
from django.urls import get_script_prefix

from sigma_playground.urls import API_ROOT

register = template.Library()


@register.simple_tag
def api_root() -> str:
    # As `reverse` makes every other URL: below the prefix the site is served under.
    return get_script_prefix() + API_ROOT
