"""Workbook actions: publish, edit, delete, tag, feature, count views. Shared by pages, API and admin."""

from __future__ import annotations

import bisect
import hashlib
import heapq
import re
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify

from accounts import verification
from accounts.models import User
from sigma_playground import jobs
from sigma_playground.cache import counted
from sigma_playground.http import client_address
from sigma_playground.models import Moderation, clean_moderation
from sigma_playground.observability import metrics

from . import images, markdown, sigma, signals
from .cache import gallery_changed, object_changed
from .models import (
    DailyActivity,
    DailyReferrer,
    Featured,
    PendingView,
    RelatedWorkbook,
    Tag,
    Workbook,
    listed,
    related_key,
)

MAX_TAGS = 8
TAG_PATTERN = re.compile(r"^[\w][\w +#.-]{0,39}$")
VIEW_WINDOW = timedelta(hours=24)
BOT_USER_AGENT = re.compile(
    r"bot|crawl|spider|slurp|preview|facebookexternalhit|embedly|curl|wget|python-requests|"
    r"httpx|go-http-client|java/|headless|lighthouse|pingdom|monitor",
    re.IGNORECASE,
)
TRENDING_DAYS = 7
TRENDING_DAILY_DECAY = 0.7  # yesterday's activity counts 70% of today's, and so on
TRENDING_FAVORITE_WEIGHT = 5  # one favorite says more than one view
# How long daily activity and referrers are kept: the longest period authors' insights show.
ACTIVITY_KEPT_DAYS = 90
# A domain as a referrer is kept: letters, digits and hyphens between dots (IDNA's ASCII form).
DOMAIN_PATTERN = re.compile(r"^[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})*$")
# Distinct referring domains kept per workbook per day. A Referer is whatever the client sends, so
# without a cap one visitor could add a row per made-up domain; views from domains beyond it are
# added up under OTHER_REFERRERS, which DOMAIN_PATTERN never matches, so no real domain is mistaken
# for it.
REFERRER_DOMAINS_PER_DAY = 50
OTHER_REFERRERS = "(other)"


# --- Validation shared by forms and serializers -----------------------------------------------------


def parse_embed_url(raw: str) -> sigma.SigmaUrl:
    try:
        return sigma.parse(raw, settings.SIGMA_EMBED_HOSTS)
    except sigma.InvalidSigmaUrl as error:
        raise ValidationError(str(error), code="invalid_sigma_url") from None


def clean_tag_names(names: Iterable[str]) -> list[str]:
    """Trimmed, de-duplicated (whatever the case) tag names; raises ValidationError."""
    cleaned: dict[str, str] = {}
    for name in names:
        name = " ".join(str(name).split())
        if not name:
            continue
        if not TAG_PATTERN.match(name) or not slugify(name):
            raise ValidationError(
                f"“{name[:40]}” is not a valid tag: use up to 40 letters, digits, spaces or - + # .",
                code="invalid_tag",
            )
        cleaned.setdefault(name.lower(), name)
    if len(cleaned) > MAX_TAGS:
        raise ValidationError(f"Use at most {MAX_TAGS} tags.", code="too_many_tags")
    return list(cleaned.values())


# --- Writes ---------------------------------------------------------------------------------------


def _slug_candidates(workbook: Workbook) -> Iterator[str]:
    """The addresses to try, best first. A draft's address is its own: the title's slug plus a random
    suffix, so it never depends on (or reveals) anyone else's drafts. On first publication the
    workbook takes the title's bare slug when nothing holds it; only workbooks that were once
    published can, so a suffix there says nothing a reader could not have seen. After that the slug
    never changes."""
    base = slugify(workbook.title)[:100].strip("-") or "workbook"
    own = workbook.slug  # read now: trying a candidate overwrites it
    if (
        workbook.is_published
        and not Workbook.objects.filter(slug=base).exclude(pk=workbook.pk).exists()
    ):
        yield base
    if own:
        yield own
    while True:
        yield f"{base}-{secrets.token_hex(3)}"


def _save(workbook: Workbook) -> None:
    """Save; a new workbook, or one published for the first time, gets its slug here."""
    if workbook.pk is not None and not getattr(workbook, "_first_published", False):
        workbook.save()
        return
    candidates = _slug_candidates(workbook)
    for attempt in range(3):
        workbook.slug = next(candidates)
        try:
            with transaction.atomic():
                workbook.save()
            return
        except IntegrityError:  # the same slug taken meanwhile: the next candidate
            if attempt == 2:
                raise


def _apply(
    workbook: Workbook, *, title: str, description: str, embed_url: str, status: str
) -> None:
    parsed = parse_embed_url(embed_url)
    workbook.title = title
    workbook.description = description
    workbook.description_html, workbook.description_text = markdown.render(description)
    workbook.embed_url = parsed.url
    workbook.embed_kind = parsed.kind.value
    workbook.sigma_id = parsed.embed_id or parsed.workbook_id
    workbook.status = status
    if status == Workbook.Status.PUBLISHED and workbook.published_at is None:
        workbook.published_at = timezone.now()
        workbook._first_published = True


def refresh_tag_counts(tag_ids: Iterable[int] | None = None) -> None:
    """Recount the workbooks the gallery lists (`listed`) per tag: for the given tags, or all."""
    through = Workbook.tags.through
    counts = (
        through.objects.filter(listed("workbook__"), tag_id=OuterRef("pk"))
        .order_by()
        .values("tag_id")
        .annotate(total=Count("*"))
        # django-stubs resolves values() against the model's fields only, not this annotation.
        .values("total")  # type: ignore[misc]
    )
    tags = Tag.objects.all() if tag_ids is None else Tag.objects.filter(pk__in=list(tag_ids))
    tags.update(workbook_count=Coalesce(Subquery(counts), 0))
    gallery_changed()


