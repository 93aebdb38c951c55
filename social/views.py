"""The social pages: follow, favorite, comments, people lists, the feed and notifications.

Every action is a POST form: it redirects back (to a validated `next`) with a message. A refusal
(too many this minute, following yourself, a page of a list that cannot be answered) is raised
through the view and answered by sigma_playground.errors.PageErrorsMiddleware. These pages answer
HTML only; static/js/social.js does the same actions through the API (/api/v1/) when JavaScript
runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors as accounts_selectors
from accounts import verification
from accounts.http import AuthenticatedHttpRequest, member
from sigma_playground import paging
from sigma_playground.forms import form_retry_later, render_form
from sigma_playground.http import next_url, safe_url
from workbooks import cache as gallery_cache
from workbooks.models import Workbook

from . import kept, selectors, services
from .forms import CommentForm, MutedVerbsForm, parse_ids
from .models import Comment

LIST_PAGE_SIZE = 30  # people, the feed, notifications
CARDS_PAGE_SIZE = 24  # as the gallery's pages


# --- Helpers ---------------------------------------------------------------------------------------


def _published(slug: str) -> Workbook:
    """Only published workbooks are favorited and commented on; a draft is a 404 here."""
    try:
        return selectors.published_workbook(slug)
    except Workbook.DoesNotExist:
        raise Http404("No such workbook.") from None


def _comment(request: HttpRequest, pk: int, action: str) -> Comment:
    """A comment the viewer may edit (action="change") or delete (action="delete"); one they see
    but may not is a 403 (PermissionDenied), one they cannot see a 404."""
    try:
        return selectors.changeable_comment(request.user, action, pk)
    except Comment.DoesNotExist:
        raise Http404("No such comment.") from None


def _wanted(raw: str | None) -> bool | None:
    """The state a form asks for: "1" on, "0" off; anything else: the opposite of the current one."""
    return {"1": True, "0": False}.get(raw or "")


# --- Follow ----------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def follow(request: AuthenticatedHttpRequest, username: str) -> HttpResponse:
    """POST `follow=1` follows, `follow=0` unfollows, no value toggles. A GET (after signing in from
    "Sign in to follow") goes to the profile, where the button is."""
    person = accounts_selectors.active_user_or_404(username)
    profile = reverse("workbooks:author", args=[person.username])
    if request.method == "GET":
        return redirect(profile)
    back = next_url(request, profile)
    want = _wanted(request.POST.get("follow"))
    if want is None:
        want = not selectors.is_following(request.user, person)
    # A refusal (too many follows this minute, following yourself) goes through to the error pages.
    if want:
        services.follow(request.user, person)
        messages.success(request, f"You follow {person.display_name}.")
    else:
        services.unfollow(request.user, person)
        messages.success(request, f"You no longer follow {person.display_name}.")
    return redirect(back)


def _people(request: HttpRequest, username: str, which: str) -> HttpResponse:
    person = accounts_selectors.active_user_or_404(username)
    if person.username != username:
        return redirect(f"social:{which}", username=person.username, permanent=True)
    people = (
        selectors.followers_of(person) if which == "followers" else selectors.following_of(person)
    )
    page = paging.html_page(request, people, LIST_PAGE_SIZE)
    return render(request, "social/people.html", {"person": person, "page": page, "which": which})


@require_GET
def followers(request: HttpRequest, username: str) -> HttpResponse:
    return _people(request, username, "followers")


@require_GET
def following(request: HttpRequest, username: str) -> HttpResponse:
    return _people(request, username, "following")


# --- Blocks ----------------------------------------------------------------------------------------

# The Settings section shows the newest blocks; the rest are on their own paged list.
BLOCKED_IN_SETTINGS = 20


@require_http_methods(["GET", "POST"])
@login_required
def block(request: AuthenticatedHttpRequest, username: str) -> HttpResponse:
    """GET asks (saying what a block does); POST `block=1` blocks, `block=0` unblocks."""
    person = accounts_selectors.active_user_or_404(username)
    back = next_url(request, reverse("workbooks:author", args=[person.username]))
    blocking = selectors.blocks(request.user.pk, person.pk)
    if request.method == "GET":
        context = {"person": person, "blocking": blocking, "next": back}
        return render(request, "social/block_confirm.html", context)
    want = _wanted(request.POST.get("block"))
    if want is None:
        want = not blocking
    # A refusal (too many this minute, blocking yourself) goes through to the error pages.
    if want:
        services.block(request.user, person)
        messages.success(request, f"You block {person.display_name}.")
    else:
        services.unblock(request.user, person)
        messages.success(request, f"You no longer block {person.display_name}.")
    return redirect(back)


@require_GET
@login_required
def blocked(request: AuthenticatedHttpRequest) -> HttpResponse:
    page = paging.html_page(request, selectors.blocked_members(request.user), LIST_PAGE_SIZE)
    context = {"page": page, "next": request.get_full_path()}
    return render(request, "social/blocked.html", context)


def blocked_section(request: HttpRequest) -> str:
    """The Settings page's "Blocked members" (accounts.settings_sections): the newest blocks, each
    with Unblock, and a link to all of them when there are more."""
    members = list(selectors.blocked_members(member(request))[: BLOCKED_IN_SETTINGS + 1])
    context = {
        "members": members[:BLOCKED_IN_SETTINGS],
        "more": len(members) > BLOCKED_IN_SETTINGS,
        "next": f"{reverse('accounts:settings')}#blocked",
    }
    return render_to_string("social/inc/blocked_section.html", context, request=request)


# --- Favorites -------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def favorite(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """POST `favorite=1` favorites, `favorite=0` unfavorites, no value toggles.

    Gallery cards sit in fragments cached for every viewer, so they can carry neither the viewer's
    state nor a CSRF token: their button is a GET form to this address, which asks for the
    confirming POST (social.js favorites through the API at once instead).
    """
    workbook = _published(slug)
    page = workbook.get_absolute_url()
    if request.method == "GET":
        # Back to the listing the card was on; without `next`, the Referer of this very GET.
        back = next_url(request, "") or safe_url(request, request.headers.get("Referer")) or page
        favorited = bool(selectors.favorited_ids(request.user, [workbook.pk]))
        context = {"workbook": workbook, "favorited": favorited, "next": back}
        return render(request, "social/favorite_confirm.html", context)
    back = next_url(request, page)
    want = _wanted(request.POST.get("favorite"))
    if want is None:
        want = not selectors.favorited_ids(request.user, [workbook.pk])
    # A refusal (too many this minute) goes through to the error pages.
    if want:
        services.favorite(request.user, workbook)
        messages.success(request, f"“{workbook.title}” is in your favorites.")
    else:
        services.unfavorite(request.user, workbook)
        messages.success(request, f"“{workbook.title}” is no longer in your favorites.")
    return redirect(back)


@require_GET
def favorites(request: HttpRequest, username: str) -> HttpResponse:
    person = accounts_selectors.active_user_or_404(username)
    if person.username != username:
        return redirect("social:favorites", username=person.username, permanent=True)
    page = paging.html_page(request, selectors.favorites_of(person), CARDS_PAGE_SIZE)
    return render(request, "social/favorites.html", {"person": person, "page": page})


# --- Comments --------------------------------------------------------------------------------------


def _comment_url(comment: Comment) -> str:
    return f"{comment.workbook.get_absolute_url()}#comment-{comment.pk}"


@require_POST
@login_required
def comment_add(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    workbook = _published(slug)
    form = CommentForm(request.POST)
    context = {"form": form, "workbook": workbook}
    if form.is_valid():
        try:
            comment = services.add_comment(request.user, workbook, form.cleaned_data["body"])
        except services.RateLimited as error:
            return form_retry_later(request, "social/comment_form.html", context, error)
        except verification.EmailUnverified as refusal:  # the same, with the resend button
            form.add_error(None, str(refusal))
            context["must_verify"] = True
            return render(request, "social/comment_form.html", context, status=403)
        messages.success(request, "Your comment is posted.")
        return redirect(_comment_url(comment))
    return render_form(request, "social/comment_form.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def comment_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    comment = _comment(request, pk, "change")
    data = request.POST if request.method == "POST" else None
    form = CommentForm(data, initial={"body": comment.body})
    if form.is_valid():
        services.edit_comment(request.user, comment, form.cleaned_data["body"])
        messages.success(request, "Your comment is saved.")
        return redirect(_comment_url(comment))
    context = {"form": form, "workbook": comment.workbook, "comment": comment}
    return render_form(request, "social/comment_form.html", context)


@require_POST
@login_required
def comment_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The comment's Delete button posts `step=ask`: the page asking to confirm, which works without
    JavaScript; its own form posts without it and deletes."""
    comment = _comment(request, pk, "delete")
    if request.POST.get("step") == "ask":
        return render(
            request,
            "social/comment_delete.html",
            {"comment": comment, "back": _comment_url(comment)},
        )
    services.delete_comment(request.user, comment)
    messages.success(request, "The comment is deleted.")
    return redirect(f"{comment.workbook.get_absolute_url()}#comments")


