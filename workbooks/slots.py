"""Pages rendered once for everyone, with each viewer's own parts composed in per request.

A template marks what depends on the viewer (the navigation's account menu and bell, flash messages,
favorite and follow buttons, the comments with their forms) with `{% slot "name" args %}`, which
renders only a marker. `compose()` (run for every HTML response by
sigma_playground.caching.ComposeMiddleware) replaces each marker with that slot rendered for the
request's viewer. Everything around the markers is the same for every viewer, so one rendering of a
page, cached by the gallery's version (workbooks.cache.shared_page), serves visitors and members
alike; a member's state, CSRF tokens and messages are only ever in the composed copy.

Markers carry a token derived from SECRET_KEY: text that members write (escaped as it is) cannot
forge one, and a marker is only ever made by the `slot` tag.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections import namedtuple
from collections.abc import Callable
from functools import cache, lru_cache
from types import SimpleNamespace

from django.conf import settings
from django.contrib.messages import get_messages
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.template import engines
from django.template.loader import get_template
from django.utils.html import escape
from django.utils.safestring import mark_safe

# Set on a request by ComposeMiddleware: its markers are filled in after the view.
COMPOSED_LATER = "_slots_composed_later"

Args = list
Renderer = Callable[[HttpRequest, Args, "Composition"], str]

_RENDERERS: dict[str, Renderer] = {}


@cache
def _token() -> str:
    return hashlib.sha256(f"page-slots:{settings.SECRET_KEY}".encode()).hexdigest()[:16]


@cache
def _pattern() -> re.Pattern[str]:
    return re.compile(rf"<!--slot:{_token()}:([a-z_]+):([A-Za-z0-9_=-]*)-->")


def marker(name: str, args: Args) -> str:
    if name not in _RENDERERS:
        raise ValueError(f"no page slot named {name!r}")
    encoded = base64.urlsafe_b64encode(json.dumps(args, separators=(",", ":")).encode()).decode()
    return f"<!--slot:{_token()}:{name}:{encoded}-->"


def has_markers(content: bytes) -> bool:
    return f"<!--slot:{_token()}:".encode() in content


class Composition:
    """One response's slots: all markers are read first, so slots of one kind share a query."""

    def __init__(self, request: HttpRequest, found: list[tuple[str, Args]]) -> None:
        self.request = request
        self.found = found
        self.memo: dict[str, object] = {}
        # Whether a slot put in something of this viewer's own (a CSRF token, a message), so the
        # composed page is for them alone even when they are a visitor (workbooks.cache).
        self.per_viewer = False

    def args_of(self, name: str) -> list[Args]:
        return [args for found, args in self.found if found == name]

    def once(self, key: str, compute: Callable[[], object]):
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


def compose(request: HttpRequest, html: str) -> str:
    pattern = _pattern()
    found = [
        (name, json.loads(base64.urlsafe_b64decode(raw))) for name, raw in pattern.findall(html)
    ]
    if not found:
        return html
    if not hasattr(request, "user"):
        # Answered by a middleware before authentication (a refused upload): as to a visitor.
        from django.contrib.auth.models import AnonymousUser

        request.user = AnonymousUser()
    composition = Composition(request, found)
    previous = getattr(request, "_composition", None)
    if previous is not None and "context" in previous.memo:
        # The same request's slots composed one by one (a page answered before ComposeMiddleware,
        # as an error page can be): the context processors still run once.
        composition.memo["context"] = previous.memo["context"]
    request._composition = composition
    in_order = iter(found)
    return pattern.sub(
        lambda match: _RENDERERS[match.group(1)](request, next(in_order)[1], composition), html
    )


def slot(name: str) -> Callable[[Renderer], Renderer]:
    def register(renderer: Renderer) -> Renderer:
        _RENDERERS[name] = renderer
        return renderer

    return register


def _render(template: str, request: HttpRequest, **context) -> str:
    """`template` with what the context processors give (run once per response, not per slot)."""
    composition: Composition = request._composition
    base = composition.once("context", lambda: _processed(request))
    return get_template(template).render({**base, **context})


def _processed(request: HttpRequest) -> dict:
    values: dict = {}
    for processor in engines["django"].engine.template_context_processors:
        values.update(processor(request))
    return values


# The navigation and the buttons are the same HTML for every request that shows the same viewer,
# bell, page and state: rendered once per process for each, keyed on exactly what they are given
# (not the request or the user object, so a template cannot show what its key does not hold), with
# a stand-in where the request's own CSRF token goes.
_CSRF_STAND_IN = f"csrf-{secrets.token_hex(12)}"


