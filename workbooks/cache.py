"""Rendered gallery fragments, shared by every web process through the cache (Redis in production).

Each key carries the gallery's version, which every change that can alter a listing increments: a
cached fragment is never stale, only unused. The version key never
expires; fragments expire on their own.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from functools import wraps
from importlib import import_module
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.safestring import SafeString, mark_safe

from accounts.middleware import member_of
from sigma_playground import paging

from . import slots

if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView
    from rest_framework.mixins import ListModelMixin

    from accounts.sessions import SessionStore

    class _ListView(ListModelMixin, GenericAPIView[Any]):
        """What SharedForVisitors is mixed into."""

else:
    _ListView = object

VERSION_KEY = "gallery:version"
FRAGMENT_TIMEOUT = 300
# New entries one page (or fragment) may store per minute: at most five minutes' worth are alive.
STORE_BUDGET_PER_MINUTE = 120


def version() -> int:
    current = cache.get(VERSION_KEY)
    if current is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        current = cache.get(VERSION_KEY, 1)
    return current


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # not there yet (or evicted): any new value retires the old fragments
        cache.set(VERSION_KEY, version() + 1, timeout=None)


def gallery_changed() -> None:
    """Call from any write that can change what a listing shows.

    Bumped now, so this transaction's own next read is fresh, and again once it commits, so a
    fragment another request rendered in between from the old rows is retired too.
    """
    _bump()
    transaction.on_commit(_bump)


def _slot_token() -> str:
    """The page slots' token (derived from SECRET_KEY), part of every key of a rendering that may
    hold slot markers: a copy made under another key holds markers no longer recognised, and would
    be served with its slots left out."""
    return slots._token()


def fragment(name: str, key_parts: str, render: Callable[[], str]) -> SafeString:
    digest = hashlib.sha256(key_parts.encode()).hexdigest()[:32]
    key = f"gallery:{version()}:{name}:{_slot_token()}:{digest}"
    html = cache.get(key)
    if html is None:
        html = render()
        if _may_store(name):
            cache.set(key, html, timeout=FRAGMENT_TIMEOUT)
    return mark_safe(html)  # noqa: S308 - our own rendered template output


def _may_store(name: str) -> bool:
    """Whether `name` may store one more new entry this minute.

    Keys hold known parameters only, but a search's text is bounded in length, not in number: without
    a budget, a stream of distinct searches would fill the Redis that also carries the broker and the
    channel layer. Past the budget a page is rendered as usual and not kept.
    """
    counter = f"gallery:stored:{name}:{minute()}"
    cache.add(counter, 0, timeout=120)
    try:
        return cache.incr(counter) <= STORE_BUDGET_PER_MINUTE
    except ValueError:  # the counter was evicted meanwhile: store nothing rather than guess
        return False


def _no_parameters(request: HttpRequest) -> str:
    return ""


def as_visitor(request: HttpRequest) -> HttpRequest:
    """The same request as seen by a visitor who is not signed in, for renderings shared by everyone:
    no user, session, cookies or messages, so nothing of the member asking can reach the copy, and
    reached through SITE_URL, whatever Host it came with."""
    visitor = copy.copy(request)
    visitor.user = AnonymousUser()
    visitor.COOKIES = {}
    visitor.META = {
        name: value
        for name, value in request.META.items()
        if name not in ("HTTP_COOKIE", "HTTP_AUTHORIZATION", "CSRF_COOKIE")
    }
    visitor.session = import_module(settings.SESSION_ENGINE).SessionStore()  # empty: no query
    visitor._messages = []  # type: ignore[attr-defined]  # the messages middleware's, not in the stubs
    # Absolute URLs (request.build_absolute_uri: canonical, og:url, share link, pictures) come from
    # the configured origin, not from the Host this request sent: any allowed name (an internal
    # address, a wildcard subdomain) would otherwise reach every reader of the copy. Django builds
    # them all from this one cached property of the request.
    visitor.__dict__["_current_scheme_host"] = settings.SITE_URL
    # What a member's own request has looked up or composed.
    for remembered in ("_cached_user", "_bell", slots.COMPOSITION):
        visitor.__dict__.pop(remembered, None)
    return visitor


def shared_page(
    name: str,
    key: Callable[..., str] = _no_parameters,
    personal: Callable[..., bool] | None = None,
    params: Iterable[str] = (),
):
    """Serve a page from one rendering shared by every viewer, visitors and members alike.

    The view renders as for a visitor (`as_visitor`); each viewer's parts are `{% slot %}`s, filled
    in per request after the view (workbooks.slots), so the cached copy holds no one's state, CSRF
    token or messages. The entry is keyed on the gallery's version and on what the view reads from
    the URL: `key(request, **view_kwargs)` returns that, built by the same code the view uses, so a
    parameter the view ignores (`/?junk=1`, `/?junk=2`...) cannot make a new entry. `personal`
    (request, **view_kwargs) says when a viewer sees more than visitors do (their own profile, with
    drafts): the page is then rendered for them and not kept. A hit answers with the headers the
    miss had; `Vary: Cookie` stays, since the composed parts depend on the cookies.

    A visitor's request (`is_visitor`) whose query holds only `params` (those the view reads) is
    answered from the page composed once for visitors (`for_visitor`), when there is one.
    """
    known = frozenset(params)

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method != "GET" or (personal is not None and personal(request, **kwargs)):
                response = view(request, *args, **kwargs)
                patch_vary_headers(response, ("Cookie",))
                return response
            page_key = key(request, **kwargs)
            kept = for_visitor(request, name, page_key)
            if kept is not None:
                return kept
            return shared_and_kept(
                request,
                name,
                page_key,
                lambda visitor: view(visitor, *args, **kwargs),
                params=known,
            )

        return wrapper

    return decorator


def shared(
    request: HttpRequest,
    name: str,
    key: str,
    render: Callable[[HttpRequest], HttpResponse],
) -> HttpResponse:
    """The page `name` for `key` from the cache, or `render(as_visitor(request))` kept there (an
    answer of 200 that sets no cookie). Either way its `{% slot %}`s are still to be composed.

    One cache read: the gallery's version and the copy (kept with the version it was made at),
    and, for a member, what composing their slots reads next (`read_ahead`)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    entry_key = f"gallery:page:{name}:p{PAGE_FORMAT}:{minute()}:{_slot_token()}:{digest}"
    ahead = read_ahead(request)
    kept = _kept_guess(entry_key, ahead)
    current, cached, found = _read_entry(
        entry_key, 2, *(key for what, key in ahead.items() if what != "member"), *kept
    )
    if ahead:
        hand_over(request, ahead, found)
    _served_from(request, entry_key, kept, found)
    if cached is not None:
        content, headers = cached
        return HttpResponse(content, headers=headers)
    response = render(as_visitor(request))
    patch_vary_headers(response, ("Cookie",))
    if response.status_code == 200 and not response.cookies:
        _store_entry(entry_key, f"page:{name}", current, response.content, dict(response.headers))
    return response


