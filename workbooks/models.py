from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from media.storage import Picture
from sigma_playground.models import Featuring, MaintainedFieldsMixin, Moderated, Moderation

from .sigma import EmbedKind


class Tag(models.Model):
    name = models.CharField(max_length=40)
    slug = models.SlugField(max_length=50, unique=True)
    # Listed workbooks with this tag (`listed`), kept by services.refresh_tag_counts: counting on
    # every page view means aggregating the whole tag table.
    workbook_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["-workbook_count", "name"], name="tag_popular_idx")]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="workbooks_tag_name_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("workbooks:tag", args=[self.slug])


def public(prefix: str = "") -> Q:
    """What every reader may see, as a condition: published, by an active author, and neither held
    nor hidden by moderators. `prefix`: the way to the workbook from another model ("workbook__").
    Every public list, count, feed and search entry keeps to it."""
    return Q(
        **{
            f"{prefix}status": Workbook.Status.PUBLISHED,
            f"{prefix}author__is_active": True,
            f"{prefix}moderation": Moderation.VISIBLE,
        }
    )


def listed(prefix: str = "") -> Q:
    """What the gallery lists, as a condition: `public`, and not unlisted by staff. Every list,
    count, feed, search, sitemap and announcement keeps to it; what opens from a link (the
    workbook's page and API detail, a collection that holds it, a member's favorites) keeps to
    `public` only."""
    return public(prefix) & Q(**{f"{prefix}listed": True})


class WorkbookQuerySet(models.QuerySet["Workbook"]):
    def published(self) -> WorkbookQuerySet:
        """What every reader may see (`public`)."""
        return self.filter(public())

    def listed(self) -> WorkbookQuerySet:
        """What the gallery lists (`listed`)."""
        return self.filter(listed())

    def visible_to(self, user) -> WorkbookQuerySet:
        """What a user may open: everything published (and not held or hidden by moderators), plus
        their own workbooks whatever their state; others' drafts and held or hidden workbooks only
        with the view_draft permission (moderators, superusers). Being staff is not enough: curators
        are staff to enter the admin, and their role is curating what is published."""
        if user.is_authenticated and user.has_perm("workbooks.view_draft"):
            return self.all()
        if user.is_authenticated:
            return self.filter(public() | Q(author=user))
        return self.published()

    def editable_by(self, user, action: str = "change") -> WorkbookQuerySet:
        """What `user` may change (with action="delete": delete): their own workbooks, and with that
        permission on every workbook (moderators, superusers) whatever they may open. Not curators:
        they are staff only to enter the admin, and their role is curation (accounts.roles).
        Workbook.editable_by is the same rule for a workbook already in hand."""
        if not user.is_authenticated:
            return self.none()
        if user.has_perm(f"workbooks.{action}_workbook"):
            return self.visible_to(user)
        return self.filter(author=user)

    def get_editable(self, user, action: str = "change", **lookup) -> Workbook:
        """The workbook `lookup` finds among these if `user` may change it (with action="delete":
        delete it). Raises Workbook.DoesNotExist if they cannot open it, and PermissionDenied if
        they can open it but not change it: the API answers 404 and 403 (a page answers 404 to
        both, fetching through `editable_by`)."""
        try:
            return self.editable_by(user, action).get(**lookup)
        except self.model.DoesNotExist:
            # Asked only when refused, so a permitted change still costs the one query.
            if self.visible_to(user).filter(**lookup).exists():
                raise PermissionDenied(
                    "Only the author or a moderator may change this workbook."
                ) from None
            raise