def _render_for_viewer(template: str, request: HttpRequest, **values) -> str:
    composition: Composition = request._composition
    viewer, bell, place = composition.once("viewer", lambda: _viewer_of(request, composition))
    key = (template, viewer, bell, place, tuple(sorted(values.items())))
    # A page asked for with a query string (any one, junk included) is rendered for that request
    # only: its address, in `next`, would add an entry of its length per distinct query.
    html = (_rendered.__wrapped__ if "?" in values.get("next", "") else _rendered)(*key)
    if _CSRF_STAND_IN not in html:
        return html
    return html.replace(_CSRF_STAND_IN, _csrf_value(request, composition))


def _viewer_of(request: HttpRequest, composition: Composition) -> tuple[tuple, tuple, tuple]:
    """What a rendering for this request's viewer is keyed on (the viewer, their bell, the page),
    read once for all of a composition's slots."""
    user = request.user
    if user.is_authenticated:  # resolves a lazy user: then its attributes are read unproxied
        user = getattr(user, "_wrapped", user)
    viewer: tuple = ()
    bell: tuple = ()
    if user.is_authenticated:
        viewer = (user.pk, user.username, user.full_name, user.is_staff, json.dumps(user.avatar))
        shown = composition.once("context", lambda: _processed(request)).get("bell") or {}
        bell = (shown.get("unread", 0), shown.get("last_id", 0))
    match = request.resolver_match
    place = (match.view_name, match.app_name) if match is not None else ("", "")
    return viewer, bell, place


def _csrf_value(request: HttpRequest, composition: Composition) -> str:
    """The request's CSRF token, escaped for an attribute: made once per composition, which it
    marks as this viewer's own."""
    from django.middleware.csrf import get_token

    composition.per_viewer = True
    return composition.once("csrf", lambda: escape(get_token(request)))


@lru_cache(maxsize=4096)
def _rendered(template: str, viewer: tuple, bell: tuple, place: tuple, values: tuple) -> str:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import AnonymousUser

    if viewer:
        pk, username, full_name, is_staff, avatar = viewer
        user = get_user_model()(
            pk=pk,
            username=username,
            full_name=full_name,
            is_staff=is_staff,
            avatar=json.loads(avatar),
        )
    else:
        user = AnonymousUser()
    stand_in = SimpleNamespace(
        user=user, resolver_match=SimpleNamespace(view_name=place[0], app_name=place[1])
    )
    context = {
        "user": user,
        "request": stand_in,
        "bell": {"unread": bell[0], "last_id": bell[1]} if bell else {},
        "csrf_token": _CSRF_STAND_IN,
        **dict(values),
    }
    return get_template(template).render(context)


# --- The navigation and messages (every page) ------------------------------------------------------


@slot("nav_links")
def nav_links(request: HttpRequest, args: Args, composition: Composition) -> str:
    if not request.user.is_authenticated:
        return ""
    return _render_for_viewer("inc/nav_links.html", request)


@slot("account")
def account(request: HttpRequest, args: Args, composition: Composition) -> str:
    return _render_for_viewer("inc/nav_account.html", request)


@slot("live")
def live(request: HttpRequest, args: Args, composition: Composition) -> str:
    """The toasts and the live scripts, for members."""
    if not request.user.is_authenticated:
        return ""
    return _render_for_viewer("inc/nav_live.html", request)


@slot("messages")
def messages(request: HttpRequest, args: Args, composition: Composition) -> str:
    # Read (and so marked shown) only here: a cached page never holds anyone's message.
    shown = list(get_messages(request))
    if not shown:
        return ""
    composition.per_viewer = True
    return _render("inc/messages.html", request, messages=shown)


@slot("csrf")
def csrf(request: HttpRequest, args: Args, composition: Composition) -> str:
    """The viewer's CSRF token field, for forms inside a rendering kept for reuse."""
    token = _csrf_value(request, composition)
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'


@slot("join")
def join(request: HttpRequest, args: Args, composition: Composition) -> str:
    """The home page's call to action: publish for members, sign up for visitors."""
    return _render_for_viewer("workbooks/inc/join.html", request)


# --- Favorite and follow buttons, comments (workbook and profile pages) -----------------------------


def _workbook(args: Args):
    """What the buttons and comments use of a published workbook, from the marker: no query."""
    from .models import Workbook

    pk, slug, title, author_id = args
    return Workbook(
        pk=pk, slug=slug, title=title, author_id=author_id, status=Workbook.Status.PUBLISHED
    )


