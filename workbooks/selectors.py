"""Workbook reads: each function returns what a page needs in a fixed number of queries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.postgres.search import SearchHeadline, SearchQueryField, SearchRank
from django.db import connection
from django.db.models import (
    BooleanField,
    Exists,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.models import User
from search.models import Entry
from sigma_playground.paging import Page

from .models import Featured, Tag, Workbook, related_key

SORTS = {
    "latest": ("-published_at", "-id"),
    "trending": ("-trending_score", "-id"),
    "favorites": ("-favorite_count", "-id"),
    "views": ("-view_count", "-id"),
}
API_ORDERINGS = {
    "-published_at": "latest",
    "trending": "trending",
    "-favorite_count": "favorites",
    "-view_count": "views",
}
# What a search keeps (the newest matches) and how deep any explore page goes: past this, readers
# are asked to narrow the search (docs/search.md).
SEARCH_RESULTS = 500
# A search looks for matches among the newest 10,000 published workbooks, then the newest 100,000,
# then all, stopping as soon as it has SEARCH_RESULTS.
SEARCH_WINDOWS = (10_000, 100_000)
_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)
_FAR_AHEAD = datetime(9999, 1, 1, tzinfo=UTC)
RELATED_SHOWN = 4
_WORD = re.compile(r"\w+", re.UNICODE)
# Markers PostgreSQL puts around matches; chosen so no description can contain them.
_START, _STOP = "\x02", "\x03"


def cards(queryset: QuerySet[Workbook]) -> QuerySet[Workbook]:
    """What a gallery card shows: the workbook and its author, in one query."""
    return queryset.select_related("author").defer(
        "description", "description_html", "search_vector"
    )


def published() -> QuerySet[Workbook]:
    return Workbook.objects.published()


def api_list() -> QuerySet[Workbook]:
    """What the API serialises per workbook: all its fields, the author and the tags."""
    return published().select_related("author").prefetch_related("tags").defer("search_vector")


def latest(limit: int = 12) -> list[Workbook]:
    return list(cards(published()).order_by(*SORTS["latest"])[:limit])


def trending(limit: int = 12) -> list[Workbook]:
    return list(
        cards(published().filter(trending_score__gt=0)).order_by(*SORTS["trending"])[:limit]
    )


def open_featurings() -> QuerySet[Featured]:
    now = timezone.now()
    return Featured.objects.filter(starts_at__lte=now).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    )


def featured_queryset(base: QuerySet[Workbook] | None = None) -> QuerySet[Workbook]:
    """Workbooks featured now, each once, in curated order, with the curator's note."""
    picks = open_featurings().filter(workbook=OuterRef("pk")).order_by("position", "-starts_at")
    return (
        (cards(published()) if base is None else base)
        .filter(Exists(picks))
        .annotate(
            feature_position=Subquery(picks.values("position")[:1]),
            featured_note=Subquery(picks.values("note")[:1]),
        )
        .order_by("feature_position", "-published_at", "-id")
    )


def featured_workbooks(limit: int = 12) -> list[Workbook]:
    """The home page's rail; the first is the workbook of the day."""
    return list(featured_queryset()[:limit])


def detail(slug: str, user) -> Workbook:
    """The workbook page's object, with author and tags; raises Workbook.DoesNotExist."""
    return (
        Workbook.objects.visible_to(user)
        .select_related("author")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .get(slug=slug)
    )


def related_queryset(workbook: Workbook, limit: int = RELATED_SHOWN) -> QuerySet[Workbook]:
    """The published workbooks sharing the most tags with this one, from the list kept for its set
    of tags (services.refresh_related): one indexed read of at most RELATED_KEPT rows, never a scan
    of the workbooks sharing a tag. Visibility is checked here too, so a workbook hidden since the
    list was computed is never shown. Reads the tags from `workbook.tags.all()` (prefetched by
    `detail`)."""
    key = related_key(tag.pk for tag in workbook.tags.all())
    return (
        cards(published().filter(related_listings__tag_set=key).exclude(pk=workbook.pk))
        .annotate(shared=F("related_listings__shared"))
        .order_by("-shared", "-trending_score", "-published_at", "-id")[:limit]
    )


def related(workbook: Workbook, limit: int = RELATED_SHOWN) -> list[Workbook]:
    if not workbook.tags.all():
        return []
    return list(related_queryset(workbook, limit))


def by_author(author: User) -> QuerySet[Workbook]:
    return cards(published().filter(author=author)).order_by(*SORTS["latest"])


