"""How long ago something happened, as the pages say it: "just now" under a minute, not "0 minutes
ago". Loaded with `{% load time_tags %}` (registered in settings.TEMPLATES: the core is no app)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()

# Under this, a time reads "just now": Django's timesince would say "0 minutes".
JUST_NOW = timedelta(minutes=1)


@register.filter
def ago(value: datetime | None, now: datetime | None = None) -> str:
    """Say "just now", "5 minutes ago", "2 days, 3 hours ago". A time a little ahead of this
    server's clock (another process's) is "just now" too. Pages keep the exact time in <time datetime>."""
    if not value:
        return ""
    now = now or timezone.now()
    if now - value < JUST_NOW:
        return "just now"
    return f"{timesince(value, now)} ago"
