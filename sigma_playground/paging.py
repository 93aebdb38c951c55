"""Pages of a list without COUNT(*): one row more than the page says whether there is another.

Two kinds. Keyset (cursor) pages, for every list in a fixed order: the next page is "the rows after
this one" in the list's order, a range read of the index that serves the order, so page 10,000
costs what page 1 costs. An OFFSET would read and throw away every row before the page. Numbered
pages remain for lists ranked per request (search by relevance), whose depth the search caps, and,
up to MAX_NUMBERED_PAGE, for `?page=N` links made before lists had cursors.

A cursor is opaque to clients: the boundary row's values of the ordering's fields, the direction,
and the ordering itself, encrypted and authenticated (Fernet, keyed from SECRET_KEY). Authenticated:
a cursor cannot be forged into a value the query cannot compare, nor carried from one ordering to
another. Encrypted: those values are not always shown by the list (the time a member favorited a
workbook or followed someone, a link row's id), and a signed cursor is only base64 to anyone.
An ordering must be total: its last field is a unique key (`id`, `pk`, or an annotation named
`*_pk`), so no row is skipped or shown twice between pages.
"""

from __future__ import annotations

import base64
import datetime
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

# `?page=N` on a keyset list: up to this many pages by OFFSET (at most 10 pages of 100 rows skipped), for
# links made before cursors; deeper is refused with a pointer to the cursors.
MAX_NUMBERED_PAGE = 10
# Numbered pages of ranked lists (the search caps what is ranked).
MAX_PAGE = 10_000

_SALT = "sigma_playground.paging.cursor"
FORWARD, BACKWARD = "n", "p"


class BadPage(ValueError):
    """A page that cannot be answered: `code` says why, the message says so to people."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def bad_cursor() -> BadPage:
    return BadPage(
        "This cursor is not one this list gave out (or the list's order changed): "
        "start again from the first page.",
        "invalid_cursor",
    )


def too_deep() -> BadPage:
    return BadPage(
        f"Pages past {MAX_NUMBERED_PAGE} are not numbered: follow the list's next links, which "
        "carry a cursor, from the first page.",
        "page_too_deep",
    )


@dataclass
class Page:
    """One page. `next_params`/`previous_params` are the query parameters that reach the pages
    beside it (for links: `next_query`, `previous_query`); numbered pages also have `number`."""

    items: list[Any]
    number: int | None
    has_next: bool
    has_previous_page: bool | None = None
    next_params: dict[str, str] = field(default_factory=dict)
    previous_params: dict[str, str] = field(default_factory=dict)

    @property
    def has_previous(self) -> bool:
        if self.has_previous_page is not None:
            return self.has_previous_page
        return (self.number or 1) > 1

    @property
    def next_number(self) -> int:
        return (self.number or 0) + 1

    @property
    def previous_number(self) -> int:
        return (self.number or 2) - 1

    @property
    def next_query(self) -> str:
        return urlencode(self.next_params or {"page": self.next_number})

    @property
    def previous_query(self) -> str:
        return urlencode(self.previous_params or {"page": self.previous_number})


def paginate(queryset: QuerySet[Any], number: int, size: int) -> Page:
    """A numbered page (OFFSET): for ranked lists, whose depth is capped where they are ranked."""
    offset = (number - 1) * size
    rows = list(queryset[offset : offset + size + 1])
    return Page(items=rows[:size], number=number, has_next=len(rows) > size)


# --- Keyset pages ---------------------------------------------------------------------------------


def ordering_of(queryset: QuerySet[Any]) -> list[tuple[str, bool]]:
    """The queryset's explicit order as (name, descending) pairs; it must end with a unique key."""
    order = []
    for term in queryset.query.order_by:
        if not isinstance(term, str) or term.startswith("?") or "__" in term:
            # A join in the order (`favorites__created_at`) would be joined again by the filter
            # the cursor adds; selectors annotate such a value under a name of its own instead.
            raise ImproperlyConfigured(f"A keyset list orders by plain names, not {term!r}.")
        order.append((term.lstrip("-"), term.startswith("-")))
    if not order:
        raise ImproperlyConfigured("A keyset list needs an explicit order_by().")
    last = order[-1][0]
    if last not in ("id", "pk") and not last.endswith("_pk"):
        raise ImproperlyConfigured(f"A keyset order must end with a unique key, not {last!r}.")
    return order


