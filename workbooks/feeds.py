"""Atom feeds: the latest workbooks, per tag and per author."""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.http import Http404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from accounts import selectors as accounts_selectors
from accounts.models import User

from . import selectors
from .models import Tag, Workbook

FEED_SIZE = 30


class WorkbooksFeed(Feed):
    """What every feed says of each workbook; each feed names its own title, link and workbooks
    (from the object its address names, if any)."""

    feed_type = Atom1Feed
    subtitle = "Sigma workbooks just published on Sigma Playground."

    def item_title(self, item: Workbook) -> str:
        return item.title

    def item_description(self, item: Workbook) -> str:
        # Atom's summary is written with type="html": readers render it, so the plain text is escaped.
        return escape(item.description_text[:500])

    def item_author_name(self, item: Workbook) -> str:
        return item.author.display_name

    def item_pubdate(self, item: Workbook):
        return item.published_at

    def item_updateddate(self, item: Workbook):
        return item.updated_at


class LatestWorkbooksFeed(WorkbooksFeed):
    title = "Sigma Playground: latest workbooks"

    def link(self) -> str:
        return reverse("home")

    def items(self):
        return selectors.latest(limit=FEED_SIZE)


class TagFeed(WorkbooksFeed):
    def get_object(self, request, slug: str) -> Tag:
        try:
            return selectors.listed_tag(slug)
        except Tag.DoesNotExist:
            raise Http404("No such tag.") from None

    def title(self, tag: Tag) -> str:
        return f"Sigma Playground: workbooks tagged {tag.name}"

    def link(self, tag: Tag) -> str:
        return tag.get_absolute_url()

    def items(self, tag: Tag):
        return selectors.with_tag(tag)[:FEED_SIZE]


class AuthorFeed(WorkbooksFeed):
    def get_object(self, request, username: str) -> User:
        return accounts_selectors.active_user_or_404(username)

    def title(self, person: User) -> str:
        return f"Sigma Playground: workbooks by {person.display_name}"

    def link(self, person: User) -> str:
        return reverse("workbooks:author", args=[person.username])

    def items(self, person: User):
        return selectors.by_author(person)[:FEED_SIZE]
