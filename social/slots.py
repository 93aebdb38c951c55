"""The favorite, follow and block buttons and the comments of workbook and profile pages: slots
of the pages the gallery renders once for everyone (workbooks.slots), filled in for each viewer.

Registered in SocialConfig.ready (`register`): workbooks names these slots in its templates but
never imports social.
"""

from __future__ import annotations

import re
import secrets
from collections import namedtuple
from collections.abc import Mapping
from functools import lru_cache
from types import SimpleNamespace

from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.template.loader import get_template
from django.utils.safestring import mark_safe

from accounts import verification
from accounts.models import DELETED_MEMBER, User
from workbooks import cache as gallery_cache
from workbooks import slots
from workbooks.models import Workbook

from . import selectors, services
from .forms import CommentForm
from .models import Block, Favorite, Follow


def register() -> None:
    slots.slot("favorite")(favorite)
    slots.slot("follow")(follow)
    slots.slot("block")(block)
    slots.slot("comments")(comments)
    slots.keep_parts(kept_keys_of)


def _workbook(args: slots.Args):
    """What the buttons and comments use of a published workbook, from the marker: no query."""
    pk, slug, title, author_id = args
    return Workbook(
        pk=pk, slug=slug, title=title, author_id=author_id, status=Workbook.Status.PUBLISHED
    )


# What a button shows of its workbook or person: hashable, so a rendering can be kept per button.
_ShownWorkbook = namedtuple("_ShownWorkbook", "pk slug title author_id")
_ShownPerson = namedtuple("_ShownPerson", "pk id username display_name")


def _viewer_state(composition: slots.Composition) -> dict[str, set[int]]:
    """Which of the page's workbooks the viewer has favorited, which of its people they follow and
    block, and, on a page with comments, whose comments they do not see (the members they block),
    in one query for all of the page's buttons (none for a visitor; a second one, for the blocked
    members' ids, only for a member who blocks someone), kept in the cache for this member and
    these buttons under the member's token, which each of their favorites, follows and blocks (and
    their undoing) renews (social.services): a reload is one cache read."""

    def compute() -> dict[str, set[int]]:
        spec = _state_spec(composition)
        if spec is None:
            return {"favorited": set(), "following": set()}
        viewer, workbooks, people, comments, key = spec
        return gallery_cache.kept_while(
            "user",
            viewer.pk,
            "viewer_state",
            key,
            lambda: _query_state(viewer, workbooks, people, comments),
            ahead=_kept_ahead(composition),
        )

    return composition.once("viewer_state", compute)


def _people_of(composition: slots.Composition) -> set[int]:
    """The page's people with a follow or block button."""
    return {args[0] for name in ("follow", "block") for args in composition.args_of(name)}


def _state_spec(composition: slots.Composition):
    """The viewer, the page's workbooks and people with buttons, whether it shows comments, and
    the key their state is kept under; None when there is nothing to read (a visitor, no buttons
    and no comments)."""
    viewer = composition.request.user
    workbooks = {args[0] for args in composition.args_of("favorite")}
    people = _people_of(composition) - {viewer.pk}
    comments = bool(composition.args_of("comments"))
    if not viewer.is_authenticated or not (workbooks or people or comments):
        return None
    return viewer, workbooks, people, comments, _state_key(workbooks, people, comments)


def _state_key(workbooks: set[int], people: set[int], comments: bool) -> str:
    return f"{sorted(workbooks)}|{sorted(people)}|{'c' if comments else ''}"


def kept_keys_of(viewer_pk, workbooks, people, comments) -> list[str]:
    """The cache keys of a page's kept parts: the viewer's state for its buttons (`workbooks`
    with a favorite button, `people` with a follow or block button) and its comments (whose
    authors they block); none for a visitor, `viewer_pk` None), and the comments of each of
    `comments` (workbook ids)."""
    wanted: list[str] = []
    people = set(people) - {viewer_pk}
    if viewer_pk is not None and (workbooks or people or comments):
        wanted += gallery_cache.kept_keys(
            "user",
            viewer_pk,
            "viewer_state",
            _state_key(set(workbooks), people, bool(comments)),
        )
    for pk in comments:
        wanted += gallery_cache.kept_keys(
            "workbook", pk, _COMMENTS, str(_minute()), with_version=True
        )
    return wanted


