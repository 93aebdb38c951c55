"""The sitemap: an index at /sitemap.xml naming one section per kind of page (static pages,
workbooks, authors, tags), each section split into pages of `LIMIT` addresses (`?p=2`...).

Every section page and the index are cached whole, keyed on the gallery's version
(workbooks.cache): every change that can alter a listing bumps it, so a cached sitemap is never
stale, only unused. Crawlers read every page of every section in a row; each costs its queries
once per version.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.core.cache import cache
from django.db.models import Max, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.models import User

from . import cache as gallery_cache
from .models import Tag, Workbook, listed

if TYPE_CHECKING:
    from typing import TypedDict

    from django_stubs_ext import WithAnnotations

    class _LastPublished(TypedDict):
        last_published: datetime

    # An author or a tag as its section reads it, with the date of its latest published workbook.
    PublishedAuthor = WithAnnotations[User, _LastPublished]
    PublishedTag = WithAnnotations[Tag, _LastPublished]

# Addresses per section page. The protocol allows 50,000; smaller pages are cheaper to build and
# to cache, and a crawler reads them all anyway.
LIMIT = 5000
# A cached page is retired by the next gallery version; this only bounds the life of unused ones.
CACHE_TIMEOUT = 3600
# Headers a cached answer is served with, as the first one was.
KEPT_HEADERS = ("Content-Type", "Last-Modified", "X-Robots-Tag")


def _published_authors() -> QuerySet[PublishedAuthor]:
    # Filtering on the join before annotating: the date is of their published workbooks only.
    return User.objects.filter(listed("workbooks__"), is_active=True).annotate(
        last_published=Max("workbooks__published_at")
    )


class PagedSitemap(Sitemap):
    """Ordered by id, so that new rows go on the last page and the others keep their contents."""

    changefreq = "weekly"
    limit = LIMIT

    def get_latest_lastmod(self) -> datetime | None:
        # Django's own loads every item of the section to find this; one aggregate does.
        raise NotImplementedError


class WorkbookSitemap(PagedSitemap):
    def items(self) -> QuerySet[Workbook]:
        return Workbook.objects.listed().only("slug", "updated_at").order_by("pk")

    def lastmod(self, workbook: Workbook) -> datetime:
        return workbook.updated_at

    def get_latest_lastmod(self) -> datetime | None:
        return Workbook.objects.listed().aggregate(latest=Max("updated_at"))["latest"]


class AuthorSitemap(PagedSitemap):
    """Profiles of members who have published something: the ones worth a visit."""

    def items(self) -> QuerySet[PublishedAuthor]:
        return _published_authors().only("username").order_by("pk")

    def location(self, user: User) -> str:
        return reverse("workbooks:author", args=[user.username])

    def lastmod(self, user: PublishedAuthor) -> datetime:
        return user.last_published

    def get_latest_lastmod(self) -> datetime | None:
        return Workbook.objects.listed().aggregate(latest=Max("published_at"))["latest"]


class TagSitemap(PagedSitemap):
    """Tags that have a page: those on a listed workbook (workbooks.selectors.listed_tag)."""

    def items(self) -> QuerySet[PublishedTag]:
        return (
            Tag.objects.filter(listed("workbooks__"))
            .annotate(last_published=Max("workbooks__published_at"))
            .only("slug")
            .order_by("pk")
        )

    def lastmod(self, tag: PublishedTag) -> datetime:
        return tag.last_published

    def get_latest_lastmod(self) -> datetime | None:
        return (
            Workbook.objects.listed()
            .filter(tags__isnull=False)
            .aggregate(latest=Max("published_at"))["latest"]
        )


class StaticSitemap(Sitemap):
    changefreq = "daily"

    def items(self) -> list[str]:
        return ["home", "workbooks:explore"]

    def location(self, name: str) -> str:
        return reverse(name)


SITEMAPS: dict[str, type[Sitemap] | Sitemap] = {
    "static": StaticSitemap,
    "workbooks": WorkbookSitemap,
    "authors": AuthorSitemap,
    "tags": TagSitemap,
}


def _cached(request: HttpRequest, name: str, render) -> HttpResponse:
    """The answer of `render`, from the cache when this gallery version already made it for this
    site (the addresses are absolute: scheme and host are part of the key)."""
    site = f"{request.scheme}://{request.get_host()}"
    digest = hashlib.sha256(f"{site} {name}".encode()).hexdigest()[:32]
    key = f"gallery:{gallery_cache.version()}:sitemap:{digest}"
    cached = cache.get(key)
    if cached is not None:
        content, headers = cached
        return HttpResponse(content, headers=headers)
    response = render()
    response.render()
    headers = {header: response[header] for header in KEPT_HEADERS if header in response}
    cache.set(key, (response.content, headers), timeout=CACHE_TIMEOUT)
    return response


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return _cached(
        request,
        "index",
        lambda: sitemap_views.index(request, SITEMAPS, sitemap_url_name="sitemap-section"),
    )


@require_GET
def section(request: HttpRequest, section: str) -> HttpResponse:
    if section not in SITEMAPS:
        raise Http404("No such sitemap section.")
    page = request.GET.get("p", "1")
    # Only pages that can exist are kept: p=01 or p=1.0 would otherwise be new keys for old pages.
    if not page.isascii() or not page.isdigit() or page != str(int(page)):
        raise Http404("No such sitemap page.")
    # Django's view raises Http404 for a page past the last: nothing is cached for it.
    return _cached(
        request,
        f"{section}:{page}",
        lambda: sitemap_views.sitemap(request, SITEMAPS, section=section),
    )
