"""The endpoint a reader's page tells how the workbook's frame fared: one report per page view."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sigma_playground.http import client_address

from . import embed_health
from .models import Workbook


def is_same_origin(request: HttpRequest) -> bool:
    """Whether the browser says the request comes from one of this site's own pages: its
    `Sec-Fetch-Site` when it sends one, else its `Origin` (which browsers send with every POST,
    beacons included). A request with neither is refused: no browser running our page sends that."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("Origin")
    return origin is not None and origin == f"{request.scheme}://{request.get_host()}"


# Without Django's CSRF check: the page is sent with navigator.sendBeacon, which cannot send the
# token, and the report acts for nobody and reads no session. It is still a write another site
# could make its visitors' browsers send, so only reports from this site's own pages are taken
# (is_same_origin): otherwise any page could make a healthy workbook look broken to its author.
@csrf_exempt
@require_POST
def embed_outcome(request: HttpRequest, slug: str) -> HttpResponse:
    """POST `outcome=loaded|error|timeout` from one of this site's pages: counted for a published
    workbook (204), once per reader per workbook per embed_health.REPORT_PERIOD. Drafts are not
    counted: only readers of published workbooks tell an author anything."""
    if not is_same_origin(request):
        raise PermissionDenied("Reports are taken from this site's pages only.")
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
    reporter = embed_health.reporter_key(client_address(request))
    # A repeat within the period is answered like a counted report, not with a 429: it comes from a
    # page reloaded, or another reader at the same address, neither of them misuse, and the refusal
    # would be an error in each such reader's console. It is simply not counted.
    if embed_health.first_report(reporter, workbook.pk):
        embed_health.record_outcome(workbook, outcome, reporter=reporter)
    return HttpResponse(status=204)