def _kept_ahead(composition: slots.Composition) -> tuple[set[str], dict]:
    """What the page's kept parts (the viewer's state, each workbook's comments) read from the
    cache, read together once: one round trip for all of them, or none when they were read with
    the shared copy the page came from (workbooks.cache `_kept_guess`)."""

    def read() -> tuple[set[str], dict]:
        request = composition.request
        viewer = request.user
        seen = (
            tuple(sorted({args[0] for args in composition.args_of("favorite")})),
            tuple(sorted(_people_of(composition))),
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


def _query_state(
    viewer, workbooks: set[int], people: set[int], comments: bool
) -> dict[str, set[int]]:
    checks = {
        **{
            f"w{pk}": Exists(Favorite.objects.filter(user=OuterRef("pk"), workbook_id=pk))
            for pk in workbooks
        },
        **{
            f"p{pk}": Exists(Follow.objects.filter(follower=OuterRef("pk"), followee_id=pk))
            for pk in people
        },
        **{
            f"b{pk}": Exists(Block.objects.filter(blocker=OuterRef("pk"), blocked_id=pk))
            for pk in people
        },
    }
    if comments:
        checks["blocks_anyone"] = Exists(Block.objects.filter(blocker=OuterRef("pk")))
    row: Mapping[str, object] = User.objects.filter(pk=viewer.pk).values(**checks).get()
    return {
        "favorited": {pk for pk in workbooks if row[f"w{pk}"]},
        "following": {pk for pk in people if row[f"p{pk}"]},
        "blocking": {pk for pk in people if row[f"b{pk}"]},
        # Most members block no one: they pay no query for it.
        "hidden_authors": selectors.blocked_ids(viewer.pk) if row.get("blocks_anyone") else set(),
    }


def _button_context(request: HttpRequest) -> dict:
    return {"next": request.get_full_path()}


def favorite(request: HttpRequest, args: slots.Args, composition: slots.Composition) -> str:
    favorited = args[0] in _viewer_state(composition)["favorited"]
    return slots.render_for_viewer(
        "social/inc/favorite_button.html",
        request,
        workbook=_ShownWorkbook(*args),
        favorited=favorited,
        **_button_context(request),
    )


def follow(request: HttpRequest, args: slots.Args, composition: slots.Composition) -> str:
    pk, username, display_name = args
    state = _viewer_state(composition)
    if pk in state.get("blocking", ()):
        return ""  # following someone you block is refused: the Unblock button is what is shown
    return slots.render_for_viewer(
        "social/inc/follow_button.html",
        request,
        person=_ShownPerson(pk, pk, username, display_name),
        following=pk in state["following"],
        **_button_context(request),
    )


def block(request: HttpRequest, args: slots.Args, composition: slots.Composition) -> str:
    """Block (to a page that says what it does, and asks) or Unblock (at once): for members only,
    on someone else's profile."""
    pk, username, display_name = args
    viewer = request.user
    if not viewer.is_authenticated or viewer.pk == pk:
        return ""
    return slots.render_for_viewer(
        "social/inc/block_button.html",
        request,
        person=_ShownPerson(pk, pk, username, display_name),
        blocking=pk in _viewer_state(composition).get("blocking", ()),
        **_button_context(request),
    )


def comments(request: HttpRequest, args: slots.Args, composition: slots.Composition) -> str:
    """A workbook's comments with what this viewer may do to each, and the form.

    The list is the same for every viewer but for each comment's Edit and Delete: it is rendered
    without them (from no request, so nothing of any viewer's), with a marker where they go, and
    kept while the workbook's token (renewed by every comment written, edited or deleted), the
    gallery's version (a commenter's name or picture) and the minute ("5 minutes ago") are as
    they were. A reload is one cache read; each viewer's controls are filled in per request."""
    workbook = _ShownWorkbook(*args)  # the model only to read the comments (a miss)
    shown, pieces, moderated = gallery_cache.kept_while(
        "workbook",
        workbook.pk,
        _COMMENTS,
        str(_minute()),
        lambda: _comment_list(_workbook(args)),
        with_version=True,
        ahead=_kept_ahead(composition),
    )
    hidden = (
        _viewer_state(composition).get("hidden_authors") if request.user.is_authenticated else None
    )
    unseen = _unseen_moderated(request.user, moderated)
    if hidden or unseen:
        # The viewer does not see the comments of members they block, nor those moderators hold
        # or hide but their own (the kept list is everyone's).
        shown, listed = _without(shown, pieces, hidden or set(), unseen)
    else:
        head, items, tail = pieces
        listed = head + "".join(items) + tail
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
    html = shell(
        request.user.is_authenticated,
        workbook.slug,
        next_path,
        must_verify=verification.must_verify(request.user),
    )
    if slots.CSRF_STAND_IN in html:
        html = html.replace(slots.CSRF_STAND_IN, slots.csrf_value(request, composition))
    return html.replace(_LISTED_STAND_IN, listed)


_LISTED_STAND_IN = f"listed-{secrets.token_hex(12)}"


@lru_cache(maxsize=1024)
def _comments_shell(signed_in: bool, slug: str, next_path: str, *, must_verify: bool) -> str:
    """`must_verify`: the member's comments wait for their verified address (the form is replaced
    by why, and the resend button; accounts.verification)."""
    context = {
        "must_verify": must_verify,
        "user": SimpleNamespace(is_authenticated=signed_in),
        "workbook": SimpleNamespace(slug=slug),
        "listed": mark_safe(_LISTED_STAND_IN),  # noqa: S308 - our own marker
        "form": CommentForm(),
        "next": next_path,
        "csrf_token": slots.CSRF_STAND_IN,
    }
    return get_template("social/inc/comments.html").render(context)


def _minute() -> int:
    return gallery_cache.minute()


def _actions_marker(pk: int) -> str:
    # Comment bodies and names are escaped: no member can write one.
    return slots.private_marker("comment-actions", pk)


# The kept comment lists: (facts, (the list's head, each comment's item, its tail), {id: author
# id} of the comments moderators hold or hide). The name says the layout: a list kept in another
# layout is another entry, never misread.
_COMMENTS = "comment_items_moderated"


def _item_marker(kind: str) -> str:
    return slots.private_marker(kind, 0)


def _comment_list(
    workbook,
) -> tuple[list[tuple], tuple[str, list[str], str], dict[int, int | None]]:
    """The comments (one query) rendered for no one in particular, cut into the list's head, one
    item per comment and its tail (so a viewer's list can leave some out), what each one's
    controls depend on: (id, author id, written at, author's name), and which ones moderators
    hold or hide (shown with the reason, to their author and moderators only)."""
    shown = list(selectors.comments_for(workbook))
    for comment in shown:
        # For the template only: not a field of the model.
        comment.__dict__["actions_marker"] = mark_safe(_actions_marker(comment.pk))  # noqa: S308
    html = get_template("social/inc/comment_list.html").render(
        {
            "comments": shown,
            "item_marker": mark_safe(_item_marker("comment-item")),  # noqa: S308 - our own
            "end_marker": mark_safe(_item_marker("comment-items-end")),  # noqa: S308 - our own
        }
    )
    facts = [(c.pk, c.author_id, c.created_at, _author_name(c)) for c in shown]
    moderated = {c.pk: c.author_id for c in shown if not c.is_visible}
    return facts, _cut(html, len(shown)), moderated


def _unseen_moderated(viewer, moderated: dict[int, int | None]) -> set[int]:
    """The held or hidden comments of the kept list `viewer` may not see: all but their own, none
    for moderators (CommentQuerySet.seen_by's rule, without a query)."""
    if not moderated:
        return set()
    if viewer.is_authenticated and viewer.has_perm("social.delete_comment"):
        return set()
    own = viewer.pk if viewer.is_authenticated else None
    return {pk for pk, author_id in moderated.items() if own is None or author_id != own}


def _cut(html: str, count: int) -> tuple[str, list[str], str]:
    """`html` as (head, items, tail) at its item and end markers, which it then no longer holds."""
    if not count:
        return html, [], ""
    parts = re.split(
        f"{re.escape(_item_marker('comment-item'))}|{re.escape(_item_marker('comment-items-end'))}",
        html,
    )
    return parts[0], parts[1:-1], parts[-1]


def _without(
    shown: list[tuple], pieces: tuple[str, list[str], str], hidden: set[int], unseen: set[int]
) -> tuple[list[tuple], str]:
    """The kept list without the comments of the `hidden` authors and the `unseen` comments."""
    head, items, tail = pieces
    kept = [
        (fact, item)
        for fact, item in zip(shown, items, strict=True)
        if fact[1] not in hidden and fact[0] not in unseen
    ]
    if not kept:
        return [], get_template("social/inc/comment_list.html").render({"comments": []})
    return [fact for fact, _ in kept], head + "".join(item for _, item in kept) + tail


def _author_name(comment) -> str:
    # None once its author deleted their account.
    return comment.author.display_name if comment.author is not None else DELETED_MEMBER


def _comment_actions(request, workbook, pk, author_id, created_at, author_name) -> str:
    """This viewer's Edit and Delete for one comment: the rules of social.services."""
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
    return slots.render("social/inc/comment_actions.html", request, comment=comment)
