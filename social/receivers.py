"""How social reacts to what other apps and Django send: connected once, in SocialConfig.ready."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.http import HttpRequest

from accounts import settings_sections
from accounts.models import User
from accounts.signals import member_deleting, sign_ins_ended
from workbooks import cache as gallery_cache
from workbooks import favorites
from workbooks.signals import embed_failing, workbook_featured, workbook_published

from . import email_views, exports, push, selectors, services, slots, views
from .context_processors import BELL_READ_AHEAD


def connect() -> None:
    # The services are the receivers: a publication goes straight into the author's activity and
    # to the fan-out (docs/architecture.md, "Publish to socket").
    workbook_published.connect(services.record_published, dispatch_uid="social.published")
    workbook_featured.connect(services.record_featured, dispatch_uid="social.featured")
    embed_failing.connect(services.notify_embed_failing, dispatch_uid="social.embed_failing")
    # Live connections follow the sign-in they were opened with.
    sign_ins_ended.connect(_sign_ins_ended, dispatch_uid="social.sign_ins_ended")
    user_logged_out.connect(_signed_out, dispatch_uid="social.signed_out")
    # A member leaving: other members' and workbooks' counters put right before the cascade.
    member_deleting.connect(_member_deleting, dispatch_uid="social.member_deleting")
    # Their collections, comments, favorites, follows and notifications in their data export.
    exports.register()
    # The bell is in every member's page: its keys are read with a page the gallery kept.
    gallery_cache.read_with_pages("bell", selectors.bell_keys, _bell_read_ahead)
    # The favorite and follow buttons and the comments in the pages workbooks renders.
    slots.register()
    # Which emails a member wants (social.emails), on their Settings page.
    settings_sections.register("email", order=20, render=email_views.settings_section)
    # The members a member blocks, with Unblock, on their Settings page.
    settings_sections.register("blocked", order=40, render=views.blocked_section)
    # Whether a member has favorited a workbook, for the workbooks API.
    favorites.register(
        selectors.with_is_favorited,
        lambda member, ids, using: selectors.favorited_ids(member, ids, using=using),
    )


def _sign_ins_ended(sender: type[User], user: User, **kwargs: Any) -> None:
    push.sign_ins_ended(user.pk)


def _member_deleting(sender: type[User], user: User, **kwargs: Any) -> None:
    services.member_leaving(user.pk)


def _signed_out(sender: Any, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    # Sent before the session is flushed, so its key is still there to name it.
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if user is not None and session_key:
        push.signed_out(user.pk, session_key)


def _bell_read_ahead(request: HttpRequest, member: int, found: dict[str, object]) -> None:
    # The bell's keys read with a page kept in the cache, for the context processor (if this member).
    request.__dict__[BELL_READ_AHEAD] = (member, found)
