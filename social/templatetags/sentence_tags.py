"""`{% activity_sentence item %}` and `{% notification_sentence item %}`: the sentence of a feed item
or a notification (social.sentences), from what the selectors loaded of the row."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from .. import sentences
from ..models import Activity, Notification

register = template.Library()


@register.simple_tag
def activity_sentence(item: Activity) -> SafeString:
    return sentences.activity_sentence(item)


@register.simple_tag
def notification_sentence(item: Notification) -> SafeString:
    return sentences.notification_sentence(item)
