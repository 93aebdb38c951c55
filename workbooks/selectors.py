"""Workbook reads: each function returns what a page needs in a fixed number of queries."""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, replace

from django.conf import settings
from django.contrib.postgres.search import SearchHeadline, SearchQueryField, SearchRank
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    prefetch_related_objects,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.models import User
from search.models import Entry
from sigma_playground.models import Moderation
from sigma_playground.paging import Page

from . import cache as gallery_cache
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
# What a search keeps (the newest matches, then ranked) and how deep any explore page goes: past
# this, readers are asked to narrow the search. 500 cost twice the time of 200 at the database
# (10 against 5 ms for a common word at 50,000 workbooks, docs/search.md).
SEARCH_RESULTS = 200
# A last word this short, after others, narrows the other words' matches instead of being looked
# up in the full-text index, where "s:*" expands to every indexed word starting with "s".
SHORT_PREFIX = 2
# How long a search's query (its typo corrections) is kept, within one version of the gallery.
QUERY_TIMEOUT = 3600
RELATED_SHOWN = 4
# "Did you mean": how many of the newest titles and most used tags lend their words, and how
# close (difflib's ratio) a known word must be to stand for a word that found nothing.
SUGGESTION_TITLES = 500
SUGGESTION_TAGS = 500
SUGGESTION_CUTOFF = 0.7
_WORD = re.compile(r"\w+", re.UNICODE)
# Markers PostgreSQL puts around matches; chosen so no description can contain them.
_START, _STOP = "\x02", "\x03"


def cards(queryset: QuerySet[Workbook]) -> QuerySet[Workbook]:
    """What a gallery card shows: the workbook and its author, in one query."""
    return queryset.select_related("author").defer("description", "description_html")


def published() -> QuerySet[Workbook]:
    """What every reader may open (`public`): what is favorited and commented on, collections."""
    return Workbook.objects.published()


def listed() -> QuerySet[Workbook]:
    """What the gallery lists (models.listed): home, explore and search, tag pages, profiles,
    feeds, related lists. An unlisted workbook opens from its link only."""
    return Workbook.objects.listed()


def api_list(base: QuerySet[Workbook] | None = None) -> QuerySet[Workbook]:
    """What the API serialises per workbook: all its fields, the author and the tags; of
    `published()` by default (a workbook just favorited), of `listed()` for the lists."""
    return (published() if base is None else base).select_related("author").prefetch_related("tags")


def api_listed() -> QuerySet[Workbook]:
    """`api_list` of what the gallery lists: the API's workbook, featured, author and favorites
    lists."""
    return api_list(listed())


def latest(limit: int = 12) -> list[Workbook]:
    return list(cards(listed()).order_by(*SORTS["latest"])[:limit])


def trending(limit: int = 12) -> list[Workbook]:
    return list(cards(listed().filter(trending_score__gt=0)).order_by(*SORTS["trending"])[:limit])


def open_featurings() -> QuerySet[Featured]:
    return Featured.objects.open()