def tag_ids_of(workbooks: Iterable[int]) -> set[int]:
    through = Workbook.tags.through
    return set(through.objects.filter(workbook_id__in=workbooks).values_list("tag_id", flat=True))


def set_tags(workbook: Workbook, names: Iterable[str]) -> None:
    tags = []
    for name in clean_tag_names(names):
        tag = Tag.objects.filter(name__lower=name.lower()).first()
        if tag is None:
            slug = slugify(name)[:50]
            if Tag.objects.filter(slug=slug).exists():  # "C#" and "C" slugify alike
                slug = f"{slug[:43]}-{secrets.token_hex(3)}"
            try:
                with transaction.atomic():
                    tag = Tag.objects.create(name=name, slug=slug)
            except IntegrityError:  # created meanwhile by someone else
                tag = Tag.objects.get(name__lower=name.lower())
        tags.append(tag)
    before = tag_ids_of([workbook.pk])
    workbook.tags.set(tags)
    refresh_tag_counts(before | {tag.pk for tag in tags})


@transaction.atomic
def create_workbook(
    author: User,
    *,
    title: str,
    description: str = "",
    embed_url: str,
    tags: Iterable[str] = (),
    status: str = Workbook.Status.DRAFT,
    listed: bool = True,
) -> Workbook:
    """`listed`: False makes it unlisted (staff only: the admin, the demo's seed), opened from its
    link but in no list, and never announced to its author's followers."""
    if status == Workbook.Status.PUBLISHED:
        verification.require_verified(author)
    workbook = Workbook(author=author, listed=listed)
    _apply(workbook, title=title, description=description, embed_url=embed_url, status=status)
    _save(workbook)
    set_tags(workbook, tags)
    refresh_search_entries(Workbook.objects.filter(pk=workbook.pk))
    related_changed([workbook.pk])
    _announce_if_first_published(workbook)
    return workbook


@transaction.atomic
def update_workbook(
    workbook: Workbook,
    *,
    tags: Iterable[str] | None = None,
    listed: bool | None = None,
    **fields,
) -> Workbook:
    """Change a workbook as its author (or a moderator) edited it. `listed` (staff only: the
    admin) lists or unlists it: it comes into or leaves every list at once (_visibility_changed).
    `workbook` is as stored: what changed is told from it (the admin's form, which copies its values
    onto the object first, gives the stored `listed` and `embed_url` back)."""
    listed_before = workbook.listed
    if listed is not None:
        workbook.listed = listed
    values = {
        name: fields.get(name, getattr(workbook, name))
        for name in ("title", "description", "embed_url", "status")
    }
    published = Workbook.Status.PUBLISHED
    if values["status"] == published and workbook.status != published:
        # Publishing waits for a verified address; a published workbook may still be edited.
        verification.require_verified(workbook.author)
    if values["status"] == Workbook.Status.PUBLISHED and not workbook.is_published:
        refuse_publishing_moderated(workbook)
    approved_for = workbook.embed_url
    # What related workbooks depend on: its tags and whether it is published.
    related_before = (workbook.status, tag_ids_of([workbook.pk]))
    _apply(workbook, **values)
    _save(workbook)
    if workbook.embed_url != approved_for:
        # Staff approved what the old URL showed, not whatever the new one points at.
        withdraw_secure_embed(Workbook.objects.filter(pk=workbook.pk))
    if tags is not None:
        set_tags(workbook, tags)
    else:  # the status may have changed
        refresh_tag_counts(tag_ids_of([workbook.pk]))
    refresh_search_entries(Workbook.objects.filter(pk=workbook.pk))
    if workbook.listed != listed_before:
        # Tag counts, related lists, the search entry and the kept pages, as for a moderation.
        _visibility_changed([workbook.pk])
    elif (workbook.status, tag_ids_of([workbook.pk])) != related_before:
        related_changed([workbook.pk])
    _announce_if_first_published(workbook)
    return workbook


def _announce_if_first_published(workbook: Workbook) -> None:
    if getattr(workbook, "_first_published", False):
        del workbook._first_published
        signals.workbook_published.send(sender=Workbook, workbook=workbook)
        transaction.on_commit(metrics.workbooks_published.inc)


def delete_workbook(workbook: Workbook) -> None:
    _delete_workbooks([workbook.pk])


@transaction.atomic
def _delete_workbooks(ids: list[int]) -> None:
    """Delete these workbooks: their tags are counted again and the related lists that held them
    made again once, however many there are."""
    ids = sorted(ids)
    images.hold_thumbnails(ids)  # before any of their rows is locked
    tag_ids = tag_ids_of(ids)
    # The lists they are in lose them with the cascade below: they are recomputed once they are gone.
    related_changed([], holding=related_lists_holding(ids))
    # The cascade would delete daily activity before the workbook rows; taking pending views, then
    # the rows by id, first keeps the order the view flush and favoriting use, so neither deadlocks
    # this.
    PendingView.objects.filter(workbook_id__in=ids).delete()
    rows = Workbook.objects.filter(pk__in=ids)
    list(rows.order_by("pk").select_for_update().values_list("pk", flat=True))
    rows.delete()
    refresh_tag_counts(tag_ids)


