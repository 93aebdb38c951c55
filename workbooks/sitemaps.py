from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.urls import reverse

from accounts.models import User

from .models import Workbook


class WorkbookSitemap(Sitemap):
    changefreq = "weekly"
    limit = 5000

    def items(self):
        return Workbook.objects.published().only("slug", "updated_at").order_by("-id")

    def lastmod(self, workbook: Workbook):
        return workbook.updated_at


class AuthorSitemap(Sitemap):
    """Profiles of members who have published something: the ones worth a visit."""

    changefreq = "weekly"
    limit = 5000

    def items(self):
        return (
            User.objects.filter(is_active=True, workbooks__status=Workbook.Status.PUBLISHED)
            .annotate(last_published=Max("workbooks__published_at"))
            .only("username")
            .order_by("username")
        )

    def location(self, user: User) -> str:
        return reverse("workbooks:author", args=[user.username])

    def lastmod(self, user: User):
        return user.last_published


class StaticSitemap(Sitemap):
    changefreq = "daily"

    def items(self):
        return ["home", "workbooks:explore"]

    def location(self, name: str) -> str:
        return reverse(name)


SITEMAPS = {"static": StaticSitemap, "workbooks": WorkbookSitemap, "authors": AuthorSitemap}
