"""The endpoint a reader's page tells how the workbook's frame fared: one report per page view."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sigma_playground.http import client_address

from . import embed_health
from .models import Workbook


# Without the CSRF check: the page is sent with navigator.sendBeacon, which cannot send the token,
# and the report acts for nobody. It reads no session and writes nothing about the reader: it adds
# one to a published workbook's daily count, which anyone may do from anywhere, so a cross-site
# request gains nothing a direct one would not. The rate limit per address bounds both.
@csrf_exempt
@require_POST
def embed_outcome(request: HttpRequest, slug: str) -> HttpResponse:
    """POST `outcome=loaded|error|timeout`: counted for a published workbook (204). Drafts are not
    counted: only readers of published workbooks tell an author anything."""
    try:
        outcome = embed_health.Outcome(request.POST.get("outcome", ""))
    except ValueError:
        raise ValidationError(
            "The outcome must be loaded, error or timeout.", code="invalid_outcome"
        ) from None
    try:
        workbook = Workbook.objects.published().only("pk", "slug", "author_id").get(slug=slug)
    except Workbook.DoesNotExist:
        raise Http404("No such workbook.") from None
    embed_health.check_rate(client_address(request), workbook.pk)
    embed_health.record_outcome(workbook, outcome)
    return HttpResponse(status=204)