def refresh_search_entries(workbooks: QuerySet[Workbook]) -> None:
    """Recompute what search reads (PostgreSQL), inside the caller's transaction: each workbook's
    search entry (search.models.Entry, with its tag ids for a search's tag filter) and, for a
    published one, any new words in the typo vocabulary.

    Title weighs most, then tags, then the description and the author's names. The entry holds a
    date only while the gallery lists the workbook (published by an active author, neither held
    nor hidden, nor unlisted: as `listed()` has it), so drafts, deactivated authors' workbooks,
    moderated and unlisted ones never reach the search's index range, nor their words the typo
    vocabulary.
    """
    if connection.vendor != "postgresql":
        return
    ids_sql, ids_params = workbooks.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH changed AS (
            INSERT INTO search_entry (workbook_id, author_id, published_at, tags, vector)
            SELECT w.id, w.author_id,
                   CASE WHEN w.status = %s AND u.is_active AND w.moderation = %s AND w.listed
                        THEN w.published_at END,
                   ARRAY(SELECT wt.tag_id FROM workbooks_workbook_tags wt
                         WHERE wt.workbook_id = w.id ORDER BY 1),
                   setweight(to_tsvector(%s::regconfig, coalesce(w.title, '')), 'A')
                   || setweight(to_tsvector(%s::regconfig, coalesce(
                          (SELECT string_agg(t.name, ' ') FROM workbooks_workbook_tags wt
                           JOIN workbooks_tag t ON t.id = wt.tag_id
                           WHERE wt.workbook_id = w.id), '')), 'B')
                   || setweight(to_tsvector(%s::regconfig, coalesce(w.description_text, '')), 'C')
                   || setweight(to_tsvector(%s::regconfig, coalesce(u.full_name, '')), 'C')
                   || setweight(to_tsvector(%s::regconfig, u.username), 'C')
            FROM workbooks_workbook w JOIN accounts_user u ON u.id = w.author_id
            WHERE w.id IN ({ids_sql})
            ON CONFLICT (workbook_id) DO UPDATE SET author_id = EXCLUDED.author_id,
                published_at = EXCLUDED.published_at, tags = EXCLUDED.tags, vector = EXCLUDED.vector
            RETURNING published_at, vector
            ),
            -- The words of published workbooks only (a draft's words must not change what a
            -- search corrects).
            words AS (
            SELECT DISTINCT unnest(tsvector_to_array(vector)) AS lexeme FROM changed
            WHERE published_at IS NOT NULL
            ),
            -- Those already known are locked until this transaction ends, so the vocabulary
            -- triggers cannot forget one meanwhile: a concurrent unpublish of another holder
            -- waits in search_lexeme_forget (FOR UPDATE) and then sees this entry committed. A
            -- word such an unpublish has already removed is not locked (it is gone once the
            -- unpublish commits) and is added again below.
            held AS MATERIALIZED (
            SELECT l.lexeme FROM search_lexeme l WHERE l.lexeme IN (SELECT lexeme FROM words)
            ORDER BY 1 FOR KEY SHARE
            )
            -- The new ones added; both in sorted order, as the triggers take them: two
            -- transactions wanting the same words wait for each other in one order, never in a
            -- cycle.
            INSERT INTO search_lexeme (lexeme)
            SELECT lexeme FROM words WHERE lexeme NOT IN (SELECT lexeme FROM held) ORDER BY 1
            ON CONFLICT DO NOTHING
            """,  # noqa: S608 - the ids' SQL is the ORM's, its values are parameters
            [
                Workbook.Status.PUBLISHED,
                Moderation.VISIBLE,
                *[settings.SEARCH_CONFIG] * 5,
                *ids_params,
            ],
        )


@transaction.atomic
def feature(workbooks: Iterable[Workbook], curator: User, note: str = "") -> list[Featured]:
    """Put workbooks on the home page's rail, after what is there, from now until unfeatured."""
    now = timezone.now()
    last = Featured.objects.order_by("-position").values_list("position", flat=True).first() or 0
    created = []
    for offset, workbook in enumerate(workbooks, start=1):
        if not workbook.is_published or not workbook.listed:  # the rail lists neither
            continue
        created.append(
            Featured.objects.create(
                workbook=workbook,
                position=last + offset,
                starts_at=now,
                note=note,
                curated_by=curator,
            )
        )
        signals.workbook_featured.send(sender=Workbook, workbook=workbook, curator=curator)
    if created:
        gallery_changed()
    return created


def save_featuring(featuring: Featured, curator: User) -> None:
    """Save a featured entry as a curator set it (the admin's form, or its list): a new one is
    recorded as theirs. The home page's rail shows it."""
    if featuring.curated_by_id is None:
        featuring.curated_by = curator
    featuring.save()
    gallery_changed()


def delete_featurings(featurings: QuerySet[Featured]) -> None:
    """Delete featured entries outright (the admin); `unfeature` ends them and keeps the record."""
    featurings.delete()
    gallery_changed()


def unfeature(workbooks: QuerySet[Workbook]) -> int:
    """End every open featuring of these workbooks now."""
    now = timezone.now()
    ended = (
        Featured.objects.filter(workbook__in=workbooks, starts_at__lte=now)
        .exclude(ends_at__lte=now)
        .update(ends_at=now)
    )
    gallery_changed()
    return ended


def unpublish(workbooks: QuerySet[Workbook]) -> int:
    return _unpublish(list(workbooks.values_list("pk", flat=True)))


@transaction.atomic
def _unpublish(ids: list[int]) -> int:
    unfeature(Workbook.objects.filter(pk__in=ids))
    count = Workbook.objects.filter(pk__in=ids, status=Workbook.Status.PUBLISHED).update(
        status=Workbook.Status.DRAFT
    )
    _visibility_changed(ids)
    return count