def featured_queryset(base: QuerySet[Workbook] | None = None) -> QuerySet[Workbook]:
    """Workbooks featured now, each once, in curated order, with the curator's note."""
    picks = open_featurings().filter(workbook=OuterRef("pk")).order_by("position", "-starts_at")
    return (
        (cards(listed()) if base is None else base)
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


HOME_FEATURED = 12  # the workbook of the day and the featured rail
HOME_TRENDING = 8
HOME_LATEST = 12


@dataclass(frozen=True)
class HomeListings:
    workbook_of_the_day: Workbook | None
    featured: list[Workbook]
    trending: list[Workbook]
    latest: list[Workbook]


def home_listings() -> HomeListings:
    """The home page's sections, each workbook in one of them only: the most prominent it has a
    place in (workbook of the day, then featured, trending, latest). A section still fills up to
    its size: it reads as many more candidates as the sections above it show, in the same query.
    Four queries: the featured picks, trending, latest, and the workbook of the day's tags."""
    featured = featured_workbooks(HOME_FEATURED)
    shown = {workbook.pk for workbook in featured}
    hot = _besides(trending(HOME_TRENDING + len(shown)), shown, HOME_TRENDING)
    shown |= {workbook.pk for workbook in hot}
    newest = _besides(latest(HOME_LATEST + len(shown)), shown, HOME_LATEST)
    return HomeListings(
        workbook_of_the_day=with_tags(featured[0]) if featured else None,
        featured=featured[1:],
        trending=hot,
        latest=newest,
    )


def _besides(rows: list[Workbook], shown: set[int], limit: int) -> list[Workbook]:
    return [workbook for workbook in rows if workbook.pk not in shown][:limit]


def detail(slug: str, user, *, tags: bool = True) -> Workbook:
    """The workbook page's object, with author and (unless `tags` is False: `with_tags` reads them
    when needed) its tags; raises Workbook.DoesNotExist."""
    found = Workbook.objects.visible_to(user).select_related("author")
    if tags:
        found = found.prefetch_related(_tags_by_name())
    return found.get(slug=slug)


def visible(pk: int, user) -> Workbook:
    """The workbook `pk` if `user` may open it (the API's /workbooks/{id}/ views); raises
    Workbook.DoesNotExist."""
    return Workbook.objects.visible_to(user).get(pk=pk)


def editable(slug: str, user, action: str = "change") -> Workbook:
    """The edit and delete pages' object, with author and tags, if `user` may change it (with
    action="delete": delete it); raises Workbook.DoesNotExist otherwise, as for one that is not
    there."""
    return (
        Workbook.objects.editable_by(user, action)
        .select_related("author")
        .prefetch_related(_tags_by_name())
        .get(slug=slug)
    )


def _tags_by_name() -> Prefetch:
    return Prefetch("tags", queryset=Tag.objects.order_by("name"))


def with_tags(workbook: Workbook) -> Workbook:
    """`workbook` with its tags by name (one query, none if they were read already)."""
    prefetch_related_objects([workbook], _tags_by_name())
    return workbook


def related_queryset(workbook: Workbook, limit: int = RELATED_SHOWN) -> QuerySet[Workbook]:
    """The published workbooks sharing the most tags with this one, from the list kept for its set
    of tags (services.refresh_related): one indexed read of at most RELATED_KEPT rows, never a scan
    of the workbooks sharing a tag. Visibility is checked here too, so a workbook hidden since the
    list was computed is never shown. Reads the tags from `workbook.tags.all()` (prefetched by
    `detail`)."""
    key = related_key(tag.pk for tag in workbook.tags.all())
    return (
        cards(listed().filter(related_listings__tag_set=key).exclude(pk=workbook.pk))
        .annotate(shared=F("related_listings__shared"))
        .order_by("-shared", "-trending_score", "-published_at", "-id")[:limit]
    )


def related(workbook: Workbook, limit: int = RELATED_SHOWN) -> list[Workbook]:
    if not workbook.tags.all():
        return []
    return list(related_queryset(workbook, limit))


def by_author(author: User, *, unlisted: bool = False) -> QuerySet[Workbook]:
    """The author's listed workbooks, newest first; `unlisted`: their unlisted ones too (their
    own profile, which marks them)."""
    if not unlisted:
        return cards(listed().filter(author=author)).order_by(*SORTS["latest"])
    # `marked_unlisted`: the card's "Unlisted" badge (inc/draft_badge.html), on these rows only,
    # never on a shared list's (a collection may hold an unlisted workbook).
    marked = ExpressionWrapper(Q(listed=False), output_field=BooleanField())
    return cards(published().filter(author=author).annotate(marked_unlisted=marked)).order_by(
        *SORTS["latest"]
    )


def by_author_counted(author: User, *, unlisted: bool = False) -> QuerySet[Workbook]:
    """by_author, each row carrying `author_workbook_count` (all the author's workbooks it lists,
    whatever page the row is on) for the profile's header: a subquery the database runs once, so
    the count costs no query of its own."""
    count = (
        (published() if unlisted else listed())
        .filter(author=author)
        .order_by()
        .values("author")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return by_author(author, unlisted=unlisted).annotate(author_workbook_count=Subquery(count))


def pinned(author: User) -> list[Workbook]:
    """The author's pinned workbooks that are still listed, in the order they pinned them (one
    query, none without pins)."""
    ids = author.pinned_workbook_ids
    if not ids:
        return []
    rows = {row.pk: row for row in cards(listed().filter(author=author, pk__in=ids))}
    return [rows[pk] for pk in ids if pk in rows]


def published_among(author_id: int, ids: list[int]) -> set[int]:
    """Which of these ids are the author's listed workbooks (accounts.profiles' pins: a pin shows
    on the profile, which lists no unlisted workbook)."""
    return set(listed().filter(author_id=author_id, pk__in=ids).values_list("pk", flat=True))


PINNABLE_SHOWN = 100


def pinnable(author_id: int, pins: list[int]) -> list[tuple[int, str]]:
    """The author's listed workbooks a form offers to pin, (id, title): the latest ones, then
    any of their pins older than those (one more query, only then)."""
    rows = listed().filter(author_id=author_id).order_by(*SORTS["latest"])
    latest = list(rows.values_list("pk", "title")[:PINNABLE_SHOWN])
    offered = {pk for pk, _ in latest}
    older = [pk for pk in pins if pk not in offered]
    if older:
        latest += rows.filter(pk__in=older).values_list("pk", "title")
    return latest


def own_published(slug: str, author: User) -> Workbook:
    """The author's own listed workbook with this slug (one they may pin); raises
    Workbook.DoesNotExist for anyone else's, a draft, an unlisted one or none."""
    return listed().get(author_id=author.pk, slug=slug)


DRAFT_ORDER = ("-updated_at", "-id")


def drafts_of(author: User) -> QuerySet[Workbook]:
    """The author's drafts and their workbooks moderators hold or hide (which no public list
    shows), last changed first: theirs alone to see."""
    unseen = Q(status=Workbook.Status.DRAFT) | ~Q(moderation=Moderation.VISIBLE)
    return cards(Workbook.objects.filter(unseen, author=author)).order_by(*DRAFT_ORDER)


def listed_tag(slug: str) -> Tag:
    """A tag that has a page: one with listed workbooks; raises Tag.DoesNotExist.

    A tag used only by drafts (or unlisted workbooks) answers exactly as no tag, so its page
    tells nobody it is in use.
    """
    return Tag.objects.filter(slug=slug).filter(Exists(listed().filter(tags=OuterRef("pk")))).get()


def with_tag(tag: Tag) -> QuerySet[Workbook]:
    return cards(listed().filter(tags=tag)).order_by(*SORTS["latest"])


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


@dataclass(frozen=True)
class _Query:
    """A search's tsquery text: `match` is looked up in the full-text index; `narrow` (a short
    last word after others), only checked on the rows `match` finds; `ranked`, what ranks and
    highlights them (every part as built: `match` leaves out a prefix a shorter one covers)."""

    match: str | None
    narrow: str | None = None
    tag_id: int | None = None  # the tag filtered on, if any
    ranked: str | None = None

    @property
    def whole(self) -> str | None:
        if self.ranked is not None:
            return self.ranked
        parts = [part for part in (self.match, self.narrow) if part]
        return " & ".join(f"( {part} )" for part in parts) or None


# A part that is only prefixes ORed ('revenue':* | 'revenu':*), as tsquery text writes them.
_PREFIX = r"'((?:[^'\\]|''|\\.)*)':\*"
_PREFIXES = re.compile(rf"{_PREFIX}(?: \| {_PREFIX})*")
_ONE_PREFIX = re.compile(_PREFIX)


def _without_covered_prefixes(part: str) -> str:
    """The same matches with fewer tests: of prefixes ORed, one that a shorter one covers is left
    out ('revenue':* | 'revenu':* is 'revenu':*). A common word's search tests its newest entries
    one by one, each with every prefix."""
    if not _PREFIXES.fullmatch(part):
        return part
    written = [m.group(0) for m in _ONE_PREFIX.finditer(part)]
    words = [re.sub(r"''|\\(.)", lambda m: m.group(1) or "'", w[1:-3]) for w in written]
    kept = [
        text
        for i, (text, word) in enumerate(zip(written, words, strict=True))
        if not any(
            (other != word and word.startswith(other)) or (other == word and j < i)
            for j, other in enumerate(words)
        )
    ]
    return " | ".join(kept)


def _query(terms: list[str], tag: str = "") -> _Query:
    """The search query from the words, built once per search by PostgreSQL's search_query_parts
    (search/migrations/0002) and cached by the words within the gallery's version (a new word
    published can change a correction): every word must match; the last one as a prefix, since
    it may be half-typed (a stop word too: "revenue s" narrows); a word no workbook holds also
    matches its nearest known word ("revnue" finds revenue). With the id of the tag filtered on,
    if any, so the search's plan knows how common the tag is: kept apart from the words', so the
    same words with a tag (or another) are not built again."""
    version = gallery_cache.version()
    digest = hashlib.sha256("\0".join([settings.SEARCH_CONFIG, *terms]).encode()).hexdigest()
    words_key = f"search:{version}:words:{digest[:32]}"
    tag_key = f"search:{version}:tag:{hashlib.sha256(tag.encode()).hexdigest()[:32]}"
    found = cache.get_many([words_key, tag_key] if tag else [words_key])
    words, tagged = found.get(words_key), found.get(tag_key, (None,))
    if words is None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT search_query_parts(%s::regconfig, %s::text[]),"
                " (SELECT id FROM workbooks_tag WHERE slug = %s)",
                (settings.SEARCH_CONFIG, terms, tag),
            )
            parts, tag_id = cursor.fetchone()
        parts = parts or []
        head, last = [p for p in parts[:-1] if p], parts[-1] if parts else None
        every = " & ".join(f"( {p} )" for p in [*head, last] if p) or None
        if head and last and len(terms[-1]) <= SHORT_PREFIX:
            match = " & ".join(f"( {_without_covered_prefixes(p)} )" for p in head)
            words = _Query(match, last, None, every)
        else:
            match = " & ".join(f"( {_without_covered_prefixes(p)} )" for p in [*head, last] if p)
            words = _Query(match or None, None, None, every)
        missing: dict[str, object] = {words_key: words}
        if tag:
            tagged = (tag_id,)
            missing[tag_key] = tagged
        cache.set_many(missing, QUERY_TIMEOUT)
    elif tag and tag_key not in found:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM workbooks_tag WHERE slug = %s", [tag])
            row = cursor.fetchone()
        tagged = (row[0] if row else None,)
        cache.set(tag_key, tagged, QUERY_TIMEOUT)
    return replace(words, tag_id=tagged[0] if tag else None)


def _tsquery(text: str) -> Cast:
    # A constant in the SQL (not a sub-select): PostgreSQL plans with the words' frequencies.
    return Cast(Value(text), SearchQueryField())


class _Matches(Func):
    """vector @@ query, as a condition."""

    arg_joiner = " @@ "
    template = "(%(expressions)s)"
    output_field = BooleanField()


class TooDeep(Exception):
    """A page past the SEARCH_RESULTS a search or listing keeps: a narrower search finds it."""


def refuse_past_kept_results(number: int, size: int) -> None:
    """TooDeep if page `number` of `size` results starts past the SEARCH_RESULTS a search keeps.
    The one place that decides it, before any query: the explore page (through `search_page`)
    and the API's ranked pages ask here."""
    if (number - 1) * size >= SEARCH_RESULTS:
        raise TooDeep(
            f"A search lists its first {SEARCH_RESULTS} results only: refine it "
            "(more words, a tag or an author) to find more."
        )


def _suggestion_words() -> set[str]:
    """The words a correction may use: those of the most used tags and the newest titles, as
    people wrote them (the search's own vocabulary holds stems, which read badly in a link)."""
    names = tags_with_counts().values_list("name", flat=True)[:SUGGESTION_TAGS]
    titles = listed().order_by(*SORTS["latest"]).values_list("title", flat=True)
    words: set[str] = set()
    for text in [*names, *titles[:SUGGESTION_TITLES]]:
        words.update(word.lower() for word in _WORD.findall(text) if len(word) > 2)
    return words


def did_you_mean(query: str) -> str:
    """The query with each unknown word replaced by the nearest word of the gallery's titles and
    tags, or "" when no word is changed. Asked only when a search found nothing, so PostgreSQL's
    own typo tolerance (docs/search.md) has already failed: this is the looser, slower second try
    (two queries), the same on SQLite, where the search has no typo tolerance at all."""
    words = _WORD.findall(query.lower())
    if not words:
        return ""
    known = _suggestion_words()
    corrected = [
        word
        if word in known
        else next(iter(difflib.get_close_matches(word, known, n=1, cutoff=SUGGESTION_CUTOFF)), word)
        for word in words
    ]
    return " ".join(corrected) if corrected != words else ""


def search_page(params: Search, number: int, size: int, base: QuerySet[Workbook] | None = None):
    """One numbered page of a search; past SEARCH_RESULTS, TooDeep, before any query: no page
    reads more rows than it shows plus a constant."""
    refuse_past_kept_results(number, size)
    offset = (number - 1) * size
    shown = min(size, SEARCH_RESULTS - offset)
    rows = list(search(params, base, window=offset + shown + 1)[offset : offset + shown + 1])
    return Page(
        items=rows[:shown],
        number=number,
        # Past the kept results there is no next page, only TooDeep.
        has_next=len(rows) > shown and offset + shown < SEARCH_RESULTS,
    )


def search(
    params: Search, base: QuerySet[Workbook] | None = None, window: int | None = None
) -> QuerySet[Workbook]:
    """Listed workbooks matching a search, in the order asked for.

    On PostgreSQL: the newest SEARCH_RESULTS matches in the narrow search table (search.Entry),
    ranked by the weighted vector (title, then tags, then the rest), or in the sort asked for,
    with a highlighted snippet (`headline`). Elsewhere: a case-insensitive match on the same
    fields, newest first. `base` narrows or widens what is fetched per row (default: what a card
    shows). `window`: how many of the ranked results the caller reads at most (a page's offset,
    its size and one more); ranked by relevance, only those are read as workbook rows.
    """
    base = cards(listed()) if base is None else base
    terms = search_terms(params.query)
    order = SORTS.get(params.sort)
    if terms and connection.vendor == "postgresql":
        return _full_text(params, terms, order, base, window)
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
    if terms:
        # As on PostgreSQL, a search keeps its newest SEARCH_RESULTS matches and orders those.
        newest = workbooks.order_by(*SORTS["latest"]).values("pk")[:SEARCH_RESULTS]
        workbooks = base.filter(pk__in=newest)
    return workbooks.order_by(*(order or SORTS["latest"]))


def _tagged(slug: str, workbook_id) -> Exists:
    # EXISTS on the tag's id (not a join): lets PostgreSQL intersect it with the text match
    # instead of walking every workbook of a popular tag.
    tag_id = Subquery(Tag.objects.filter(slug=slug).values("pk")[:1])
    return Exists(Workbook.tags.through.objects.filter(workbook_id=workbook_id, tag_id=tag_id))


def _full_text(
    params: Search,
    terms: list[str],
    order: tuple[str, ...] | None,
    base: QuerySet[Workbook],
    window: int | None = None,
) -> QuerySet[Workbook]:
    query = _query(terms, params.tag)
    ranked_by = query.whole  # never None when something matches: it holds `match`
    if query.match is None or ranked_by is None or (params.tag and query.tag_id is None):
        # Nothing searchable was typed (say, "_"), or no such tag: no rows, in the order asked for
        # (a keyset page needs one).
        return base.none().order_by(*(order or SORTS["latest"]))
    # The candidates: the newest SEARCH_RESULTS matches in the narrow search table. With the query
    # a constant, PostgreSQL chooses by the words' frequencies: for a common word, it walks the
    # date index backwards and stops at the SEARCH_RESULTS-th match; for a rare one, it reads its
    # few matches from the GIN index and sorts them. Ranking costs SEARCH_RESULTS rows at most.
    entries = Entry.objects.filter(
        _Matches(F("vector"), _tsquery(query.match)), published_at__isnull=False
    )
    if query.narrow:
        # IS TRUE: a condition no index answers, so it is checked on the other words' matches.
        entries = entries.filter(
            _IsTrue(_Matches(F("vector"), _tsquery(query.narrow)), output_field=BooleanField())
        )
    if params.tag:
        # The entry's own tag ids: tested on the row already read, or a GIN match of its own.
        # Unqualified: this sub-select's only table with the column is search_entry.
        entries = entries.filter(
            RawSQL("tags @> %s::integer[]", ([query.tag_id],), output_field=BooleanField())
        )
    if params.author:
        entries = entries.filter(
            author_id__in=User.objects.filter(username__lower=params.author.lower()).values("pk")
        )
    if params.featured:
        entries = entries.filter(Exists(open_featurings().filter(workbook=OuterRef("workbook_id"))))
    candidates = entries.order_by("-published_at", "-workbook_id")
    whole = _tsquery(ranked_by)
    chosen: RawSQL | QuerySet[Entry, int]
    if order is None and window is not None:
        # Ranked in the search table, on the vectors the walk has read: only the `window` best
        # of the kept matches become workbook, author and entry rows (a page's 25, not 200).
        # The same rank and ties as the order below, so the rows are the page's.
        newest = candidates.values("workbook_id", "published_at", "vector")[:SEARCH_RESULTS]
        kept, kept_params = newest.query.sql_with_params()
        chosen = RawSQL(  # noqa: S611 - the ORM's SQL, values as parameters
            f"SELECT kept.workbook_id FROM ({kept}) kept ORDER BY "  # noqa: S608
            "ts_rank(kept.vector, %s::tsquery) DESC, kept.published_at DESC, "
            "kept.workbook_id DESC LIMIT %s",
            (*kept_params, ranked_by, max(0, min(window, SEARCH_RESULTS))),
        )
    else:
        chosen = candidates.values_list("workbook_id", flat=True)[:SEARCH_RESULTS]
    workbooks = base.filter(pk__in=chosen).annotate(
        rank=SearchRank(F("search_entry__vector"), whole),
        headline=SearchHeadline(
            "description_text",
            whole,
            config=settings.SEARCH_CONFIG,
            start_sel=_START,
            stop_sel=_STOP,
            max_words=30,
            min_words=12,
        ),
    )
    # Ties by the entry's date, as the window above breaks them: the workbook's own date can differ
    # from its entry's until the entry is made again, and a page must hold the window's rows.
    return workbooks.order_by(*(order or ("-rank", "-search_entry__published_at", "-id")))


class _IsTrue(Func):
    template = "(%(expressions)s) IS TRUE"


def snippet(workbook: Workbook, query: str, length: int = 180) -> SafeString:
    """The description around the first match, escaped, with matches in <mark>."""
    headline = getattr(workbook, "headline", None)
    if headline is not None:
        marked = escape(headline)
        return mark_safe(marked.replace(_START, "<mark>").replace(_STOP, "</mark>"))  # noqa: S308
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
        pieces: list[str] = []
        last = 0
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