class Workbook(MaintainedFieldsMixin, Moderated):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workbooks"
    )
    title = models.CharField(max_length=120)
    # Set once from the first title: links and bookmarks keep working when the title changes.
    slug = models.SlugField(max_length=140, unique=True, editable=False)
    description = models.TextField(
        max_length=10_000, blank=True, help_text="Markdown: **bold**, _italic_, lists, links."
    )
    # Rendered and sanitised once on save, never per view.
    description_html = models.TextField(blank=True, editable=False)
    description_text = models.TextField(blank=True, editable=False)

    embed_url = models.URLField("Sigma URL", max_length=2048)
    embed_kind = models.CharField(max_length=10, choices=[(k.value, k.value) for k in EmbedKind])
    # The Sigma id behind the URL: the public embed id, or the workbook id.
    sigma_id = models.CharField(max_length=80, editable=False)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Unlisted: opens from its link (and from collections that hold it) but stays out of the
    # gallery's lists, search, tag pages, feeds and the sitemap. Staff set it (the demo's examples).
    listed = models.BooleanField(
        default=True,
        help_text="Show this workbook in the gallery's lists, search, tag pages, feeds and sitemap. "
        "Unlisted is not private: anyone with the link opens it, and the API finds it by its id. "
        "To hide a workbook from everyone, make it a draft.",
    )
    tags = models.ManyToManyField(Tag, related_name="workbooks", blank=True)
    # The picture in use (media.storage.Picture), written only by media.services.
    thumbnail = models.JSONField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)

    view_count = models.PositiveIntegerField(default=0, editable=False)
    favorite_count = models.PositiveIntegerField(default=0, editable=False)
    comment_count = models.PositiveIntegerField(default=0, editable=False)
    # Recomputed by a periodic task from the last 7 days of activity (services.refresh_trending).
    trending_score = models.FloatField(default=0, editable=False)

    # Workbook, page and element URLs are signed with the organisation's embed secret only once staff
    # with approve_secure_embed have approved this URL (services.approve_secure_embed). The approved
    # URL is kept so that an approval never covers a URL nobody looked at.
    secure_embed_approved_url = models.URLField(max_length=2048, blank=True, editable=False)
    secure_embed_approved_at = models.DateTimeField(null=True, blank=True, editable=False)
    secure_embed_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    objects = WorkbookQuerySet.as_manager()

    # Not a column: set by workbooks.services while a workbook published for the first time is
    # saved, until its publication is announced.
    _first_published: bool

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-published_at", "-id"], name="workbook_latest_idx"),
            models.Index(fields=["status", "-trending_score", "-id"], name="workbook_trending_idx"),
            models.Index(
                fields=["status", "-favorite_count", "-id"], name="workbook_favorites_idx"
            ),
            models.Index(fields=["status", "-view_count", "-id"], name="workbook_views_idx"),
            models.Index(fields=["author", "status", "-published_at"], name="workbook_author_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(published_at__isnull=False),
                name="workbook_published_has_date",
            ),
        ]
        permissions = [
            ("unpublish_workbook", "Can unpublish a workbook"),
            ("view_draft", "Can view others' draft workbooks"),
            ("approve_secure_embed", "Can approve a workbook for secure (signed) embedding"),
        ]

    def __str__(self) -> str:
        return self.title

    # Written only by database-side updates (services): saving an instance loaded before they changed
    # must not put old values back.
    MAINTAINED_FIELDS = frozenset(
        {
            "view_count",
            "favorite_count",
            "comment_count",
            "trending_score",
            "thumbnail",
            # An approval withdrawn meanwhile must not come back from a stale instance.
            "secure_embed_approved_url",
            "secure_embed_approved_at",
            "secure_embed_approved_by",
        }
    )

    def get_absolute_url(self) -> str:
        return reverse("workbooks:detail", args=[self.slug])

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def is_public(self) -> bool:
        """Published and neither held nor hidden: what every reader sees (`public`, but for the
        author's being active, which the row does not hold)."""
        return self.is_published and self.moderation == Moderation.VISIBLE

    @property
    def is_listed(self) -> bool:
        """Public and not unlisted: what the gallery lists (`listed`, for a workbook in hand)."""
        return self.is_public and self.listed

    def editable_by(self, user, action: str = "change") -> bool:
        """May `user` change (or, with action="delete", delete) this workbook: WorkbookQuerySet's
        rule of the same name, for a workbook in hand, answered without a query. It decides what a
        page shows (Edit and Delete, a copy shared by every reader), never who gets the workbook:
        that is fetched through the queryset."""
        if not user.is_authenticated:
            return False
        return self.author_id == user.pk or user.has_perm(f"workbooks.{action}_workbook")

    @property
    def secure_embed_approved(self) -> bool:
        """Approved for signed embedding, and for the URL it has now (SECURE_EMBED_APPROVED in a query)."""
        return (
            self.secure_embed_approved_at is not None
            and self.secure_embed_approved_url == self.embed_url
        )

    @property
    def picture(self) -> Picture | None:
        return Picture.from_ref(self.thumbnail)

    @property
    def placeholder_variant(self) -> int:
        """One of eight colours for the generated thumbnail placeholder."""
        return (self.pk or 0) % 8


# Workbook.secure_embed_approved, as a query.
SECURE_EMBED_APPROVED = Q(
    secure_embed_approved_at__isnull=False, secure_embed_approved_url=F("embed_url")
)