def _visibility_changed(ids: list[int]) -> None:
    """These workbooks came into or left what every reader sees: their tags are counted again
    (which retires every kept listing), the related lists and search entries made again, and the
    kept copies of their pages and their authors' profiles retired."""
    refresh_tag_counts(tag_ids_of(ids))
    related_changed(ids)
    refresh_search_entries(Workbook.objects.filter(pk__in=ids))  # in or out of its index range
    authors = set(Workbook.objects.filter(pk__in=ids).values_list("author_id", flat=True))
    for pk in ids:
        object_changed("workbook", pk)
    for author_id in sorted(authors):
        object_changed("user", author_id)


# --- Moderation -----------------------------------------------------------------------------------


class Moderated(ValidationError):
    """The author tried to publish a workbook moderators hold or hide (400, code `moderated`)."""


def refuse_publishing_moderated(workbook: Workbook) -> None:
    """A held or hidden workbook stays unpublished until a moderator restores it: were its author to
    publish it again, it would only look published to them."""
    if workbook.moderation != Moderation.VISIBLE:
        raise Moderated(
            f"{workbook.moderation_notice}. It can be published again once a moderator "
            "restores it.",
            code="moderated",
        )


@transaction.atomic
def moderate_workbook(
    workbook: Workbook, *, moderation: Moderation | str, reason: str = "", unpublish: bool = False
) -> Workbook:
    """Hold (reported by enough members) or hide (a moderator's decision) a workbook, or restore it
    (VISIBLE). Held and hidden workbooks leave every public place: lists, search, tag counts,
    feeds, related lists, collections and profiles show only `published()`; their author and
    moderators still open them, with `reason`. `unpublish`: also back to a draft, as the admin's
    unpublish does (restoring then leaves it a draft, for its author to publish). Returns the
    workbook as now stored."""
    moderation, reason = clean_moderation(moderation, reason)
    rows = Workbook.objects.filter(pk=workbook.pk)
    current = rows.select_for_update().values_list("moderation", flat=True).get()
    rows.update(moderation=moderation, moderation_reason=reason)
    if unpublish:
        _unpublish([workbook.pk])
    elif (current == Moderation.VISIBLE) != (moderation == Moderation.VISIBLE):
        # A featuring is left as it is: the rail lists only `published()`, and a workbook
        # restored within its window is back on it.
        _visibility_changed([workbook.pk])
    else:  # the state or reason its author sees changed, and nothing else
        object_changed("workbook", workbook.pk)
    gallery_changed()
    workbook.refresh_from_db()
    return workbook


# --- Related workbooks ----------------------------------------------------------------------------
#
# What a workbook's page suggests depends only on its set of tags (less itself): the published
# workbooks sharing the most of them, then the most trending, then the newest. So lists are kept per
# set of tags (RelatedWorkbook), and recomputed after a change by a task, never per view.

# Workbooks kept per set of tags. The page shows 4, less the workbook itself; the rest stands in for
# those hidden between a change and the task that follows it (the page filters them out).
RELATED_KEPT = 8
# Lists a change recomputes besides the changed workbooks' own: those that held one of them. Each
# costs one ranking over the workbooks sharing a tag with the set (150-330 ms at 50,000 workbooks,
# so at most about 15 s of a worker's time per change); past this many, the workbook is only taken
# out of the others, which then show one fewer until they are next computed (by another change,
# or `manage.py refresh_related`).
RELATED_RECOMPUTE_LIMIT = 50


def _key_tags(key: str) -> list[int]:
    return [int(part) for part in key.split(",") if part]


def related_changed(workbook_ids: Iterable[int], holding: Iterable[str] = ()) -> None:
    """Recompute related lists once this transaction commits: these workbooks' tags or visibility
    changed. `holding`: lists of workbooks deleted meanwhile (related_lists_holding)."""
    ids, sets = sorted(set(workbook_ids)), sorted(set(holding))
    if not ids and not sets:
        return
    # robust: a broker that is down must not undo the change; the lists wait for the next change
    # or `manage.py refresh_related`, and the page hides what is no longer published meanwhile.
    jobs.later("workbooks.tasks.refresh_related", ids, sets)


def author_changed(author_id: int, fields: Iterable[str] | None = None) -> None:
    """Keep what depends on a member current once accounts changed their row (`fields`: those
    changed, or None for all; accounts.signals.member_changed): pages kept for visitors that show
    them (their profile, their workbooks' author card) are retired, their names are in their
    workbooks' search entries, and a deactivated author's workbooks no longer count towards tags
    nor are searched."""
    fields = None if fields is None else set(fields)
    object_changed("user", author_id)
    workbooks = Workbook.objects.filter(author_id=author_id)
    if fields is None or fields & {"full_name", "username", "is_active"}:
        refresh_search_entries(workbooks)
        gallery_changed()
    if fields is None or "is_active" in fields:
        # Bumps the gallery itself.
        refresh_tag_counts(tag_ids_of(workbooks.values_list("pk", flat=True)))
        # Their workbooks leave (or come back to) other workbooks' related lists.
        related_changed(
            workbooks.filter(status=Workbook.Status.PUBLISHED).values_list("pk", flat=True)
        )


def author_deleting(author_id: int) -> None:
    """A member's account is about to be deleted, and their workbooks with it (a cascade, which
    no service of ours sees): the related lists that held them are made again, and their tags
    counted again once the deletion has committed."""
    ids = list(Workbook.objects.filter(author_id=author_id).values_list("pk", flat=True))
    images.hold_thumbnails(ids)  # before the cascade locks their rows
    if ids:
        tag_ids = tag_ids_of(ids)
        related_changed([], holding=related_lists_holding(ids))
        transaction.on_commit(lambda: refresh_tag_counts(tag_ids))
    object_changed("user", author_id)
    gallery_changed()