def listed_tag(slug: str) -> Tag:
    """A tag that has a page: one with published workbooks; raises Tag.DoesNotExist.

    A tag used only by drafts answers exactly as no tag, so its page tells nobody it is in use.
    """
    return (
        Tag.objects.filter(slug=slug).filter(Exists(published().filter(tags=OuterRef("pk")))).get()
    )


def with_tag(tag: Tag) -> QuerySet[Workbook]:
    return cards(published().filter(tags=tag)).order_by(*SORTS["latest"])


def tags_with_counts(query: str = "") -> QuerySet[Tag]:
    tags = Tag.objects.filter(workbook_count__gt=0)
    if query.strip():
        tags = tags.filter(name__icontains=query.strip())
    # The id last: a total order for the API's cursor pages (names are unique, but not as a key).
    return tags.order_by("-workbook_count", "name", "id")


def popular_tags(limit: int = 20) -> list[Tag]:
    return list(tags_with_counts()[:limit])


# --- Search ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    query: str = ""
    tag: str = ""
    author: str = ""
    sort: str = ""  # one of SORTS; empty: by relevance when searching, else latest
    featured: bool = False


def search_terms(query: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(query)][:12]


def _tsquery(terms: list[str]) -> RawSQL:
    """The search query from the words (PostgreSQL's search_tsquery, search/migrations): every
    word must match; the last one as a prefix, since it may be half-typed (a stop word too:
    "revenue s" narrows); a word no workbook holds also matches its nearest known word ("revnue"
    finds revenue). In a sub-select, so it is worked out once per query, not per row."""
    return RawSQL(
        "(SELECT search_tsquery(%s::regconfig, %s::text[]))",
        (settings.SEARCH_CONFIG, terms),
        output_field=SearchQueryField(),
    )


class _Matches(Func):
    """vector @@ query, as a condition."""

    arg_joiner = " @@ "
    template = "(%(expressions)s)"
    output_field = BooleanField()


class TooDeep(Exception):
    """A page past the SEARCH_RESULTS a search or listing keeps: a narrower search finds it."""


def search_page(params: Search, number: int, size: int, base: QuerySet[Workbook] | None = None):
    """One numbered page of a search; past SEARCH_RESULTS, TooDeep, before any query: no page
    reads more rows than it shows plus a constant."""
    offset = (number - 1) * size
    if offset >= SEARCH_RESULTS:
        raise TooDeep
    shown = min(size, SEARCH_RESULTS - offset)
    rows = list(search(params, base)[offset : offset + shown + 1])
    return Page(
        items=rows[:shown],
        number=number,
        # Past the kept results there is no next page, only TooDeep.
        has_next=len(rows) > shown and offset + shown < SEARCH_RESULTS,
    )


def search(params: Search, base: QuerySet[Workbook] | None = None) -> QuerySet[Workbook]:
    """Published workbooks matching a search, in the order asked for.

    On PostgreSQL: the newest SEARCH_RESULTS matches in the narrow search table (search.Entry),
    ranked by the weighted vector (title, then tags, then the rest), or in the sort asked for,
    with a highlighted snippet (`headline`). Elsewhere: a case-insensitive match on the same
    fields, newest first. `base` narrows or widens what is fetched per row (default: what a card
    shows).
    """
    base = cards(published()) if base is None else base
    terms = search_terms(params.query)
    order = SORTS.get(params.sort)
    if terms and connection.vendor == "postgresql":
        return _full_text(params, terms, order, base)
    workbooks = base
    if params.tag:
        workbooks = workbooks.filter(_tagged(params.tag, OuterRef("pk")))
    if params.author:
        workbooks = workbooks.filter(author__username__lower=params.author.lower())
    if params.featured:
        workbooks = workbooks.filter(Exists(open_featurings().filter(workbook=OuterRef("pk"))))
    for term in terms:
        workbooks = workbooks.filter(
            Q(title__icontains=term)
            | Q(description_text__icontains=term)
            | Q(author__full_name__icontains=term)
            | Q(author__username__icontains=term)
            | Q(
                pk__in=Workbook.tags.through.objects.filter(tag__name__icontains=term).values(
                    "workbook_id"
                )
            )
        )
    return workbooks.order_by(*(order or SORTS["latest"]))


def _tagged(slug: str, workbook_id) -> Exists:
    # EXISTS on the tag's id (not a join): lets PostgreSQL intersect it with the text match
    # instead of walking every workbook of a popular tag.
    tag_id = Subquery(Tag.objects.filter(slug=slug).values("pk")[:1])
    return Exists(Workbook.tags.through.objects.filter(workbook_id=workbook_id, tag_id=tag_id))