# What a button shows of its workbook or person: hashable, so a rendering can be kept per button.
_ShownWorkbook = namedtuple("_ShownWorkbook", "pk slug title author_id")
_ShownPerson = namedtuple("_ShownPerson", "pk id username display_name")


def _viewer_state(composition: Composition) -> dict[str, set[int]]:
    """Which of the page's workbooks the viewer has favorited and which of its people they follow,
    in one query for all of the page's buttons (none for a visitor), kept in the cache for this
    member and these buttons under the member's token, which each of their favorites and follows
    (and unfavorites, unfollows) renews (social.services `_count`): a reload is one cache read."""

    def compute() -> dict[str, set[int]]:
        from workbooks.cache import kept_while

        spec = _state_spec(composition)
        if spec is None:
            return {"favorited": set(), "following": set()}
        viewer, workbooks, people, key = spec
        return kept_while(
            "user",
            viewer.pk,
            "viewer_state",
            key,
            lambda: _query_state(viewer, workbooks, people),
            ahead=_kept_ahead(composition),
        )

    return composition.once("viewer_state", compute)


def _state_spec(composition: Composition):
    """The viewer, the page's workbooks and people with buttons, and the key their state is kept
    under; None when there is nothing to read (a visitor, no buttons)."""
    viewer = composition.request.user
    workbooks = {args[0] for args in composition.args_of("favorite")}
    people = {args[0] for args in composition.args_of("follow")} - {viewer.pk}
    if not viewer.is_authenticated or not (workbooks or people):
        return None
    return viewer, workbooks, people, _state_key(workbooks, people)


def _state_key(workbooks: set[int], people: set[int]) -> str:
    return f"{sorted(workbooks)}|{sorted(people)}"


def kept_keys_of(viewer_pk, workbooks, people, comments) -> list[str]:
    """The cache keys of a page's kept parts: the viewer's state for its buttons (`workbooks`
    with a favorite button, `people` with a follow button; none for a visitor, `viewer_pk` None),
    and the comments of each of `comments` (workbook ids)."""
    from .cache import kept_keys

    wanted: list[str] = []
    people = set(people) - {viewer_pk}
    if viewer_pk is not None and (workbooks or people):
        wanted += kept_keys("user", viewer_pk, "viewer_state", _state_key(set(workbooks), people))
    for pk in comments:
        wanted += kept_keys("workbook", pk, "comments", str(_minute()), with_version=True)
    return wanted


def _kept_ahead(composition: Composition) -> tuple[set[str], dict]:
    """What the page's kept parts (the viewer's state, each workbook's comments) read from the
    cache, read together once: one round trip for all of them, or none when they were read with
    the shared copy the page came from (workbooks.cache `_kept_guess`)."""

    def read() -> tuple[set[str], dict]:
        from . import cache as gallery_cache

        request = composition.request
        viewer = request.user
        seen = (
            tuple(sorted({args[0] for args in composition.args_of("favorite")})),
            tuple(sorted({args[0] for args in composition.args_of("follow")})),
            tuple(args[0] for args in composition.args_of("comments")),
        )
        wanted = kept_keys_of(viewer.pk if viewer.is_authenticated else None, *seen)
        entry_key = request.__dict__.get(gallery_cache.SERVED_ENTRY)
        if entry_key is not None:
            gallery_cache.remember_kept(entry_key, seen)
        early = request.__dict__.get(gallery_cache.KEPT_READ_AHEAD)
        if early is not None and early[0].issuperset(wanted):
            return early
        if not wanted:
            return set(), {}
        return set(wanted), gallery_cache.cache.get_many(list(dict.fromkeys(wanted)))

    return composition.once("kept_ahead", read)


def _query_state(viewer, workbooks: set[int], people: set[int]) -> dict[str, set[int]]:
    from accounts.models import User
    from social.models import Favorite, Follow

    checks = {
        **{
            f"w{pk}": Exists(Favorite.objects.filter(user=OuterRef("pk"), workbook_id=pk))
            for pk in workbooks
        },
        **{
            f"p{pk}": Exists(Follow.objects.filter(follower=OuterRef("pk"), followee_id=pk))
            for pk in people
        },
    }
    row = User.objects.filter(pk=viewer.pk).values(**checks).get()
    return {
        "favorited": {pk for pk in workbooks if row[f"w{pk}"]},
        "following": {pk for pk in people if row[f"p{pk}"]},
    }


def _button_context(request: HttpRequest) -> dict:
    return {"next": request.get_full_path()}