@transaction.atomic
def save_tag(tag: Tag) -> None:
    """Save a tag as the admin's form set it. Renamed, its new name goes into its workbooks' search
    entries (once committed); saved under the same name (its slug changed, or nothing), they are
    left as they are."""
    before = None
    if tag.pk is not None:
        before = Tag.objects.filter(pk=tag.pk).values_list("name", flat=True).first()
    tag.save()
    if before is not None and before != tag.name:
        _research_once_committed(
            list(Workbook.objects.filter(tags=tag).values_list("pk", flat=True))
        )
    gallery_changed()


@transaction.atomic
def delete_tags(tags: QuerySet[Tag]) -> None:
    """Delete tags (the admin). Each changes the set of tags of every workbook that had it, so
    their related lists and search entries are made again once it is gone."""
    ids = list(
        Workbook.objects.filter(tags__in=tags.values("pk")).distinct().values_list("pk", flat=True)
    )
    related_changed(ids)
    _research_once_committed(ids)
    tags.delete()
    gallery_changed()


def delete_workbooks(workbooks: QuerySet[Workbook]) -> None:
    """Delete these workbooks as `delete_workbook` deletes one (the admin's bulk delete)."""
    _delete_workbooks(list(workbooks.values_list("pk", flat=True)))


def _research_once_committed(ids: list[int]) -> None:
    """Their search entries hold their tags' names: made again once the change is committed (a
    deleted tag's links are gone only then)."""
    if ids:
        transaction.on_commit(lambda: refresh_search_entries(Workbook.objects.filter(pk__in=ids)))


def related_lists_holding(workbook_ids: Iterable[int]) -> list[str]:
    return list(
        RelatedWorkbook.objects.filter(workbook_id__in=list(workbook_ids))
        .order_by()
        .values_list("tag_set", flat=True)
        .distinct()
    )


def _related_ranking(key: str) -> list[tuple[int, int]]:
    """(id, shared tags) of the RELATED_KEPT listed workbooks sharing the most of these tags."""
    return list(
        Workbook.objects.listed()
        .filter(tags__in=_key_tags(key))
        .values("pk")
        .annotate(shared=Count("tags"))
        .order_by("-shared", "-trending_score", "-published_at", "-pk")
        .values_list("pk", "shared")[:RELATED_KEPT]
    )


def _store_related(keys: Iterable[str]) -> int:
    """Recompute these sets' lists: rank first, then replace each list in a short transaction."""
    return _replace_related({key: _related_ranking(key) for key in sorted(set(keys)) if key})


def _replace_related(rankings: dict[str, list[tuple[int, int]]]) -> int:
    with transaction.atomic():
        RelatedWorkbook.objects.filter(tag_set__in=list(rankings)).delete()
        RelatedWorkbook.objects.bulk_create(
            [
                RelatedWorkbook(tag_set=key, workbook_id=pk, shared=shared)
                for key, ranked in rankings.items()
                for pk, shared in ranked
            ],
            ignore_conflicts=True,  # a list recomputed at the same moment by another task
        )
        gallery_changed()  # workbook pages are cached whole, suggestions included
    return len(rankings)


def _keys_of(workbook_ids: list[int]) -> dict[int, str]:
    """Each existing workbook's set of tags, as a key ("" without tags)."""
    tags: dict[int, list[int]] = {
        pk: [] for pk in Workbook.objects.filter(pk__in=workbook_ids).values_list("pk", flat=True)
    }
    through = Workbook.tags.through.objects.filter(workbook_id__in=list(tags))
    for workbook_id, tag_id in through.values_list("workbook_id", "tag_id"):
        tags[workbook_id].append(tag_id)
    return {pk: related_key(ids) for pk, ids in tags.items()}


def _rank(shared: int, trending: float, published_at: datetime | None, pk: int) -> tuple:
    return (shared, trending, published_at.timestamp() if published_at else 0.0, pk)


def refresh_related(workbook_ids: Iterable[int], holding: Iterable[str] = ()) -> int:
    """Bring related lists up to date after these workbooks' tags or visibility changed, or after
    workbooks that `holding` lists held were deleted. Returns how many lists were recomputed.

    - each workbook's own set of tags is recomputed;
    - the lists that held one of them are recomputed (up to RELATED_RECOMPUTE_LIMIT), since it may
      have left them and the next candidate is not kept;
    - a published one is put into the other lists of sets sharing a tag with it where it now ranks
      among the kept, dropping their last: found from the lists themselves, without ranking again.
    """
    ids = sorted(set(workbook_ids))
    keys_of = _keys_of(ids)
    own = {key for key in keys_of.values() if key}
    held = (set(holding) | set(related_lists_holding(ids))) - own
    recompute = own | set(sorted(held)[:RELATED_RECOMPUTE_LIMIT])
    RelatedWorkbook.objects.filter(workbook_id__in=ids, tag_set__in=held - recompute).delete()
    recomputed = _store_related(recompute)
    published = Workbook.objects.listed().filter(pk__in=list(keys_of))
    for pk, trending, published_at in published.values_list("pk", "trending_score", "published_at"):
        _enter_related(pk, _key_tags(keys_of[pk]), (trending, published_at), skip=recompute)
    return recomputed


