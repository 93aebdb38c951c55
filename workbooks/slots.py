"""Pages rendered once for everyone, with each viewer's own parts composed in per request.

A template marks what depends on the viewer (the navigation's account menu and bell, flash messages,
favorite and follow buttons, the comments with their forms) with `{% slot "name" args %}`, which
renders only a marker. `compose()` (run for every HTML response by
workbooks.middleware.ComposeMiddleware) replaces each marker with that slot rendered for the
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
from collections.abc import Callable
from functools import cache, lru_cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.contrib.messages import get_messages
from django.http import HttpRequest
from django.template import engines
from django.template.backends.django import DjangoTemplates
from django.template.loader import get_template
from django.urls import reverse
from django.utils.html import escape, format_html

from accounts import verification

if TYPE_CHECKING:
    from accounts.models import User

# Set on a request by ComposeMiddleware: its markers are filled in after the view.
COMPOSED_LATER = "_slots_composed_later"
# Where `compose` leaves the request's Composition, for the slots' renderers.
COMPOSITION = "_composition"

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


def private_marker(kind: str, pk: int) -> str:
    """A marker of `kind` for one object that only this site makes (as a slot's): members' text,
    escaped, cannot forge one."""
    return f"<!--{kind}:{_token()}:{pk}-->"


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
    previous = getattr(request, COMPOSITION, None)
    if previous is not None and "context" in previous.memo:
        # The same request's slots composed one by one (a page answered before ComposeMiddleware,
        # as an error page can be): the context processors still run once.
        composition.memo["context"] = previous.memo["context"]
    setattr(request, COMPOSITION, composition)
    in_order = iter(found)
    return pattern.sub(
        lambda match: _RENDERERS[match.group(1)](request, next(in_order)[1], composition), html
    )


# The cache keys of a page's kept parts, from what its slots showed (social.slots: the viewer's
# state for its buttons, its comments), registered by the app whose slots keep them.
_kept_keys_of: Callable[..., list[str]] | None = None


def keep_parts(keys_of: Callable[..., list[str]]) -> None:
    """Register what names a page's kept parts: `keys_of(viewer pk or None, *what it showed)`."""
    global _kept_keys_of
    _kept_keys_of = keys_of


def kept_keys_of(viewer_pk: int | None, *seen: tuple) -> list[str]:
    """The cache keys of a page's kept parts for this viewer (workbooks.cache reads them ahead)."""
    return [] if _kept_keys_of is None else _kept_keys_of(viewer_pk, *seen)


def slot(name: str) -> Callable[[Renderer], Renderer]:
    def register(renderer: Renderer) -> Renderer:
        _RENDERERS[name] = renderer
        return renderer

    return register


def render(template: str, request: HttpRequest, **context) -> str:
    """`template` with what the context processors give (run once per response, not per slot)."""
    composition: Composition = getattr(request, COMPOSITION)
    base = composition.once("context", lambda: _processed(request))
    return get_template(template).render({**base, **context})


def _processed(request: HttpRequest) -> dict:
    values: dict = {}
    # The "django" backend is Django's own (settings.TEMPLATES), which has an engine.
    backend = cast(DjangoTemplates, engines["django"])
    for processor in backend.engine.template_context_processors:
        values.update(processor(request))
    return values


# The navigation and the buttons are the same HTML for every request that shows the same viewer,
# bell, page and state: rendered once per process for each, keyed on exactly what they are given
# (not the request or the user object, so a template cannot show what its key does not hold), with
# a stand-in where the request's own CSRF token goes.
CSRF_STAND_IN = f"csrf-{secrets.token_hex(12)}"


def render_for_viewer(template: str, request: HttpRequest, **values) -> str:
    composition: Composition = getattr(request, COMPOSITION)
    viewer, bell, place = composition.once("viewer", lambda: _viewer_of(request, composition))
    key = (template, viewer, bell, place, tuple(sorted(values.items())))
    # A page asked for with a query string (any one, junk included) is rendered for that request
    # only: its address, in `next`, would add an entry of its length per distinct query.
    html = (_rendered.__wrapped__ if "?" in values.get("next", "") else _rendered)(*key)
    if CSRF_STAND_IN not in html:
        return html
    return html.replace(CSRF_STAND_IN, csrf_value(request, composition))


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


def csrf_value(request: HttpRequest, composition: Composition) -> str:
    """The request's CSRF token, escaped for an attribute: made once per composition, which it
    marks as this viewer's own."""
    from django.middleware.csrf import get_token

    composition.per_viewer = True
    return composition.once("csrf", lambda: escape(get_token(request)))


@lru_cache(maxsize=4096)
def _rendered(template: str, viewer: tuple, bell: tuple, place: tuple, values: tuple) -> str:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import AnonymousUser

    user: User | AnonymousUser
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
        "csrf_token": CSRF_STAND_IN,
        **dict(values),
    }
    return get_template(template).render(context)


# --- The navigation and messages (every page) ------------------------------------------------------


@slot("nav_links")
def nav_links(request: HttpRequest, args: Args, composition: Composition) -> str:
    if not request.user.is_authenticated:
        return ""
    return render_for_viewer("inc/nav_links.html", request)


@slot("account")
def account(request: HttpRequest, args: Args, composition: Composition) -> str:
    return render_for_viewer("inc/nav_account.html", request)


@slot("live")
def live(request: HttpRequest, args: Args, composition: Composition) -> str:
    """The toasts and the live scripts, for members."""
    if not request.user.is_authenticated:
        return ""
    return render_for_viewer("inc/nav_live.html", request)


@slot("messages")
def messages(request: HttpRequest, args: Args, composition: Composition) -> str:
    # Read (and so marked shown) only here: a cached page never holds anyone's message.
    shown = list(get_messages(request))
    if not shown:
        return ""
    composition.per_viewer = True
    return render("inc/messages.html", request, messages=shown)


@slot("verify_banner")
def verify_banner(request: HttpRequest, args: Args, composition: Composition) -> str:
    """A member whose address waits for its link: why, and a button for a new link."""
    user = request.user
    if not verification.shows_banner(user):
        return ""
    return render_for_viewer(
        "accounts/inc/verify_banner.html",
        request,
        email=user.email,
        pending_email=user.pending_email,
        must_verify=verification.must_verify(user),
        next=request.get_full_path(),
    )


@slot("csrf")
def csrf(request: HttpRequest, args: Args, composition: Composition) -> str:
    """The viewer's CSRF token field, for forms inside a rendering kept for reuse."""
    token = csrf_value(request, composition)
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'


@slot("join")
def join(request: HttpRequest, args: Args, composition: Composition) -> str:
    """The home page's call to action: publish for members, sign up for visitors."""
    return render_for_viewer("workbooks/inc/join.html", request)


@slot("admin_link")
def admin_link(request: HttpRequest, args: Args, composition: Composition) -> str:
    """A workbook's admin page, for staff who may change workbooks there. A slot, so the shared
    copy of the page holds only the marker and no one else's page ever shows the link; anyone not
    staff costs no query (the permission is read only for staff)."""
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return ""
    if not user.has_perm("workbooks.change_workbook"):
        return ""
    url = reverse("admin:workbooks_workbook_change", args=[args[0]])
    return format_html(
        '<a class="button button--ghost" href="{}" data-testid="admin-link">'
        'Edit in admin<span class="visually-hidden"> (this workbook)</span></a>',
        url,
    )
