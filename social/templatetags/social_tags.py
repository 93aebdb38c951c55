"""The social parts of pages other apps render (a workbook's page, a member's profile).

The gallery's cards are not here: they sit in fragments cached for every viewer, so they carry no
per-viewer state (templates/social/inc/card_favorite.html; social.js asks for the state).
"""

from __future__ import annotations

from typing import Any

from django import template

from .. import selectors, services
from ..forms import CommentForm

register = template.Library()


def _base(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    return {
        "request": request,
        "user": request.user,
        "csrf_token": context.get("csrf_token"),
        "next": request.get_full_path(),
    }


@register.simple_tag(takes_context=True)
def workbook_viewer_state(context: template.Context, workbook) -> dict[str, bool]:
    """`{% workbook_viewer_state workbook as state %}`: `state.favorited`, `state.following`, in one
    query for a signed-in viewer, none for a visitor."""
    return selectors.viewer_state(context["request"].user, workbook)


@register.inclusion_tag("social/inc/follow_button.html", takes_context=True)
def follow_button(context: template.Context, person, following: bool | None = None):
    """A follow/unfollow button for `person`; nothing for the person themself. Pass `following` when
    it is known already; else it costs one query for a signed-in viewer."""
    values = _base(context)
    if following is None:
        following = selectors.is_following(values["user"], person)
    return {**values, "person": person, "following": following}


@register.inclusion_tag("social/inc/favorite_button.html", takes_context=True)
def favorite_button(context: template.Context, workbook, favorited: bool):
    return {**_base(context), "workbook": workbook, "favorited": favorited}


@register.inclusion_tag("social/inc/comments.html", takes_context=True)
def workbook_comments(context: template.Context, workbook):
    """The comments under a workbook, with their authors (one query), and the form to add one."""
    values = _base(context)
    viewer = values["user"]
    comments = list(selectors.comments_for(workbook))
    for comment in comments:
        # Who may delete depends on the workbook's author: given, not fetched once per comment.
        comment.workbook = workbook
        comment.viewer_can_edit = services.can_edit_comment(viewer, comment)
        comment.viewer_can_delete = services.can_delete_comment(viewer, comment)
    return {**values, "workbook": workbook, "comments": comments, "form": CommentForm()}