def _enter_related(
    workbook_id: int, tag_ids: list[int], order: tuple[float, datetime | None], skip: set[str]
) -> None:
    """Put a published workbook into the kept lists of other sets of tags it now ranks in."""
    if not tag_ids:
        return
    through = Workbook.tags.through.objects
    # The sets of tags in use that share a tag with it: drafts' included, their pages suggest too.
    sharing = through.filter(
        workbook_id__in=through.filter(tag_id__in=tag_ids).values("workbook_id")
    )
    sets: dict[int, list[int]] = defaultdict(list)
    for other, tag_id in sharing.values_list("workbook_id", "tag_id").iterator(chunk_size=10_000):
        sets[other].append(tag_id)
    keys = {related_key(ids) for ids in sets.values()} - skip
    kept: dict[str, list[tuple]] = {key: [] for key in keys}
    rows = RelatedWorkbook.objects.filter(tag_set__in=list(keys)).values_list(
        "tag_set", "workbook_id", "shared", "workbook__trending_score", "workbook__published_at"
    )
    for key, pk, shared, trending, published_at in rows:
        kept[key].append(_rank(shared, trending, published_at, pk))
    mine = set(tag_ids)
    added, dropped = [], Q(pk__in=[])
    for key, entries in kept.items():
        if any(entry[3] == workbook_id for entry in entries):
            continue
        shared = len(mine & set(_key_tags(key)))
        entry = _rank(shared, *order, workbook_id)
        entries.sort(reverse=True)
        if len(entries) < RELATED_KEPT or entry > entries[-1]:
            added.append(RelatedWorkbook(tag_set=key, workbook_id=workbook_id, shared=shared))
            for last in entries[RELATED_KEPT - 1 :]:
                dropped |= Q(tag_set=key, workbook_id=last[3])
    if not added:
        return
    with transaction.atomic():
        RelatedWorkbook.objects.filter(dropped).delete()
        RelatedWorkbook.objects.bulk_create(added, ignore_conflicts=True)
        gallery_changed()


def rebuild_related(
    batch: int = 200,
    progress=None,
    after: str = "",
    until: float | None = None,
) -> tuple[int, str]:
    """Recompute every set of tags in use whose key sorts after `after` (all of them by default),
    `batch` sets per transaction, and (when starting from the first) drop lists of sets no longer in
    use. Stops after the batch that ends past `until` (a `time.monotonic()` value). Returns how many
    sets it recomputed and the last one's key when it stopped early, "" when it reached the end: a
    run that stopped is taken up again with `after` set to that key. The backfill (`manage.py
    refresh_related`) and the nightly task.

    Ranks in memory, from one read of the published workbooks and their tags: ranking each set in
    the database reads every workbook sharing a tag with it (330 ms a set at 50,000 workbooks, so
    over 6 minutes for the seed's 1,140 sets); counting here takes 50 s in all, in a process of
    160 MB. Memory grows with the number of workbooks."""
    order = {
        pk: (trending, published_at, pk)
        for pk, trending, published_at in Workbook.objects.listed()
        .values_list("pk", "trending_score", "published_at")
        .iterator(chunk_size=10_000)
    }
    tags: dict[int, list[int]] = defaultdict(list)
    members: dict[int, list[int]] = defaultdict(list)
    rows = Workbook.tags.through.objects.values_list("workbook_id", "tag_id")
    for workbook_id, tag_id in rows.iterator(chunk_size=10_000):
        tags[workbook_id].append(tag_id)
        if workbook_id in order:
            members[tag_id].append(workbook_id)
    every = sorted({related_key(ids) for ids in tags.values()})
    del tags
    if not after:
        in_use = set(every)
        unused = set(RelatedWorkbook.objects.values_list("tag_set", flat=True).distinct()) - in_use
        RelatedWorkbook.objects.filter(tag_set__in=list(unused)).delete()
        gallery_changed()
    keys = every[bisect.bisect_right(every, after) :] if after else every

    def ranking(key: str) -> list[tuple[int, int]]:
        # The same order as _related_ranking: shared tags, trending, newest, id; all descending.
        shared = Counter(pk for tag_id in _key_tags(key) for pk in members.get(tag_id, ()))
        best = heapq.nlargest(RELATED_KEPT, shared.items(), key=lambda i: (i[1], *order[i[0]]))
        return [(pk, count) for pk, count in best]

    done = 0
    for start in range(0, len(keys), batch):
        chosen = keys[start : start + batch]
        _replace_related({key: ranking(key) for key in chosen})
        done += len(chosen)
        if progress:
            progress(min(start + batch, len(keys)), len(keys))
        if until is not None and time.monotonic() >= until and done < len(keys):
            return done, chosen[-1]
    return done, ""


# --- Secure embedding ------------------------------------------------------------------------------


def approve_secure_embed(urls: dict[int, str], approver: User) -> int:
    """Let these workbooks' workbook, page or element URLs be signed with the organisation's embed
    secret. `urls` maps each workbook's id to the URL the approver was shown: a workbook whose URL has
    changed since is left awaiting approval, so an approval never covers a URL nobody reviewed.
    Public embeds need no approval and are left alone."""
    now, count = timezone.now(), 0
    for pk, url in urls.items():
        count += (
            Workbook.objects.filter(pk=pk, embed_url=url)
            .exclude(embed_kind=sigma.EmbedKind.PUBLIC.value)
            .update(
                secure_embed_approved_url=url,
                secure_embed_approved_at=now,
                secure_embed_approved_by=approver,
            )
        )
    gallery_changed()
    return count


def withdraw_secure_embed(workbooks: QuerySet[Workbook]) -> int:
    count = (
        workbooks.exclude(secure_embed_approved_at=None)
        .order_by()
        .update(
            secure_embed_approved_url="",
            secure_embed_approved_at=None,
            secure_embed_approved_by=None,
        )
    )
    gallery_changed()
    return count


# --- Views and trending ---------------------------------------------------------------------------


def _viewer_key(request: HttpRequest) -> str:
    """Who is viewing, as a salted hash: the user, else the session, else address and browser."""
    if request.user.is_authenticated:
        raw = f"user:{request.user.pk}"
    elif request.session.session_key:
        raw = f"session:{request.session.session_key}"
    else:
        raw = f"addr:{client_address(request)}:{request.META.get('HTTP_USER_AGENT', '')[:200]}"
    return hashlib.sha256(f"{settings.SECRET_KEY}:{raw}".encode()).hexdigest()[:32]