# The layout of a shared copy (`shared`), part of its key: bump it with any change of what is stored.
PAGE_FORMAT = 1


# What composing a member's slots reads from the cache besides their session, registered by the app
# whose slots read it (social: the bell, in its ready()), so that it is read with the page: by
# name, the keys it reads for a member, and what takes what was found of them.
MemberKeys = Callable[[int], list[str]]
TakeFound = Callable[[HttpRequest, int, dict], None]
_MEMBER_READS: dict[str, tuple[MemberKeys, TakeFound]] = {}


def read_with_pages(name: str, keys: MemberKeys, take: TakeFound) -> None:
    """Read `keys(member)` with every page a member is served from the cache, and give what was
    found to `take(request, member, found)` before the page's slots are composed."""
    _MEMBER_READS[name] = (keys, take)


def read_ahead(request: HttpRequest) -> dict:
    """What composing a member's slots will read from the cache right after the view, by what it is
    for: their session's copy (if not loaded yet) and what other apps' slots read (`read_with_pages`:
    the bell), for the member this process last found the session signed in as. Read with the page,
    in one cache read, and handed over (`hand_over`); a guess that proves wrong only costs the read
    it would have made anyway."""
    session = request.__dict__.get("session") if request.COOKIES else None
    if session is None:
        return {}
    wanted = {}
    session_key = getattr(session, "read_ahead_key", lambda: None)()
    if session_key is not None:
        wanted["session"] = session_key
    member = member_of(session.session_key)
    if member is not None:
        for name, (keys, _take) in _MEMBER_READS.items():
            wanted.update((f"{name} {n}", key) for n, key in enumerate(keys(member)))
        wanted["member"] = member
    return wanted


