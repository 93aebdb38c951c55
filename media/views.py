"""The picture uploads of the settings page (avatar) and the workbook edit page (thumbnail)."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views import static
from django.views.decorators.http import require_POST, require_safe

from . import services
from .forms import PictureForm
from .models import Image
from .storage import FOLDERS

# Exactly the names variants get (as deploy/nginx.conf serves them): nothing else under MEDIA_ROOT.
VARIANT_PATH = re.compile(
    rf"(?:{'|'.join(FOLDERS.values())})/[0-9a-f]{{1,64}}-(?:thumb|small|medium)\.(?:webp|jpg|png)"
)


def _done_message(request: HttpRequest, image: Image, what: str) -> None:
    # Gone already when a newer upload (another tab) finished first, or a removal came between.
    state = Image.objects.filter(pk=image.pk).values("status", "error").first()
    if state is None:
        messages.info(request, f"A newer {what} replaced that one.")
    elif state["status"] == Image.Status.READY:
        messages.success(request, f"Your new {what} is in place.")
    elif state["status"] == Image.Status.FAILED:
        messages.error(request, f"That picture could not be used: {state['error']}")
    else:
        messages.info(request, f"Your new {what} is being processed; it appears in a moment.")


@login_required
@require_POST
def avatar(request: HttpRequest) -> HttpResponse:
    from accounts.views import settings_page

    if request.POST.get("action") == "remove":
        services.remove_avatar(request.user)
        messages.success(request, "Your picture is removed.")
        return redirect("accounts:settings")
    form = PictureForm(request.POST, request.FILES, request=request)
    image = form.save(owner=request.user, kind=Image.Kind.AVATAR)
    if image is None:
        return settings_page(request, picture_form=form, status=form.status_code)
    _done_message(request, image, "picture")
    return redirect("accounts:settings")


@login_required
@require_POST
def thumbnail(request: HttpRequest, slug: str) -> HttpResponse:
    from workbooks.views import edit_page, owned_workbook

    workbook = owned_workbook(request, slug)
    if request.POST.get("action") == "remove":
        services.remove_thumbnail(workbook)
        messages.success(request, "The thumbnail is removed.")
        return redirect("workbooks:edit", slug=workbook.slug)
    form = PictureForm(request.POST, request.FILES, request=request)
    image = form.save(owner=request.user, kind=Image.Kind.THUMBNAIL, workbook=workbook)
    if image is None:
        return edit_page(request, workbook, picture_form=form, status=form.status_code)
    _done_message(request, image, "thumbnail")
    return redirect("workbooks:edit", slug=workbook.slug)


@require_safe
def serve(request: HttpRequest, path: str) -> HttpResponse:
    """Local media in development (DEBUG): only the variant folders, with the type from the name and
    X-Content-Type-Options: nosniff (SecurityMiddleware), so a file is never read as anything but a
    picture. In production a web server or a CDN serves media instead (deploy/nginx.conf)."""
    if not settings.DEBUG or not VARIANT_PATH.fullmatch(path):
        raise Http404
    return static.serve(request, path, document_root=settings.MEDIA_ROOT)