def _newest_date(index: int) -> Subquery:
    """The date of the index-th newest published entry (the date index, read backwards)."""
    published = Entry.objects.filter(published_at__isnull=False).order_by("-published_at")
    return Subquery(published.values("published_at")[index : index + 1])


def _full_text(
    params: Search, terms: list[str], order: tuple[str, ...] | None, base: QuerySet[Workbook]
) -> QuerySet[Workbook]:
    # The candidates: the newest SEARCH_RESULTS matches, from the narrow search table, looked for
    # first among the newest published entries, then among more (SEARCH_WINDOWS), then all: the GIN
    # index's matches ANDed with the date index's range, so only matches in the window are read. A
    # word found in thousands of workbooks costs its matches in the first window, not all its
    # matches; a rare word costs its few matches. Ranking costs SEARCH_RESULTS rows at most.
    entries = Entry.objects.filter(_Matches(F("vector"), _tsquery(terms)))
    if params.tag:
        entries = entries.filter(_tagged(params.tag, OuterRef("workbook_id")))
    if params.author:
        entries = entries.filter(
            author_id__in=User.objects.filter(username__lower=params.author.lower()).values("pk")
        )
    if params.featured:
        entries = entries.filter(Exists(open_featurings().filter(workbook=OuterRef("workbook_id"))))
    parts, newer_than = [], None
    for window in SEARCH_WINDOWS:
        # Where the newest `window` published entries start.
        start = Coalesce(_newest_date(window - 1), Value(_LONG_AGO))
        part = entries.filter(published_at__gte=start)
        if newer_than is None:
            # A bound on both sides, though nothing is newer than the newest: PostgreSQL then
            # estimates the range as narrow (its values are unknown when it plans) and ANDs the
            # date index's range with the GIN match instead of reading every match of the word.
            part = part.filter(published_at__lte=Coalesce(_newest_date(0), Value(_FAR_AHEAD)))
        else:
            part = part.filter(published_at__lt=newer_than)
        parts.append(part)
        newer_than = start
    parts.append(entries.filter(published_at__lt=newer_than))
    sqls, params_ = [], []
    for part in parts:
        sql, part_params = (
            part.order_by("-published_at", "-workbook_id")
            .values("workbook_id")[:SEARCH_RESULTS]
            .query.sql_with_params()
        )
        sqls.append(f"({sql})")
        params_.extend(part_params)
    # Each part's matches are all newer than the next part's, and PostgreSQL starts a part (and
    # works out where its window starts) only while the LIMIT still wants rows.
    candidates = RawSQL(  # noqa: S611 - the ORM's SQL, every value a parameter
        f"SELECT workbook_id FROM ({' UNION ALL '.join(sqls)}) AS candidates LIMIT %s",  # noqa: S608
        (*params_, SEARCH_RESULTS),
    )
    query = _tsquery(terms)
    workbooks = base.filter(pk__in=candidates).annotate(
        rank=SearchRank(F("search_entry__vector"), query),
        headline=SearchHeadline(
            "description_text",
            query,
            config=settings.SEARCH_CONFIG,
            start_sel=_START,
            stop_sel=_STOP,
            max_words=30,
            min_words=12,
        ),
    )
    return workbooks.order_by(*(order or ("-rank", "-published_at", "-id")))


def snippet(workbook: Workbook, query: str, length: int = 180) -> SafeString:
    """The description around the first match, escaped, with matches in <mark>."""
    headline = getattr(workbook, "headline", None)
    if headline is not None:
        text = escape(headline)
        return mark_safe(text.replace(_START, "<mark>").replace(_STOP, "</mark>"))  # noqa: S308
    text = workbook.description_text or ""
    terms = search_terms(query)
    start = 0
    lowered = text.lower()
    positions = [lowered.find(term) for term in terms if lowered.find(term) >= 0]
    if positions:
        start = max(0, min(positions) - 40)
    excerpt = text[start : start + length]
    if terms:
        pattern = re.compile(
            "|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True)), re.IGNORECASE
        )
        # Split on matches in the raw text, then escape every piece: nothing typed can become markup.
        pieces, last = [], 0
        for match in pattern.finditer(excerpt):
            pieces.append(escape(excerpt[last : match.start()]))
            pieces.append(f"<mark>{escape(match.group())}</mark>")
            last = match.end()
        pieces.append(escape(excerpt[last:]))
        html = "".join(pieces)
    else:
        html = escape(excerpt)
    prefix = "… " if start else ""
    suffix = " …" if start + length < len(text) else ""
    return mark_safe(f"{prefix}{html}{suffix}")  # noqa: S308 - built from escaped text
