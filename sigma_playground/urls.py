import re

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from media import views as media_views
from workbooks import sitemaps
from workbooks import views as workbook_views

from . import health, views
from .observability import endpoint as metrics_endpoint

# Where the API lives, below the site's root. Pages tell their scripts (social.js) from here.
API_ROOT = "api/v1/"

api_v1: list[URLPattern | URLResolver] = [
    path("", include("accounts.api.urls")),
    path("", include("media.api.urls")),
    path("", include("workbooks.api.urls")),
    path("notifications/stream/", include("social.stream_urls")),
    path("", include("social.api.urls")),
    path("", include("insights.api.urls")),
    path("", include("moderation.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", views.ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("", workbook_views.home, name="home"),
    path("", include("accounts.urls")),
    path("", include("workbooks.urls")),
    path("", include("social.urls")),
    path("", include("insights.urls")),
    path("", include("moderation.urls")),
    path("sitemap.xml", sitemaps.index, name="sitemap"),
    path("sitemap-<slug:section>.xml", sitemaps.section, name="sitemap-section"),
    path("admin/", admin.site.urls),
    path(API_ROOT, include(api_v1)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_endpoint.metrics_view, name="metrics"),
    path("robots.txt", views.robots_txt, name="robots"),
]

# Errors answered outside any view's own handling: JSON under /api/, the site's pages elsewhere.
handler400 = "sigma_playground.errors.bad_request"
handler403 = "sigma_playground.errors.permission_denied"
handler404 = "sigma_playground.errors.page_not_found"
handler500 = "sigma_playground.errors.server_error"

if settings.MEDIA_URL.startswith("/"):  # local media; the view serves it only with DEBUG on
    urlpatterns.append(
        re_path(rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.+)$", media_views.serve)
    )