def is_bot(request: HttpRequest) -> bool:
    agent = request.META.get("HTTP_USER_AGENT", "")
    return not agent or bool(BOT_USER_AGENT.search(agent))


def referrer_domain(request: HttpRequest) -> str:
    """The domain of the page the reader came from, from its Referer, or "" when there is none,
    it is this site, or it is not a web address. The domain alone is kept: the path and query of
    someone else's page may say things about the reader that are not ours to store."""
    raw = request.META.get("HTTP_REFERER", "")[:2048]
    try:
        parts = urlsplit(raw)
        host = (parts.hostname or "").rstrip(".")
        domain = host.encode("idna").decode("ascii").lower() if host else ""
    except (ValueError, UnicodeError):
        return ""
    if parts.scheme not in ("http", "https") or len(domain) > 253:
        return ""
    own = {urlsplit(f"//{request.get_host()}").hostname, urlsplit(settings.SITE_URL).hostname}
    if not DOMAIN_PATTERN.match(domain) or domain in own:
        return ""
    return domain


def record_view(request: HttpRequest, workbook: Workbook) -> bool:
    """Count one view per viewer per workbook per 24 hours; bots are not counted.

    The check is one cache write; a counted view is one INSERT. Counters are updated later in bulk
    by `flush_pending_views`, so a page view never waits on the workbook row's lock.
    """
    if not workbook.is_published or is_bot(request):
        return False
    key = f"viewed:{workbook.pk}:{_viewer_key(request)}"
    # While Redis is down each web process tells its readers apart on its own: a reader may then
    # be counted once per process, rather than on every reload or not at all.
    timeout = int(VIEW_WINDOW.total_seconds())
    if not counted("views", lambda seen: seen.add(key, 1, timeout=timeout)):
        return False
    PendingView.objects.create(workbook=workbook, referrer_domain=referrer_domain(request))
    metrics.workbook_views.inc()
    jobs.scheduled("workbooks.tasks.flush_views")
    return True


# Views claimed per transaction: bounds how long a flush holds its row locks.
FLUSH_BATCH = 10_000
# Rows per multi-row statement: well under SQLite's limit of bound parameters.
_ROWS_PER_STATEMENT = 500


def flush_pending_views() -> int:
    """Add pending views to the counters, the daily activity and the daily referrers, exactly once;
    returns how many.

    Each batch is claimed by deleting it (`DELETE … RETURNING`), and only what a flush deleted is
    what it counts, so flushes that overlap (a slow run and the next minute's) never count a view
    twice. On PostgreSQL the claim skips rows another flush holds (`SKIP LOCKED`), so overlapping
    flushes share the work instead of waiting; SQLite runs one write transaction at a time anyway.
    A batch whose transaction fails is rolled back, views included, and counted by the next run.
    """
    total = 0
    while True:
        claimed, flushed = _flush_batch(FLUSH_BATCH)
        total += flushed
        if claimed < FLUSH_BATCH:  # what arrives meanwhile waits for the next run
            break
    if total:
        gallery_changed()  # view counts show on cards
    return total


@transaction.atomic
def _flush_batch(limit: int) -> tuple[int, int]:
    """Claim up to `limit` pending views and count them; returns how many were claimed, and how
    many counted (views of workbooks deleted meanwhile are dropped).

    Locks follow the one order every writer of these rows uses (pending views, then workbook rows
    by id, then daily activity by workbook and day, then referrers; favoriting takes the workbook
    row before its daily activity too): two writers then never wait on each other in a circle.
    """
    per_referrer = _claim_pending_views(limit)
    if not per_referrer:
        return 0, 0
    per_day: dict[tuple[int, date], int] = {}
    for (workbook_id, day, _domain), views in per_referrer.items():
        per_day[(workbook_id, day)] = per_day.get((workbook_id, day), 0) + views
    per_workbook: dict[int, int] = {}
    for (workbook_id, _day), views in per_day.items():
        per_workbook[workbook_id] = per_workbook.get(workbook_id, 0) + views
    # The UPDATE below would lock rows in whatever order its join meets them.
    existing = set(
        Workbook.objects.filter(pk__in=per_workbook)
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )
    # Views of a workbook deleted meanwhile (pending views have no foreign key constraint, so that
    # recording one never locks the workbook row) are claimed and dropped.
    workbooks = sorted(item for item in per_workbook.items() if item[0] in existing)
    activity = [
        (workbook_id, connection.ops.adapt_datefield_value(day), views)
        for (workbook_id, day), views in sorted(per_day.items())
        if workbook_id in existing
    ]
    referrers = [
        (workbook_id, connection.ops.adapt_datefield_value(day), domain, views)
        for (workbook_id, day, domain), views in sorted(
            _capped_referrers(per_referrer, existing).items()
        )
    ]
    # One statement per chunk, not per row; only placeholders are formatted in, values are bound.
    # VALUES columns are column1, column2… on both PostgreSQL and SQLite.
    with connection.cursor() as cursor:
        for rows in _chunks(workbooks):
            cursor.execute(
                "UPDATE workbooks_workbook SET view_count = view_count + v.column2"  # noqa: S608
                f" FROM (VALUES {', '.join(['(%s, %s)'] * len(rows))}) AS v"
                " WHERE workbooks_workbook.id = v.column1",
                [value for row in rows for value in row],
            )
        for rows in _chunks(activity):
            cursor.execute(
                "INSERT INTO workbooks_dailyactivity (workbook_id, day, views, favorites)"  # noqa: S608
                f" VALUES {', '.join(['(%s, %s, %s, 0)'] * len(rows))}"
                " ON CONFLICT (workbook_id, day)"
                " DO UPDATE SET views = workbooks_dailyactivity.views + excluded.views",
                [value for row in rows for value in row],
            )
        for rows in _chunks(referrers):
            cursor.execute(
                "INSERT INTO workbooks_dailyreferrer (workbook_id, day, domain, views)"  # noqa: S608
                f" VALUES {', '.join(['(%s, %s, %s, %s)'] * len(rows))}"
                " ON CONFLICT (workbook_id, day, domain)"
                " DO UPDATE SET views = workbooks_dailyreferrer.views + excluded.views",
                [value for row in rows for value in row],
            )
    return sum(per_day.values()), sum(views for _, views in workbooks)