@slot("favorite")
def favorite(request: HttpRequest, args: Args, composition: Composition) -> str:
    favorited = args[0] in _viewer_state(composition)["favorited"]
    return _render_for_viewer(
        "social/inc/favorite_button.html",
        request,
        workbook=_ShownWorkbook(*args),
        favorited=favorited,
        **_button_context(request),
    )


@slot("follow")
def follow(request: HttpRequest, args: Args, composition: Composition) -> str:
    pk, username, display_name = args
    following = pk in _viewer_state(composition)["following"]
    return _render_for_viewer(
        "social/inc/follow_button.html",
        request,
        person=_ShownPerson(pk, pk, username, display_name),
        following=following,
        **_button_context(request),
    )


@slot("comments")
def comments(request: HttpRequest, args: Args, composition: Composition) -> str:
    """A workbook's comments with what this viewer may do to each, and the form.

    The list is the same for every viewer but for each comment's Edit and Delete: it is rendered
    without them (from no request, so nothing of any viewer's), with a marker where they go, and
    kept while the workbook's token (renewed by every comment written, edited or deleted), the
    gallery's version (a commenter's name or picture) and the minute ("5 minutes ago") are as
    they were. A reload is one cache read; each viewer's controls are filled in per request."""
    from .cache import kept_while

    workbook = _ShownWorkbook(*args)  # the model only to read the comments (a miss)
    shown, listed = kept_while(
        "workbook",
        workbook.pk,
        "comments",
        str(_minute()),
        lambda: _comment_list(_workbook(args)),
        with_version=True,
        ahead=_kept_ahead(composition),
    )
    for pk, author_id, created_at, author_name in shown:
        listed = listed.replace(
            _actions_marker(pk),
            _comment_actions(request, workbook, pk, author_id, created_at, author_name),
        )
    # The section around the list (the form, or the link to sign in) is the same for every viewer
    # signed in or not, but for the CSRF token: rendered once per process for each workbook and
    # address, the token and the list put in after.
    next_path = _button_context(request)["next"]
    shell = _comments_shell.__wrapped__ if "?" in next_path else _comments_shell
    html = shell(request.user.is_authenticated, workbook.slug, next_path)
    if _CSRF_STAND_IN in html:
        html = html.replace(_CSRF_STAND_IN, _csrf_value(request, composition))
    return html.replace(_LISTED_STAND_IN, listed)


_LISTED_STAND_IN = f"listed-{secrets.token_hex(12)}"


@lru_cache(maxsize=1024)
def _comments_shell(signed_in: bool, slug: str, next_path: str) -> str:
    from social.forms import CommentForm

    context = {
        "user": SimpleNamespace(is_authenticated=signed_in),
        "workbook": SimpleNamespace(slug=slug),
        "listed": mark_safe(_LISTED_STAND_IN),  # noqa: S308 - our own marker
        "form": CommentForm(),
        "next": next_path,
        "csrf_token": _CSRF_STAND_IN,
    }
    return get_template("social/inc/comments.html").render(context)


def _minute() -> int:
    from .cache import minute

    return minute()


def _actions_marker(pk: int) -> str:
    # Comment bodies and names are escaped: no member can write one.
    return f"<!--comment-actions:{_token()}:{pk}-->"


def _comment_list(workbook) -> tuple[list[tuple], str]:
    """The comments (one query) rendered for no one in particular, and what each one's controls
    depend on: (id, author id, written at, author's name)."""
    from social import selectors

    shown = list(selectors.comments_for(workbook))
    for comment in shown:
        comment.actions_marker = mark_safe(_actions_marker(comment.pk))  # noqa: S308
    html = get_template("social/inc/comment_list.html").render({"comments": shown})
    facts = [(c.pk, c.author_id, c.created_at, c.author.display_name) for c in shown]
    return facts, html


def _comment_actions(request, workbook, pk, author_id, created_at, author_name) -> str:
    """This viewer's Edit and Delete for one comment: the rules of social.services."""
    from social import services

    viewer = request.user
    if not viewer.is_authenticated:
        return ""
    comment = SimpleNamespace(
        pk=pk,
        author_id=author_id,
        created_at=created_at,
        workbook=workbook,  # who may delete depends on the workbook's author
        author=SimpleNamespace(display_name=author_name),
    )
    comment.viewer_can_edit = services.can_edit_comment(viewer, comment)
    comment.viewer_can_delete = services.can_delete_comment(viewer, comment)
    if not (comment.viewer_can_edit or comment.viewer_can_delete):
        return ""
    return _render("social/inc/comment_actions.html", request, comment=comment)
