"""Site-wide pages that belong to no single app."""

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    # A page, rendered from a template: DRF's OPTIONS answer has no template to render into (a 500).
    http_method_names = ["get", "head"]
    # Ours, not the stock one: a way back to the site, its language and title, a main landmark, and
    # our colours in a stylesheet (the stock page's inline <style> is refused by the CSP).
    template_name = "api/docs.html"


@require_GET
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /api/",
        "Disallow: /settings/",
        "Disallow: /accounts/",
        "Disallow: /w/new/",
        f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")