# --- Feed and notifications ------------------------------------------------------------------------


@require_GET
def feed(request: HttpRequest) -> HttpResponse:
    """The first page is kept for the member (social.kept) while nothing it shows has changed."""
    return kept.page(
        request, "feed", lambda: selectors.feed_tokens(member(request)), lambda: _feed_page(request)
    )


@login_required
def _feed_page(request: HttpRequest) -> HttpResponse:
    page = paging.html_page(request, selectors.feed_rows(member(request)), LIST_PAGE_SIZE)
    items = _kept_items("feed", page.items, "social/inc/feed_items.html", lambda item: str(item.pk))
    return render(request, "social/feed.html", {"page": page, "items": items})


def _kept_items(name: str, items: list, template: str, state: Callable[[Any], str]) -> SafeString:
    """A list's rows rendered once and kept (workbooks.cache.fragment) while the gallery's version,
    the minute ("5 minutes ago") and each row's `state` stay the same: a member reloading their feed
    or notifications pays for the query, not the rendering. The rows hold no viewer state; a form's
    CSRF token is a slot, filled in per request."""
    key = f"{gallery_cache.minute()}|{','.join(state(item) for item in items)}"
    return gallery_cache.fragment(name, key, lambda: render_to_string(template, {"items": items}))


def _notifications_page(request: HttpRequest, mute_form: MutedVerbsForm) -> HttpResponse:
    page = paging.html_page(request, selectors.notification_rows(member(request)), LIST_PAGE_SIZE)
    items = _kept_items(
        "notifications",
        page.items,
        "social/inc/notification_items.html",
        lambda item: f"{item.pk}{'r' if item.read else 'u'}",
    )
    context = {"page": page, "form": mute_form, "items": items}
    return render_form(request, "social/notifications.html", context)