def hand_over(request: HttpRequest, ahead: dict, found: dict) -> None:
    """Give what was read ahead (`read_ahead`) to those who would read it."""
    if "session" in ahead:
        # Only accounts.sessions' store names a key to read ahead, so the session is one of those.
        session = cast("SessionStore", request.session)
        session.read_ahead(ahead["session"], found.get(ahead["session"]))
    if "member" in ahead:
        for name, (_keys, take) in _MEMBER_READS.items():
            mine = [key for what, key in ahead.items() if what.startswith(f"{name} ")]
            take(request, ahead["member"], {key: found[key] for key in mine if key in found})


# What each shared copy's kept parts (workbooks.slots `_kept_ahead`: the viewer's favorite and
# follow state, each workbook's comments) were read for when this process last composed it, by
# entry key: their keys are read with the copy, for the member this process guesses the session is
# (`read_ahead`). Only a guess (a key that proves other is read as before, after the copy), so a
# plain bounded dict, emptied when full.
_KEPT_SEEN: dict[str, tuple] = {}
_KEPT_SEEN_MAX = 10_000
# Left on the request: the key of the shared copy it was served from, and what was read with it of
# its kept parts (keys, values), for workbooks.slots.
SERVED_ENTRY = "_shared_entry_key"
KEPT_READ_AHEAD = "_kept_read_ahead"


def _kept_guess(entry_key: str, ahead: dict) -> list[str]:
    """The keys of the copy's kept parts for the member guessed in `ahead`, as last composed here."""
    seen = _KEPT_SEEN.get(entry_key)
    member = ahead.get("member")
    if seen is None or member is None:
        return []
    return [key for key in slots.kept_keys_of(member, *seen) if key != VERSION_KEY]


def _served_from(request: HttpRequest, entry_key: str, kept: list[str], found: dict) -> None:
    request.__dict__[SERVED_ENTRY] = entry_key
    if kept:
        request.__dict__[KEPT_READ_AHEAD] = ({*kept, VERSION_KEY}, found)
    else:
        request.__dict__.pop(KEPT_READ_AHEAD, None)


def remember_kept(entry_key: str, seen: tuple) -> None:
    """What the copy at `entry_key` showed of kept parts (workbooks.slots `kept_keys_of`'s
    arguments but the viewer), for `_kept_guess` on its next read."""
    if _KEPT_SEEN.get(entry_key) != seen:
        if len(_KEPT_SEEN) >= _KEPT_SEEN_MAX:
            _KEPT_SEEN.clear()
        _KEPT_SEEN[entry_key] = seen


def shared_and_kept(
    request: HttpRequest,
    name: str,
    key: str,
    render: Callable[[HttpRequest], HttpResponse],
    *,
    visitor_key: str | None = None,
    params: Iterable[str] = (),
    depends: Mapping[str, str] | None = MappingProxyType({}),
    extra: object = None,
) -> HttpResponse:
    """What a view does after `for_visitor(request, name, visitor_key)` missed: the `shared` page
    for `key`, to be kept for visitors under `visitor_key` (`key` when not given) by
    `keep_for_visitors` with `params`, `depends` and `extra`."""
    response = shared(request, name, key, render)
    _keep_for_members(request, response, name, key if visitor_key is None else visitor_key, params,
                      depends, extra)  # fmt: skip
    return keep_for_visitors(
        request,
        response,
        name,
        key if visitor_key is None else visitor_key,
        params=params,
        depends=depends,
        extra=extra,
    )


