"""The sentence each feed item and each notification reads as ("<a>Ada</a> favorited <a>Title</a>"),
built from what the selectors load of the row (selectors.feed_rows, selectors.notification_rows:
the actor, the workbook and the followed member are joined), so making one runs no query."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.models import User
from workbooks.models import Workbook

from .models import Activity, Notification, Verb

# What the sentence says before the workbook's link, for the verbs whose sentence links it. A verb
# not listed says its display text ("featured your workbook" in the feed).
_BEFORE_WORKBOOK = {
    Verb.FAVORITED.value: "favorited",
    Verb.COMMENTED.value: "commented on",
    Verb.PUBLISHED.value: "published",
}
# Notifications link featured workbooks too: "featured" is said to the workbook's author.
_NOTIFICATION_BEFORE_WORKBOOK = {**_BEFORE_WORKBOOK, Verb.FEATURED.value: "featured"}


def _member_link(member: User) -> SafeString:
    return format_html(
        '<a href="{}">{}</a>',
        reverse("workbooks:author", args=[member.username]),
        member.display_name,
    )


def _workbook_link(workbook: Workbook, anchor: str = "") -> SafeString:
    return format_html('<a href="{}{}">{}</a>', workbook.get_absolute_url(), anchor, workbook.title)


def activity_sentence(item: Activity) -> SafeString:
    """What a member did, as the people following them read it in their feed."""
    actor, workbook = _member_link(item.actor), item.workbook
    if item.verb == Verb.FOLLOWED and item.subject:
        return format_html("{} followed {}", actor, _member_link(item.subject))
    if workbook is None:
        return format_html("{} {}", actor, item.get_verb_display())
    # A comment's activity does not say which comment: it links the workbook's comments.
    anchor = "#comments" if item.verb == Verb.COMMENTED else ""
    before = _BEFORE_WORKBOOK.get(item.verb, item.get_verb_display())
    return format_html("{} {} {}", actor, before, _workbook_link(workbook, anchor))


def notification_sentence(item: Notification) -> SafeString:
    """What happened, as the recipient reads it: "Someone" when no member is named, and no link to a
    workbook that has become a draft they may not open (Notification.shown_workbook)."""
    actor = _member_link(item.actor) if item.actor else "Someone"
    workbook = item.shown_workbook
    before = _NOTIFICATION_BEFORE_WORKBOOK.get(item.verb)
    if item.verb == Verb.FOLLOWED:
        return format_html("{} followed you", actor)
    if item.verb == Verb.EMBED_FAILING:
        # Said by the site, not a member: the workbook's author hears their embed fails to load.
        subject = _workbook_link(workbook) if workbook else "your workbook"
        return format_html("The embed of {} is failing for readers", subject)
    if item.verb == Verb.COLLECTED and workbook is not None:
        return format_html("{} added {} to a collection", actor, _workbook_link(workbook))
    if workbook is None or before is None:
        return format_html("{} {}", actor, item.get_verb_display())
    anchor = ""
    if item.verb == Verb.COMMENTED:
        anchor = f"#comment-{item.comment_id}" if item.comment_id else "#comments"
    return format_html("{} {} {}", actor, before, _workbook_link(workbook, anchor))
