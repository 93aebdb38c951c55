"""The insights pages: all of an author's workbooks together, and one workbook.

Each page is the viewer's own (author or staff), rendered for them and never shared or kept.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.http import member
from workbooks.models import Workbook

from . import presentation, selectors


def _period(request: HttpRequest) -> int:
    try:
        return selectors.period(request.GET.get("days"))
    except selectors.BadPeriod as refused:
        # The pages' one error mapping answers a 400 with the reason.
        raise ValidationError(str(refused)) from None


@require_GET
@never_cache
@login_required
def mine(request: HttpRequest) -> HttpResponse:
    days = _period(request)
    insights = selectors.for_author(member(request), days)
    return render(request, "insights/page.html", presentation.context(insights, None))


@require_GET
@never_cache
def workbook(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        found = selectors.workbook_for(request.user, slug=slug)
    except Workbook.DoesNotExist:
        raise Http404("No such workbook.") from None
    days = _period(request)
    insights = selectors.for_workbook(found, days)
    return render(request, "insights/page.html", presentation.context(insights, found))