class Featured(Featuring):
    """A curator's pick: shown on the home page's rail in `position` order while its window is open.
    The first open one is the workbook of the day."""

    workbook = models.ForeignKey(Workbook, on_delete=models.CASCADE, related_name="featurings")

    class Meta(Featuring.Meta):
        verbose_name = "featured workbook"
        indexes = [
            models.Index(fields=["position", "starts_at", "ends_at"], name="featured_window_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["workbook", "starts_at"], name="featured_workbook_start_unique"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="featured_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workbook} (#{self.position})"


class PendingView(models.Model):
    """A counted view waiting to be added to its workbook's counters by the flush task.

    A page view only inserts here: it never updates the workbook row, so it never waits on its lock.
    """

    # No constraint in the database: its check would lock the workbook row (FOR KEY SHARE) on every
    # counted view, so a reader would wait behind whoever holds that row, and on a popular workbook
    # behind the other readers. The flush drops views of workbooks deleted meanwhile.
    workbook = models.ForeignKey(
        Workbook, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    viewed_at = models.DateTimeField(default=timezone.now)
    # The domain of the page the reader came from (services.referrer_domain): the domain alone,
    # never the address, and empty for a reader who came from this site or told us nothing.
    referrer_domain = models.CharField(max_length=253, blank=True, default="")

    def __str__(self) -> str:
        return f"view of {self.workbook_id} at {self.viewed_at:%Y-%m-%d %H:%M}"


def related_key(tag_ids) -> str:
    """A set of tags as RelatedWorkbook.tag_set: the ids ascending, comma-separated."""
    return ",".join(str(pk) for pk in sorted(set(tag_ids)))


class RelatedWorkbook(models.Model):
    """One of the workbooks suggested beside those whose tags are exactly `tag_set`.

    Kept per set of tags, not per workbook: what a workbook's page suggests depends only on its tags
    (less itself), and many workbooks share a set. Recomputed by services.refresh_related when tags
    or visibility change, so the page reads a handful of rows instead of ranking every workbook that
    shares a tag. Which ones are kept follows the trending order of the last computation; the page
    orders the kept ones by the current one.
    """

    # The tags' ids, ascending, comma-separated (related_key).
    tag_set = models.CharField(max_length=200)
    workbook = models.ForeignKey(
        Workbook, on_delete=models.CASCADE, related_name="related_listings"
    )
    # How many of the set's tags the workbook has.
    shared = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tag_set", "workbook"], name="related_set_workbook_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.workbook_id} for tags {self.tag_set} ({self.shared} shared)"


class DailyActivity(models.Model):
    """Views and favorites per workbook per day: what trending is computed from."""

    workbook = models.ForeignKey(Workbook, on_delete=models.CASCADE, related_name="daily_activity")
    day = models.DateField()
    views = models.PositiveIntegerField(default=0)
    favorites = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workbook", "day"], name="dailyactivity_workbook_day_unique"
            )
        ]
        indexes = [models.Index(fields=["day"], name="dailyactivity_day_idx")]

    def __str__(self) -> str:
        return f"{self.workbook_id} on {self.day}: {self.views} views, {self.favorites} favorites"


class EmbedHealth(models.Model):
    """How a workbook's frame fared for its readers on one day, as their pages reported it.

    Each reader's page reports one outcome per view (embed_health.record_outcome), and each
    outcome has its column: `loads` (Sigma said the workbook loaded), `errors` (Sigma reported an
    error) and `timeouts` (Sigma said nothing in time). Counts only: nothing about the reader is kept.
    """

    workbook = models.ForeignKey(Workbook, on_delete=models.CASCADE, related_name="embed_health")
    day = models.DateField()
    loads = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    timeouts = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "embed health"
        constraints = [
            models.UniqueConstraint(
                fields=["workbook", "day"], name="embedhealth_workbook_day_unique"
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.workbook_id} on {self.day}: {self.loads} loads, "
            f"{self.errors} errors, {self.timeouts} timeouts"
        )


class DailyReferrer(models.Model):
    """Counted views per workbook per day per referring domain, added by the view flush: where an
    author's readers come from. Only the domain is kept, never the address of the page."""

    # No index of its own: the unique constraint below starts with the workbook and serves its lookups.
    workbook = models.ForeignKey(
        Workbook, on_delete=models.CASCADE, related_name="daily_referrers", db_index=False
    )
    day = models.DateField()
    domain = models.CharField(max_length=253)
    views = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workbook", "day", "domain"],
                name="dailyreferrer_workbook_day_domain_unique",
            )
        ]
        indexes = [models.Index(fields=["day"], name="dailyreferrer_day_idx")]

    def __str__(self) -> str:
        return f"{self.workbook_id} on {self.day} from {self.domain}: {self.views} views"
