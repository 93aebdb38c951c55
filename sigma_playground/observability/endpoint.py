"""/metrics: the site's figures in Prometheus's text format, for Prometheus alone.

Only a request carrying `Authorization: Bearer <METRICS_TOKEN>` gets them; any other request, and
every request while METRICS_TOKEN is unset, gets the 404 an unknown address gets, so the endpoint
does not say that it exists. The WSGI and the ASGI processes serve it alike (a plain Django view).

In multiprocess mode (PROMETHEUS_MULTIPROC_DIR, metrics.py) the answer adds up the files of every
process of this kind, so whichever worker answers, the figures are the kind's; otherwise they are
this process's. Either way the scrape-time collectors (collectors.py) are read too.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import Metric

from . import metrics, process
from .access import token_matches
from .batch import FIGURES
from .collectors import SCRAPE_COLLECTORS, Guarded

SCRAPE_PATH = "/metrics"  # sigma_playground/urls.py routes it here too


class _Scrape:
    """What one scrape reads: the recorded metrics, then the scrape-time collectors."""

    def collect(self) -> Iterator[Metric]:
        directory = metrics.multiprocess_directory()
        if directory is not None:
            yield from metrics.DirectoryCollector(directory).collect()
        else:
            yield from metrics.REGISTRY.collect()
        for collector in SCRAPE_COLLECTORS:
            yield from Guarded(collector).collect()


def exposition() -> bytes:
    """The text Prometheus reads, with this process's own requests and gauges written first."""
    FIGURES.flush()
    process.update(force=True)
    return generate_latest(_Scrape())


# Read-only, and refused without the token: exempt from the CSRF check, which would answer an
# unsafe method 403 and so tell that this address exists where an unknown one gets 404.
@csrf_exempt
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not token_matches(request.headers.get("Authorization")):
        raise Http404
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse(status=405)
        response["Allow"] = "GET, HEAD"
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
