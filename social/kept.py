"""A member's own first page of the feed or of their notifications, kept whole for them.

Both pages are one member's alone, so nothing is shared; but a member reloads them far more often than
they change. The first page (no query string) is kept in the cache, one entry per member and page,
as the view rendered it: slot markers not yet filled in (the navigation, messages and CSRF tokens
are composed per request by workbooks.middleware.ComposeMiddleware, so the entry holds no token
and no message). A reload is one cache read: no query, no rendering.

An entry is served only while everything it was made from is as it was read before the page's rows
were read:
- the minute ("5 minutes ago"; so no entry is ever more than a minute old),
- the gallery's version (names, titles, pictures, a workbook published, unpublished or deleted),
- the tokens it depends on (`depends`): random values in the cache that the writes renew. For the
  notifications, the member's bell generation (a notification made or retracted, a read) and their
  muted kinds; for the feed, the member's own token and each followed member's (a follow or unfollow,
  a favorite or unfavorite, a comment; social.services renews them).
A token lost from the cache is made anew, which only retires entries.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.html import escape

from workbooks import cache as gallery_cache
from workbooks import slots

# The layout of an entry: a release that changes what is stored bumps it, so an entry of the other
# layout (a release running beside this one) is never read as this one's.
ENTRY_FORMAT = 1
# An entry is only good for the minute it was made in; kept a little longer than that is wasted.
KEPT_SECONDS = 90
# Beyond this many tokens (a member following that many people) a page is not kept: reading them
# all on every reload would cost about what rendering the page does.
MAX_DEPENDS = 200


def _entry_key(name: str, user_id: int) -> str:
    return f"social:kept:{name}:v{ENTRY_FORMAT}:{user_id}"


def page(
    request: HttpRequest,
    name: str,
    depends: Callable[[], dict[str, str] | None],
    render: Callable[[], HttpResponse],
) -> HttpResponse:
    """The member's page `name`: their kept copy if it is current, else `render()` (which answers a
    visitor too: with a sign-in), kept when it is a 200 that sets no cookie. `depends()` returns the
    tokens the page depends on (workbooks.cache `tokens`), read before the page's rows; None keeps
    nothing. Only the first page is kept: a page asked for with any query string is rendered as
    usual.

    One cache read: the gallery's version, the entry and the tokens it depended on when this process
    last served it, with what the member's request reads next (their session's copy and their bell,
    workbooks.cache `read_ahead`), for the member this process last found the session signed in as.
    Only when this process does not know the session yet is the member looked up first."""
    if request.GET:
        return render()
    ahead = gallery_cache.read_ahead(request)
    member = ahead.get("member")
    if member is None:
        if not request.user.is_authenticated:
            return render()
        member = request.user.pk
        ahead = gallery_cache.read_ahead(request)  # the session is loaded: the bell's keys
    entry_key = _entry_key(name, member)
    guessed = gallery_cache.guessed_depends(entry_key)
    more = [key for what, key in ahead.items() if what != "member"]
    found = cache.get_many([gallery_cache.VERSION_KEY, entry_key, *guessed, *more])
    if ahead:
        gallery_cache.hand_over(request, ahead, found)
    if not request.user.is_authenticated or request.user.pk != member:
        return render()  # signed out, or another member: nothing read above is used
    current = found.get(gallery_cache.VERSION_KEY)
    minute = gallery_cache.minute()
    entry = found.get(entry_key)
    if isinstance(entry, tuple) and len(entry) == 5 and current is not None:
        made_in, made_at, made_with, content, headers = entry
        if (
            made_in == minute
            and made_at == current
            and gallery_cache.depends_hold(entry_key, made_with, guessed, found)
        ):
            return HttpResponse(_with_csrf(request, content), headers=headers)
    if current is None:
        current = gallery_cache.version()
    made_with = depends()
    response = render()
    if (
        made_with is not None
        and len(made_with) <= MAX_DEPENDS
        and response.status_code == 200
        and not response.cookies
        and not response.streaming
    ):
        entry = (minute, current, made_with, response.content, dict(response.headers))
        cache.set(entry_key, entry, KEPT_SECONDS)
    return response


def _with_csrf(request: HttpRequest, content: bytes) -> bytes:
    """`content` with each of its `csrf` slots (a mark-read form on every unread notification)
    filled in at once, with one replace, as the slot would fill each of them in (the member's
    token, masked once for the answer): composing would decode and render them one by one."""
    marker = slots.marker("csrf", []).encode()
    if marker not in content:
        return content
    token = escape(get_token(request))
    return content.replace(
        marker, f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'.encode()
    )
