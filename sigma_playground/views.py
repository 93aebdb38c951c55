"""Site-wide pages that belong to no single app."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts import selectors as accounts_selectors


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"newest_members": accounts_selectors.newest_members()})


@require_GET
def explore(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:200]
    people = accounts_selectors.search_people(query)
    return render(request, "explore.html", {"query": query, "people": people})


@require_GET
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = ["User-agent: *", "Disallow: /admin/", "Disallow: /api/", "Disallow: /settings/"]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")