def _dump(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"dec": str(value)}
    if value is None or isinstance(value, int | float | str | bool):
        return value
    raise ImproperlyConfigured(f"A keyset value of type {type(value).__name__} is not supported.")


def _load(value: Any) -> Any:
    if isinstance(value, dict):
        if "dt" in value:
            return datetime.datetime.fromisoformat(value["dt"])
        if "d" in value:
            return datetime.date.fromisoformat(value["d"])
        return Decimal(value["dec"])
    return value


def _signature(order: list[tuple[str, bool]]) -> str:
    return ",".join(("-" if descending else "") + name for name, descending in order)


def _fernet() -> MultiFernet:
    """Keys derived from SECRET_KEY (then its fallbacks, so cursors outlive a key rotation)."""
    return _fernet_for(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


@functools.lru_cache(maxsize=4)
def _fernet_for(secret: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    keys = [
        salted_hmac(_SALT, "cursor", secret=key, algorithm="sha256").digest()
        for key in (secret, *fallbacks)
    ]
    return MultiFernet([Fernet(base64.urlsafe_b64encode(key)) for key in keys])


def encode_cursor(row: Any, order: list[tuple[str, bool]], direction: str) -> str:
    values = [_dump(getattr(row, name)) for name, _ in order]
    payload = {"o": _signature(order), "d": direction, "v": values}
    token = _fernet().encrypt(json.dumps(payload, separators=(",", ":")).encode())
    return token.decode().rstrip("=")  # Fernet's padding would only be escaped in every link


def _open(raw: str) -> Any:
    """The payload of a cursor this site made; BadPage if it is not one."""
    if len(raw) > 1000:
        raise bad_cursor()
    try:
        return json.loads(_fernet().decrypt((raw + "=" * (-len(raw) % 4)).encode()))
    except (InvalidToken, ValueError, TypeError):
        raise bad_cursor() from None


def decode_cursor(raw: str, order: list[tuple[str, bool]]) -> tuple[str, list[Any]]:
    payload = _open(raw)
    if (
        not isinstance(payload, dict)
        or payload.get("o") != _signature(order)
        or payload.get("d") not in (FORWARD, BACKWARD)
        or not isinstance(payload.get("v"), list)
        or len(payload["v"]) != len(order)
    ):
        raise bad_cursor()
    values = [_load(value) for value in payload["v"]]
    if any(value is None for value in values):
        raise bad_cursor()
    return payload["d"], values


def _beyond(order: list[tuple[str, bool]], values: list[Any]) -> Q:
    """Rows strictly after `values` in `order`: (a, b) after (x, y) is a beyond x, or a = x and b
    beyond y. The first field's bound (a ≤ x, descending) is repeated on its own so the index
    range starts at the boundary instead of being filtered row by row."""
    first, first_descending = order[0]
    bound = Q(**{f"{first}__{'lte' if first_descending else 'gte'}": values[0]})
    alternatives = Q()
    for index, (name, descending) in enumerate(order):
        equal = {order[i][0]: values[i] for i in range(index)}
        beyond = {f"{name}__{'lt' if descending else 'gt'}": values[index]}
        alternatives |= Q(**equal, **beyond)
    return bound & alternatives


def keyset_page(queryset: QuerySet[Any], size: int, cursor: str | None = None) -> Page:
    """The page after (or, for a backward cursor, before) the cursor's row; the first page
    without one. One query: `size + 1` rows from the index range."""
    order = ordering_of(queryset)
    direction, values = (FORWARD, None) if not cursor else decode_cursor(cursor, order)
    if direction == BACKWARD and values is not None:  # a backward cursor has its values
        reverse = [(name, not descending) for name, descending in order]
        rows = list(
            queryset.filter(_beyond(reverse, values)).order_by(
                *(("-" if descending else "") + name for name, descending in reverse)
            )[: size + 1]
        )
        if len(rows) < size:
            # The start of the list (rows before the cursor were removed, or it never lined up
            # with the first page): the first page, full, rather than a short one.
            return keyset_page(queryset, size)
        return _keyset(rows[:size][::-1], order, has_next=True, has_previous=len(rows) > size)
    if values is not None:
        queryset = queryset.filter(_beyond(order, values))
    rows = list(queryset[: size + 1])
    return _keyset(rows[:size], order, has_next=len(rows) > size, has_previous=cursor is not None)


def numbered_keyset_page(queryset: QuerySet[Any], number: int, size: int) -> Page:
    """`?page=N` on a keyset list (N ≤ MAX_NUMBERED_PAGE): that page by OFFSET, with cursors to
    the pages beside it, so whoever follows the links leaves OFFSET behind. A link to `?page=N-1`
    would count again from the top of the list as it is then: with rows added or gone above this
    page since (a member followed or unfollowed, for the feed), it would skip rows or show this
    page's again."""
    if number > MAX_NUMBERED_PAGE:
        raise too_deep()
    order = ordering_of(queryset)
    page = paginate(queryset, number, size)
    next_params = {"cursor": encode_cursor(page.items[-1], order, FORWARD)} if page.items else {}
    if page.items:
        previous_params = {"cursor": encode_cursor(page.items[0], order, BACKWARD)}
    else:  # past the end, no row to start from: the page before by number
        previous_params = {"page": str(number - 1)} if number > 2 else {}
    return Page(
        items=page.items,
        number=number,
        has_next=page.has_next,
        has_previous_page=number > 1,
        next_params=next_params,
        previous_params=previous_params or {},
    )


def _keyset(
    items: list[Any], order: list[tuple[str, bool]], *, has_next: bool, has_previous: bool
) -> Page:
    return Page(
        items=items,
        number=None,
        has_next=has_next and bool(items),
        # An empty page after a cursor (its rows were removed) still leads back to the first.
        has_previous_page=has_previous,
        next_params={"cursor": encode_cursor(items[-1], order, FORWARD)} if items else {},
        previous_params={"cursor": encode_cursor(items[0], order, BACKWARD)} if items else {},
    )


def html_page(request: HttpRequest, queryset: QuerySet[Any], size: int) -> Page:
    """The page an HTML list's query string asks for (`cursor`, or `page` up to
    MAX_NUMBERED_PAGE); BadPage if it cannot be answered, which the view lets through (the site's
    pages answer it with a 400: sigma_playground.errors.PageErrorsMiddleware)."""
    return page_from(request.GET, queryset, size)


def page_param(raw: str | None, maximum: int | None = None) -> int:
    """`?page=` as a number: absent or empty is 1; so are `01`, `+1`, ` 1` and other scripts' 1.
    BadPage if it is not a number from 1 (to `maximum`, when given)."""
    if raw in (None, ""):
        return 1
    try:
        number = int(raw)
    except ValueError:
        raise BadPage("The page must be a number.", "invalid_page") from None
    if maximum is not None and not 1 <= number <= maximum:
        raise BadPage(f"The page must be a number from 1 to {maximum}.", "invalid_page")
    if number < 1:
        raise BadPage("The page must be a number from 1.", "invalid_page")
    return number


def page_from(params: Mapping[str, str], queryset: QuerySet[Any], size: int) -> Page:
    """The page a page's query string (`cursor`, or `page`) asks for; BadPage if it cannot be
    answered. For the site's HTML lists; the API's Pagination checks its parameters itself."""
    cursor = params.get("cursor")
    if cursor:
        return keyset_page(queryset, size, cursor)
    number = page_param(params.get("page"))
    if number == 1:
        return keyset_page(queryset, size)
    return numbered_keyset_page(queryset, number, size)


def page_key(params: Mapping[str, str]) -> str:
    """What `page_from` reads from a query string, spelled one way: the cache key of a page that
    reads it. Each spelling of one page (`?page=01`, `+1`, another script's 1; an encrypted
    cursor, which differs at every encryption of one boundary) is then one entry, not one each. A
    parameter that cannot be answered keys the 400, which is never kept."""
    cursor = params.get("cursor")
    if not cursor:
        return page_param_key(params.get("page"))
    try:
        return "cursor:" + json.dumps(_open(cursor), sort_keys=True)
    except BadPage as error:
        return f"bad:{error.code}"


def page_param_key(raw: str | None, maximum: int | None = None) -> str:
    """`page_param(raw, maximum)` spelled one way, for a cache key (see `page_key`): the number, or
    the code of the 400 it answers, which is never kept."""
    try:
        return f"page:{page_param(raw, maximum)}"
    except BadPage as error:
        return f"bad:{error.code}"