def minute() -> int:
    # Featured windows open and close with no write to mark it: keys change every minute.
    return int(time.time() // 60)


# --- What a page shows that the gallery's version does not follow ---------------------------------

# How long an object's token lives unread; a token lost (expired, evicted) is made anew, which only
# retires the copies that depended on the old one.
DEPENDS_TIMEOUT = 3600


def _depends_key(kind: str, pk: int) -> str:
    return f"gallery:depends:{kind}:{pk}"


def renew(key: str) -> None:
    """A new token at `key` (`tokens`): every copy kept with the old one is retired. A new random
    token, not a counter: a token lost from the cache and made again can never equal the one a copy
    was kept with. Now and again once committed, as `gallery_changed`."""

    def again() -> None:
        cache.set(key, secrets.token_hex(8), timeout=DEPENDS_TIMEOUT)

    again()
    transaction.on_commit(again)


def tokens(keys: list[str]) -> dict[str, str] | None:
    """The current tokens at these keys (`renew`), each made where there is none, to keep a copy
    with. Read before the rows the copy shows are read (or read those rows again after): a change
    committed between the rows and the tokens would otherwise be kept under its own, fresh, token.
    None when the cache cannot say (a copy is then not kept)."""
    found = cache.get_many(keys)
    for key in keys:
        if key not in found:
            cache.add(key, secrets.token_hex(8), timeout=DEPENDS_TIMEOUT)
            found[key] = cache.get(key)
    if any(found.get(key) is None for key in keys):
        return None
    return found


def object_changed(kind: str, pk: int) -> None:
    """Call when a workbook's (`kind` "workbook") or member's ("user") row changes in a way the
    gallery's version does not announce: a count (favorites, comments, followers), a comment, a bio.
    Every copy kept for visitors that shows that object (`depends` of `keep_for_visitors`) is
    retired (`renew`)."""
    renew(_depends_key(kind, pk))


def depends_on(*objects: tuple[str, int]) -> dict[str, str] | None:
    """The current tokens of these (kind, pk) objects (`tokens`), to keep a copy with."""
    return tokens([_depends_key(kind, pk) for kind, pk in objects])


def visitor_depends(request: HttpRequest, *objects: tuple[str, int]) -> dict[str, str] | None:
    """`depends_on(*objects)` for a visitor's request (whose copy is kept), None for any other (whose
    answer is not kept, so no token is read)."""
    return depends_on(*objects) if is_visitor(request) else None


def kept_while(
    kind: str,
    pk: int,
    name: str,
    key: str,
    compute: Callable[[], object],
    *,
    with_version: bool = False,
    ahead: tuple[set[str], Mapping[str, Any]] | None = None,
):
    """`compute()`, kept in the cache for as long as the (`kind`, `pk`) object's token
    (`object_changed`) and, `with_version`, the gallery's version are what they were read as before
    it was computed: a hit is one cache read (the token, the version and the entry together), no
    query. `key` is what else the value depends on; it holds what the site rendered (ids from a
    page's markers, the minute), never text a client chose. Nothing is kept when the cache cannot
    say what the token is. `ahead`: (keys, what the cache held of them) read earlier in this request
    with other parts' (`kept_keys`); used when it holds all of this value's keys."""
    keys = kept_keys(kind, pk, name, key, with_version=with_version)
    token_key, entry_key = keys[0], keys[1]
    found: Mapping[str, Any]
    if ahead is not None and ahead[0].issuperset(keys):
        found = {key: ahead[1][key] for key in keys if key in ahead[1]}
    else:
        found = cache.get_many(keys)
    token = found.get(token_key)
    current = found.get(VERSION_KEY) if with_version else None
    entry = found.get(entry_key)
    if entry is not None and token is not None and (current is not None or not with_version):
        made_with, value = entry
        if made_with == (token, current):
            return value
    if token is None:
        token = (depends_on((kind, pk)) or {}).get(token_key)
    if with_version and current is None:
        current = version()
    value = compute()
    if token is not None:
        cache.set(entry_key, ((token, current), value), timeout=FRAGMENT_TIMEOUT)
    return value


def kept_keys(kind: str, pk: int, name: str, key: str, *, with_version: bool = False) -> list[str]:
    """The cache keys `kept_while` reads for these arguments: the token, the entry, the version."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    entry_key = f"gallery:kept:{name}:{kind}:{pk}:{digest}"
    return [_depends_key(kind, pk), entry_key, *([VERSION_KEY] if with_version else [])]


# --- Pages composed once for visitors ---------------------------------------------------------------

# Set on a response whose slots are already filled in (ComposeMiddleware leaves it as it is).
COMPOSED = "_slots_composed"
# Set on a response to be composed once for every visitor and kept (ComposeMiddleware does it).
KEEP_FOR_VISITORS = "_keep_for_visitors"


def is_visitor(request: HttpRequest) -> bool:
    """A GET with no cookie and no Authorization header: no session, no sign-in, no messages, no
    CSRF cookie. Everything in its answer is what any other such request gets."""
    if request.method != "GET" or request.COOKIES or "HTTP_AUTHORIZATION" in request.META:
        return False
    # Signed in by no header (a test client's forced sign-in, a middleware's): not a visitor. For a
    # request with no cookie, asking costs no query.
    user = getattr(request, "user", None)
    return user is None or not user.is_authenticated


# The layout of an entry kept for visitors (`_store_entry`), part of its key: a release that changes
# it changes this number, so a copy of the old layout (another release still running, or the same
# minute before a deploy) is never read as the new one. Bump it with any change of what is stored.
ENTRY_FORMAT = 2


def _visitor_key(name: str, key: str) -> str:
    """Without the gallery's version: the entry holds the version it was made at, so one read of
    both answers a visitor (a newer version's copy replaces an older one's)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"gallery:visitor:{name}:v{ENTRY_FORMAT}:{minute()}:{_slot_token()}:{digest}"


def _read_entry(entry_key: str, size: int, *more: str) -> tuple[int, tuple | None, dict]:
    """The gallery's version, the `size` values stored at `entry_key` by `_store_entry` if made at
    that version (else None), and the values of `more`: one cache read. An entry of another shape
    (any layout this code did not write) is a miss, never an error."""
    found = cache.get_many(list(dict.fromkeys([VERSION_KEY, entry_key, *more])))
    current = found.get(VERSION_KEY)
    if current is None:
        current = version()
    entry = found.get(entry_key)
    if not isinstance(entry, tuple) or len(entry) != 1 + size or entry[0] != current:
        return current, None, found
    return current, entry[1:], found


def _store_entry(entry_key: str, name: str, made_at: int, *values: object) -> None:
    """Keep `values` at `entry_key` with the gallery's version they were made at (read before they
    were made), for `_read_entry`, within `name`'s budget of new entries."""
    if _may_store(name):
        cache.set(entry_key, (made_at, *values), timeout=FRAGMENT_TIMEOUT)


# Which objects' tokens an entry depended on when this process last served it, by entry key: read
# with the entry, they spare a second round trip. Only a guess (an entry made anew may depend on
# others; then they are read after it), so a plain bounded dict, emptied when full.
_DEPENDS_SEEN: dict[str, list[str]] = {}
_DEPENDS_SEEN_MAX = 10_000


def guessed_depends(entry_key: str) -> list[str]:
    """The tokens the entry at `entry_key` depended on when this process last read it: read them
    with the entry, then `depends_hold`."""
    return _DEPENDS_SEEN.get(entry_key, [])


def _remember_depends(entry_key: str, keys: list[str]) -> None:
    if len(_DEPENDS_SEEN) >= _DEPENDS_SEEN_MAX:
        _DEPENDS_SEEN.clear()
    _DEPENDS_SEEN[entry_key] = keys


def depends_hold(
    entry_key: str, depends: Mapping[str, str] | None, guessed: Iterable[str], found: dict
) -> bool:
    """Whether every token the entry at `entry_key` was kept with is still what it was: those
    guessed (`guessed_depends`) were read with the entry (in `found`); if the guess missed any, all
    are read now and remembered as this entry's guess for next time."""
    if not depends:
        return True
    if not depends.keys() <= set(guessed):
        found = cache.get_many(list(depends))
        _remember_depends(entry_key, list(depends))
    return all(found.get(key) == token for key, token in depends.items())


# Where for_visitor leaves, on the request, the entry's key and the version it read, for
# keep_for_visitors: a copy is kept under the version read before it was rendered, so a change
# made meanwhile retires it.
_LOOKED_UP = "_visitor_copy_looked_up"


class KeptPage(HttpResponse):
    """A page as composed for visitors and kept (`for_visitor`), with the `extra` it was kept with
    (`keep_for_visitors`), as the view gave it."""

    kept_extra: Any = None


def for_visitor(request: HttpRequest, name: str, key: str) -> KeptPage | None:
    """The page `name` for `key` as composed for visitors, if this is a visitor's request for the
    very address it was composed for (its links to sign in carry the address), under the gallery's
    current version, and no object it depends on has changed since; else None. One cache read (the
    version, the entry and the tokens it depended on when last served here), no query, no
    composition."""
    if not is_visitor(request):
        return None
    entry_key = _visitor_key(name, key)
    guessed = guessed_depends(entry_key)
    current, entry, found = _read_entry(entry_key, 5, *guessed)
    request.__dict__[_LOOKED_UP] = (entry_key, current)
    if entry is None:
        return None
    path, content, headers, depends, extra = entry
    if path != request.get_full_path():
        return None
    if not depends_hold(entry_key, depends, guessed, found):
        return None
    response = KeptPage(content, headers=headers)
    setattr(response, COMPOSED, True)
    response.kept_extra = extra
    return response


def keep_for_visitors(
    request: HttpRequest,
    response: HttpResponse,
    name: str,
    key: str,
    *,
    params: Iterable[str] = (),
    depends: Mapping[str, str] | None = MappingProxyType({}),
    extra: object = None,
) -> HttpResponse:
    """Have `response` (slots not yet filled in) composed once for every visitor and kept beside
    the shared copy, to be served by `for_visitor(request, name, key)`: when this is a visitor's
    request, a 200 that sets no cookie, for an address whose query holds only `params`. A page with
    other parameters is answered as before and keeps nothing, so they cannot add entries. `depends`
    (from `depends_on`, read before rendering; None keeps nothing) are the objects whose change
    retires the copy;
    `extra` is handed back with it (`response.kept_extra`)."""
    looked_up = request.__dict__.get(_LOOKED_UP)
    if (
        looked_up is not None
        and looked_up[0] == _visitor_key(name, key)
        and is_visitor(request)
        and response.status_code == 200
        and not response.cookies
        and set(request.GET) <= set(params)
        and depends is not None
    ):
        entry_key, made_at = looked_up
        setattr(response, KEEP_FOR_VISITORS, (entry_key, made_at, name, dict(depends), extra))
    return response


def visitor_request(request: HttpRequest) -> HttpRequest:
    """What a visitor's copy is composed from: `as_visitor`, and the `Host` of SITE_URL too, so
    nothing the request's own Host header says can reach the copy served to others."""
    visitor = as_visitor(request)
    visitor.META["HTTP_HOST"] = urlsplit(settings.SITE_URL).netloc
    return visitor


def store_for_visitors(request: HttpRequest, response: HttpResponse) -> None:
    """Keep the composed `response` for visitors (ComposeMiddleware, once its slots are filled in
    from `visitor_request` and hold nothing of one viewer)."""
    entry_key, made_at, name, depends, extra = getattr(response, KEEP_FOR_VISITORS)
    path, headers = request.get_full_path(), dict(response.headers)
    _store_entry(
        entry_key, f"visitor:{name}", made_at, path, response.content, headers, depends, extra
    )


# --- API lists for visitors ------------------------------------------------------------------------


# Set on a list's answer to a visitor, to keep it (SharedForVisitors): (entry key, version read).
SHARED_AS = "shared_as"


class SharedForVisitors(_ListView):
    """For a DRF list view: its answer to a visitor (`is_visitor`: no Authorization header, no
    cookie) is kept as JSON bytes, shared by every visitor, under the gallery's version, the minute
    and what the list reads from its address (`shared_params`, the URL's own arguments, and the page
    or cursor spelled one way); a query holding anything else is answered as before and keeps
    nothing. Authentication, permissions and throttles run first as for any request; only a 200
    that sets no cookie is kept, at most STORE_BUDGET_PER_MINUTE new ones per list per minute.
    Its links (`next`, `previous`, pictures) are built from SITE_URL, never the request's Host."""

    shared_name: str
    shared_params: tuple[str, ...] = ()

    def list(self, request, *args, **kwargs):
        asked = request._request
        shared_as = None
        if (
            is_visitor(asked)
            and request.auth is None
            and not request.user.is_authenticated
            and set(asked.GET) <= {*self.shared_params, *paging_params()}
        ):
            read = sorted(
                (name, values)
                for name, values in asked.GET.lists()
                if name not in ("page", "cursor")  # in page_key, spelled one way
            )
            key = repr((sorted(kwargs.items()), read, paging.page_key(asked.GET)))
            entry_key = _visitor_key(f"api:{self.shared_name}", key)
            current, cached, _ = _read_entry(entry_key, 2)
            if cached is not None:
                content, headers = cached
                return HttpResponse(content, headers=headers)
            shared_as = (entry_key, current)  # the version read before the answer is made
            asked.__dict__["_current_scheme_host"] = settings.SITE_URL
        response = super().list(request, *args, **kwargs)
        setattr(response, SHARED_AS, shared_as)
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        shared_as = getattr(response, SHARED_AS, None)
        if shared_as is not None and response.status_code == 200 and not response.cookies:
            entry_key, made_at = shared_as
            response.render()
            name = f"api:{self.shared_name}"
            _store_entry(entry_key, name, made_at, response.content, dict(response.headers))
        return response


def paging_params() -> tuple[str, ...]:
    """The page, its size and the cursor: what the API's pagination reads."""
    return ("page", "page_size", "cursor")


# --- Shared copies found by address, for members ---------------------------------------------------

# Where for_member leaves, on the request, the entry's key and the version it read.
_MEMBER_LOOKED_UP = "_member_copy_looked_up"


def _member_key(name: str, key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"gallery:member:{name}:p{PAGE_FORMAT}:{minute()}:{_slot_token()}:{digest}"


def for_member(request: HttpRequest, name: str, key: str) -> tuple[HttpResponse, Any] | None:
    """For a GET that is not a visitor's (`is_visitor`): the shared copy of the page `name` (its
    slots not yet filled in), found by `key` alone (what `for_visitor` is keyed by: the address),
    under the gallery's current version and while no object it depends on has changed, with the
    `extra` it was kept with (what the view needs to tell whether this viewer may be served it);
    else None. One cache read with what composing the slots reads next (`read_ahead`); no query.
    The view still decides whether this reader sees what every reader sees."""
    if request.method != "GET" or is_visitor(request):
        return None
    entry_key = _member_key(name, key)
    guessed = guessed_depends(entry_key)
    ahead = read_ahead(request)
    kept = _kept_guess(entry_key, ahead)
    current, entry, found = _read_entry(
        entry_key, 4, *guessed, *(key for what, key in ahead.items() if what != "member"), *kept
    )
    # The tokens read with the entry, before any row: what a copy made now may be kept with.
    tokens = {key: found.get(key) for key in guessed}
    request.__dict__[_MEMBER_LOOKED_UP] = (entry_key, current, tokens)
    if ahead:
        hand_over(request, ahead, found)
    if entry is None:
        return None
    _served_from(request, entry_key, kept, found)
    content, headers, depends, extra = entry
    if not depends_hold(entry_key, depends, guessed, found):
        return None
    return HttpResponse(content, headers=headers), extra


def member_depends(request: HttpRequest, *objects: tuple[str, int]) -> dict[str, str] | None:
    """For a request that looked for a copy kept for members (`for_member`) and missed: the tokens of
    these (kind, pk) objects, if they were read with the entry, before the rows the copy shows (so
    the copy can be kept with them, with no second read of the rows); else None, and they are read
    with the entry from the next request on. None for any other request."""
    looked_up = request.__dict__.get(_MEMBER_LOOKED_UP)
    if looked_up is None:
        return None
    entry_key, _, tokens = looked_up
    keys = [_depends_key(kind, pk) for kind, pk in objects]
    if all(tokens.get(key) is not None for key in keys):
        return {key: tokens[key] for key in keys}
    _remember_depends(entry_key, keys)
    depends_on(*objects)  # made, if missing, for the next read
    return None


def _keep_for_members(
    request: HttpRequest,
    response: HttpResponse,
    name: str,
    key: str,
    params: Iterable[str],
    depends: Mapping[str, str] | None,
    extra: object,
) -> None:
    """Keep the shared copy `response` (slots not yet filled in) for `for_member(request, name,
    key)`, when that looked for it and missed: a 200 that sets no cookie, for an address whose query
    holds only `params`, with the tokens of what it depends on (`depends`, read before its rows;
    None keeps nothing)."""
    looked_up = request.__dict__.get(_MEMBER_LOOKED_UP)
    if (
        looked_up is None
        or looked_up[0] != _member_key(name, key)
        or response.status_code != 200
        or response.cookies
        or not set(request.GET) <= set(params)
        or depends is None
    ):
        return
    entry_key, made_at, _ = looked_up
    content, headers = response.content, dict(response.headers)
    _store_entry(entry_key, f"member:{name}", made_at, content, headers, dict(depends), extra)