@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    """The first page is kept for the member (social.kept) while nothing it shows has changed."""

    @login_required
    def render(request: HttpRequest) -> HttpResponse:
        muted = sorted(selectors.muted_verbs(member(request)))
        return _notifications_page(request, MutedVerbsForm(initial={"muted": muted}))

    return kept.page(
        request,
        "notifications",
        lambda: selectors.notifications_tokens(member(request).pk),
        lambda: render(request),
    )


@require_POST
@login_required
def notifications_read(request: AuthenticatedHttpRequest) -> HttpResponse:
    """`all=1` marks every notification read; `id` (repeatable) marks those."""
    back = next_url(request, reverse("social:notifications"))
    if request.POST.get("all"):
        services.mark_read(request.user)
        messages.success(request, "All your notifications are marked read.")
    else:
        ids = parse_ids(request.POST.getlist("id"))
        if not ids:
            raise ValidationError("Say which notification to mark read.", code="no_notification")
        services.mark_read(request.user, ids)
    return redirect(back)


@require_POST
@login_required
def notifications_muted(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = MutedVerbsForm(request.POST)
    if not form.is_valid():
        return _notifications_page(request, form)
    services.set_muted_verbs(request.user, form.cleaned_data["muted"])
    messages.success(request, "Your notification settings are saved.")
    return redirect("social:notifications")
