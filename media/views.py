"""Local media in development. The picture uploads of the settings and workbook edit pages are
the accounts' and workbooks' views (media.forms.PictureForm), as those apps render the pages."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views import static
from django.views.decorators.http import require_safe

from .storage import FOLDERS

# Exactly the names variants get (as deploy/nginx.conf serves them): nothing else under MEDIA_ROOT.
VARIANT_PATH = re.compile(
    rf"(?:{'|'.join(FOLDERS.values())})/[0-9a-f]{{1,64}}-(?:thumb|small|medium)\.(?:webp|jpg|png)"
)


@require_safe
def serve(request: HttpRequest, path: str) -> HttpResponse | FileResponse:
    """Local media in development (DEBUG): only the variant folders, with the type from the name and
    X-Content-Type-Options: nosniff (SecurityMiddleware), so a file is never read as anything but a
    picture. In production a web server or a CDN serves media instead (deploy/nginx.conf)."""
    if not settings.DEBUG or not VARIANT_PATH.fullmatch(path):
        raise Http404
    return static.serve(request, path, document_root=str(settings.MEDIA_ROOT))
