from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from sigma_playground.models import Featuring, Moderated, Moderation
from workbooks.models import Workbook


class Follow(models.Model):
    follower = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following_links"
    )
    followee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follower_links"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="social_follow_unique"),
            models.CheckConstraint(
                condition=~Q(follower=F("followee")), name="social_follow_not_self"
            ),
        ]
        indexes = [
            models.Index(
                fields=["followee", "-created_at", "-id"], name="social_follow_followee_idx"
            ),
            models.Index(
                fields=["follower", "-created_at", "-id"], name="social_follow_follower_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} follows {self.followee_id}"


class Favorite(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favorites"
    )
    workbook = models.ForeignKey(Workbook, on_delete=models.CASCADE, related_name="favorites")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workbook"], name="social_favorite_unique"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="social_favorite_user_idx")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ♥ {self.workbook_id}"


class CommentQuerySet(models.QuerySet["Comment"]):
    def visible_to(self, user) -> CommentQuerySet:
        """Comments on the workbooks `user` may open (WorkbookQuerySet.visible_to): those every
        reader sees, and their own held or hidden ones; moderators (who may delete any comment)
        see them all."""
        return self.filter(workbook__in=Workbook.objects.visible_to(user).values("pk")).seen_by(
            user
        )

    def seen_by(self, user) -> CommentQuerySet:
        """Those of these comments `user` sees: every one moderators neither hold nor hide, and
        their own held or hidden ones; moderators (who may delete any comment) see them all."""
        if user.is_authenticated and user.has_perm("social.delete_comment"):
            return self
        if user.is_authenticated:
            return self.filter(Q(moderation=Moderation.VISIBLE) | Q(author=user))
        return self.filter(moderation=Moderation.VISIBLE)

    def editable_by(self, user) -> CommentQuerySet:
        """What `user` may edit: their own comments, for EDIT_WINDOW after posting them."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(author=user, created_at__gte=timezone.now() - Comment.EDIT_WINDOW)

    def deletable_by(self, user) -> CommentQuerySet:
        """What `user` may delete: their comments and those on their workbooks, or any with the
        permission (moderators; not being staff: curators are staff and have no say over comments)."""
        if not user.is_authenticated:
            return self.none()
        if user.has_perm("social.delete_comment"):
            return self.all()
        return self.filter(Q(author=user) | Q(workbook__author=user))

    def get_changeable(self, user, action: str, **lookup) -> Comment:
        """The comment `lookup` finds among these, on a workbook `user` may open, if they may edit it
        (action="change") or delete it (action="delete"). Raises Comment.DoesNotExist if they
        cannot see it, and PermissionDenied, with the rule, if they see it but may not."""
        visible = self.visible_to(user)
        allowed, rule = {
            "change": (visible.editable_by(user), Comment.EDIT_RULE),
            "delete": (visible.deletable_by(user), Comment.DELETE_RULE),
        }[action]
        try:
            return allowed.get(**lookup)
        except self.model.DoesNotExist:
            # Asked only when refused, so a permitted change still costs the one query.
            if visible.filter(**lookup).exists():
                raise PermissionDenied(rule) from None
            raise


class Comment(Moderated):
    MAX_LENGTH = 2000
    # How long its author may edit a comment.
    EDIT_WINDOW = timedelta(minutes=15)
    EDIT_RULE = "A comment can be edited by its author for 15 minutes."
    DELETE_RULE = "Only the comment's author, the workbook's author or a moderator may delete it."

    workbook = models.ForeignKey(Workbook, on_delete=models.CASCADE, related_name="comments")
    # None once its author deleted their account: shown as "deleted member".
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="comments"
    )
    # Plain text: escaped, with links made safe, when shown.
    body = models.TextField(max_length=MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The id too: the comments' pages follow (created_at, id) from a cursor, read in order.
            models.Index(fields=["workbook", "created_at", "id"], name="social_comment_page_idx")
        ]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.workbook_id}"


class Verb(models.TextChoices):
    FOLLOWED = "followed", "followed you"
    FAVORITED = "favorited", "favorited your workbook"
    COMMENTED = "commented", "commented on your workbook"
    PUBLISHED = "published", "published a workbook"
    FEATURED = "featured", "featured your workbook"
    COLLECTED = "collected", "added your workbook to a collection"
    EMBED_FAILING = "embed_failing", "your workbook's embed is failing"


class Notification(models.Model):
    """Something that happened that the recipient should hear about. Ids only grow, and per
    recipient they commit in id order (services lock the recipient), so `resume after N` is exact."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", null=True
    )
    verb = models.CharField(max_length=20, choices=Verb.choices)
    workbook = models.ForeignKey(Workbook, on_delete=models.CASCADE, null=True, related_name="+")
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    read = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["recipient", "-id"], name="social_notif_recipient_idx"),
            models.Index(
                fields=["recipient"], condition=Q(read=False), name="social_notif_unread_idx"
            ),
            # `?unread=true` pages newest first from a cursor without walking read ones.
            models.Index(
                fields=["recipient", "-id"],
                condition=Q(read=False),
                name="social_notif_unread_page_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id}: {self.actor_id} {self.verb}"

    @property
    def shown_workbook(self) -> Workbook | None:
        """The workbook, unless it has become a draft (or been held or hidden by moderators) since
        and the recipient is not its author."""
        workbook = self.workbook
        if workbook is None or workbook.is_public or workbook.author_id == self.recipient_id:
            return workbook
        return None


class Activity(models.Model):
    """What a member did, for the feeds of the people who follow them."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activities"
    )
    verb = models.CharField(max_length=20, choices=Verb.choices)
    workbook = models.ForeignKey(Workbook, on_delete=models.CASCADE, null=True, related_name="+")
    subject = models.ForeignKey(  # the member followed, for "followed"
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["actor", "-id"], name="social_activity_actor_idx")]

    def __str__(self) -> str:
        return f"{self.actor_id} {self.verb}"


class MutedVerb(models.Model):
    """A kind of notification a member does not want."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="muted_verbs"
    )
    verb = models.CharField(max_length=20, choices=Verb.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "verb"], name="social_mutedverb_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} mutes {self.verb}"


