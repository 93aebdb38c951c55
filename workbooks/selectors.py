"""Workbook reads: each function returns what a page needs in a fixed number of queries."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.models import User

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
RANK_CANDIDATES = 500
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


def _tsquery(terms: list[str]) -> str:
    """Every word must match; the last one as a prefix, since it may be half-typed."""
    return " & ".join([*terms[:-1], f"{terms[-1]}:*"])


def search(params: Search, base: QuerySet[Workbook] | None = None) -> QuerySet[Workbook]:
    """Published workbooks matching a search, in the order asked for.

    On PostgreSQL: the stored, weighted search vector with a GIN index, ranked, and a highlighted
    snippet (`headline`). Elsewhere: a case-insensitive match on the same fields, newest first.
    `base` narrows or widens what is fetched per row (default: what a card shows).
    """
    base = cards(published()) if base is None else base
    workbooks = base
    if params.tag:
        # EXISTS on the tag's id (not a join): lets PostgreSQL intersect it with the text match
        # instead of walking every workbook of a popular tag.
        tag_id = Subquery(Tag.objects.filter(slug=params.tag).values("pk")[:1])
        through = Workbook.tags.through.objects.filter(workbook_id=OuterRef("pk"), tag_id=tag_id)
        workbooks = workbooks.filter(Exists(through))
    if params.author:
        workbooks = workbooks.filter(author__username__lower=params.author.lower())
    if params.featured:
        workbooks = workbooks.filter(Exists(open_featurings().filter(workbook=OuterRef("pk"))))
    terms = search_terms(params.query)
    order = SORTS.get(params.sort)
    if terms and connection.vendor == "postgresql":
        query = SearchQuery(_tsquery(terms), search_type="raw", config=settings.SEARCH_CONFIG)
        workbooks = workbooks.filter(search_vector=query)
        if order is None:
            # Ranking costs per matching row; a broad query matches thousands. Rank the newest
            # RANK_CANDIDATES matches only: the GIN index finds them, and a gallery favours fresh work.
            newest = workbooks.order_by("-published_at", "-id").values("pk")[:RANK_CANDIDATES]
            workbooks = base.filter(pk__in=Subquery(newest))
        workbooks = workbooks.annotate(
            rank=SearchRank(F("search_vector"), query),
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
    if terms:
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