def _capped_referrers(
    per_referrer: dict[tuple[int, date, str], int], workbooks: set[int]
) -> dict[tuple[int, date, str], int]:
    """The referrers to add for `workbooks`, with at most REFERRER_DOMAINS_PER_DAY distinct domains
    per workbook and day: domains already kept that day keep counting, new ones join (most views
    first) while there is room, and the rest count as OTHER_REFERRERS.

    Read with the workbooks' rows locked (the flush's lock): a flush that overlaps waits for them,
    then sees every domain this one adds, so the cap holds across flushes."""
    wanted = {key: views for key, views in per_referrer.items() if key[0] in workbooks and key[2]}
    if not wanted:
        return {}
    kept: defaultdict[tuple[int, date], set[str]] = defaultdict(set)
    for workbook_id, day, domain in (
        DailyReferrer.objects.filter(
            workbook_id__in={key[0] for key in wanted}, day__in={key[1] for key in wanted}
        )
        .exclude(domain=OTHER_REFERRERS)
        .values_list("workbook_id", "day", "domain")
    ):
        kept[(workbook_id, day)].add(domain)
    capped: dict[tuple[int, date, str], int] = {}
    for (workbook_id, day, domain), views in sorted(
        wanted.items(), key=lambda item: (item[0][:2], -item[1], item[0][2])
    ):
        domains = kept[(workbook_id, day)]
        if domain not in domains and len(domains) < REFERRER_DOMAINS_PER_DAY:
            domains.add(domain)
        if domain not in domains:
            domain = OTHER_REFERRERS
        key = (workbook_id, day, domain)
        capped[key] = capped.get(key, 0) + views
    return capped


def _claim_pending_views(limit: int) -> dict[tuple[int, date, str], int]:
    """Delete up to `limit` of the oldest pending views; returns how many per workbook, day and
    referring domain ("" for none)."""
    if connection.vendor == "postgresql":
        sql = (
            "WITH claimed AS ("
            " DELETE FROM workbooks_pendingview WHERE id IN ("
            "  SELECT id FROM workbooks_pendingview ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)"
            " RETURNING workbook_id, (viewed_at AT TIME ZONE 'UTC')::date AS day, referrer_domain)"
            " SELECT workbook_id, day, referrer_domain, count(*) FROM claimed"
            " GROUP BY workbook_id, day, referrer_domain"
        )
    else:  # SQLite stores UTC text; DELETE … RETURNING cannot feed an aggregate there
        sql = (
            "DELETE FROM workbooks_pendingview WHERE id IN ("
            " SELECT id FROM workbooks_pendingview ORDER BY id LIMIT %s)"
            " RETURNING workbook_id, date(viewed_at), referrer_domain, 1"
        )
    counts: dict[tuple[int, date, str], int] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        for workbook_id, day, domain, views in cursor.fetchall():
            if isinstance(day, str):
                day = date.fromisoformat(day)
            key = (workbook_id, day, domain)
            counts[key] = counts.get(key, 0) + views
    return counts


def _chunks(rows: list[tuple]) -> Iterator[list[tuple]]:
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        yield rows[start : start + _ROWS_PER_STATEMENT]


def refresh_trending(now=None) -> int:
    """trending_score = Σ over the last 7 days of (views + 5 * favorites) * 0.7^(days ago)."""
    today = (now or timezone.now()).date()
    since = today - timedelta(days=TRENDING_DAYS - 1)
    scores: dict[int, float] = {}
    rows = (
        DailyActivity.objects.filter(day__gte=since)
        .values("workbook_id", "day")
        .annotate(views=Sum("views"), favorites=Sum("favorites"))
    )
    for row in rows:
        activity = row["views"] + TRENDING_FAVORITE_WEIGHT * max(row["favorites"], 0)
        age = (today - row["day"]).days
        scores[row["workbook_id"]] = scores.get(row["workbook_id"], 0.0) + activity * (
            TRENDING_DAILY_DECAY**age
        )
    with transaction.atomic():
        # Locked in id order first, as the view flush locks them: the two never deadlock.
        list(
            Workbook.objects.filter(Q(pk__in=scores) | ~Q(trending_score=0))
            .order_by("pk")
            .select_for_update(no_key=True)
            .values_list("pk", flat=True)
        )
        Workbook.objects.exclude(pk__in=scores).exclude(trending_score=0).update(trending_score=0)
        changed = [Workbook(pk=pk, trending_score=round(score, 4)) for pk, score in scores.items()]
        Workbook.objects.bulk_update(changed, ["trending_score"], batch_size=1000)
        gallery_changed()
    # Kept for the authors' insights (their longest period), well beyond trending's window.
    kept_since = today - timedelta(days=ACTIVITY_KEPT_DAYS)
    DailyActivity.objects.filter(day__lt=kept_since).delete()
    DailyReferrer.objects.filter(day__lt=kept_since).delete()
    return len(scores)