class CollectionQuerySet(models.QuerySet["Collection"]):
    def visible_to(self, user) -> CollectionQuerySet:
        """What `user` may open: public and unlisted collections (an unlisted one by its address
        only), plus their own private ones. Someone else's private collection is not there at all."""
        shown = Q(visibility__in=[Collection.Visibility.PUBLIC, Collection.Visibility.UNLISTED])
        if user.is_authenticated:
            shown |= Q(owner=user)
        return self.filter(shown, owner__is_active=True)

    def listed_for(self, user) -> CollectionQuerySet:
        """What a list shows `user`: public collections, and all of their own."""
        shown = Q(visibility=Collection.Visibility.PUBLIC)
        if user.is_authenticated:
            shown |= Q(owner=user)
        return self.filter(shown, owner__is_active=True)

    def editable_by(self, user) -> CollectionQuerySet:
        """What `user` may change: only their own collections."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)


class Collection(models.Model):
    """A member's ordered selection of workbooks, theirs or others'."""

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        UNLISTED = "unlisted", "Unlisted"
        PRIVATE = "private", "Private"

    TITLE_MAX_LENGTH = 120
    DESCRIPTION_MAX_LENGTH = 2000

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collections"
    )
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    slug = models.SlugField(max_length=140)
    description = models.TextField(max_length=DESCRIPTION_MAX_LENGTH, blank=True)
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CollectionQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "slug"], name="social_collection_slug_unique"),
        ]
        indexes = [
            models.Index(
                fields=["owner", "-updated_at", "-id"], name="social_collection_owner_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("social:collection", args=[self.owner.username, self.slug])

    @property
    def is_public(self) -> bool:
        return self.visibility == self.Visibility.PUBLIC


class CollectionItem(models.Model):
    """A workbook's place in a collection."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    workbook = models.ForeignKey(
        Workbook, on_delete=models.CASCADE, related_name="collection_items"
    )
    position = models.PositiveIntegerField(default=0)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "workbook"], name="social_collectionitem_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["collection", "position", "id"], name="social_collitem_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.workbook_id} in {self.collection_id} (#{self.position})"


class FeaturedCollection(Featuring):
    """A curator's pick of a collection for the home page, shown in `position` order while its
    window is open (the same windows as workbooks.Featured)."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="featurings")

    class Meta(Featuring.Meta):
        verbose_name = "featured collection"
        indexes = [
            models.Index(
                fields=["position", "starts_at", "ends_at"], name="featured_coll_window_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "starts_at"], name="featured_coll_start_unique"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="featured_coll_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.collection} (#{self.position})"


class Block(models.Model):
    """`blocker` no longer hears from `blocked`: no follows, comments on the blocker's workbooks or
    notifications from them, and the blocker does not see their comments."""

    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks"
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocked_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="social_block_unique"),
            models.CheckConstraint(
                condition=~Q(blocker=F("blocked")), name="social_block_not_self"
            ),
        ]
        indexes = [models.Index(fields=["blocked", "blocker"], name="social_block_blocked_idx")]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


class EmailPreference(models.Model):
    """What a member wants by email. No row: the defaults. Nothing is ever sent to an unverified
    address."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="email_preference",
    )
    comments = models.BooleanField("comments on my workbooks", default=True)
    followers = models.BooleanField("new followers", default=True)
    featured = models.BooleanField("my workbook is featured", default=True)
    digest = models.BooleanField(
        "weekly digest of what the people I follow published", default=True
    )
    # The newest notification an instant email covered: the next one starts after it, so one burst
    # of activity is one email.
    last_emailed_id = models.BigIntegerField(default=0, editable=False)
    # When the email of the burst under way is due (None: no burst): set by the burst's first
    # notification, which queues the one delayed task; a task whose message was lost is found by
    # it and queued again (social.tasks.resume_instant_emails).
    email_due_at = models.DateTimeField(null=True, blank=True, editable=False)

    # The notifications sent by email at once, and the choice that asks for each.
    INSTANT: dict[str, str] = {
        Verb.COMMENTED: "comments",
        Verb.FOLLOWED: "followers",
        Verb.FEATURED: "featured",
    }
    KINDS = ("comments", "followers", "featured", "digest")

    class Meta:
        indexes = [
            models.Index(
                fields=["email_due_at"],
                condition=Q(email_due_at__isnull=False),
                name="social_emailpref_due_idx",
            )
        ]

    def __str__(self) -> str:
        return f"email preferences of {self.user_id}"

    def wanted_verbs(self) -> list[str]:
        """The kinds of notification this member wants by email at once."""
        return [verb for verb, field in self.INSTANT.items() if getattr(self, field)]


class DigestSent(models.Model):
    """One weekly digest per member and week (its Monday): the beat job can run twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "week"], name="social_digestsent_unique")
        ]

    def __str__(self) -> str:
        return f"digest of {self.user_id} for {self.week}"
