"""The picture upload form of the settings and workbook edit pages (their views are the accounts'
and workbooks' own), and the message that follows an upload."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest

from . import services
from .models import Image
from .throttling import UploadThrottle
from .uploads import upload_too_large
from .validation import CONTENT_TYPES, ImageRejected, too_large_message


class PictureForm(forms.Form):
    image = forms.FileField(
        label="Choose a picture",
        widget=forms.FileInput(
            attrs={"accept": ",".join(CONTENT_TYPES.values()), "data-upload-input": ""}
        ),
    )

    def __init__(self, *args, request: HttpRequest | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.status_code = 400
        self.fields[
            "image"
        ].help_text = f"JPEG, PNG, WebP or GIF, up to {settings.MEDIA_MAX_UPLOAD_MB} MB."
        # The browser refuses a too-large file before sending it (static/js/uploads.js).
        self.fields["image"].widget.attrs["data-max-bytes"] = (
            settings.MEDIA_MAX_UPLOAD_MB * 1024 * 1024
        )

    def full_clean(self) -> None:
        super().full_clean()
        if self.request is not None and upload_too_large(self.request):
            self.errors.pop("image", None)
            self.add_error("image", too_large_message())
            self.status_code = 413

    def _throttled(self) -> bool:
        """The API's upload limit, counted together with it (per member per hour)."""
        throttle = UploadThrottle()
        # The page's request (a bound form is always given it): not DRF's Request, but the throttle
        # reads only what both have (method, user, META).
        request: Any = self.request
        if throttle.allow_request(request, SimpleNamespace(throttle_scope="uploads")):
            return False
        minutes = max(1, math.ceil((throttle.wait() or 60) / 60))
        self.add_error(
            None, f"You have uploaded many pictures this hour. Try again in {minutes} minutes."
        )
        self.status_code = 429
        return True

    def save(self, *, owner: Any, kind: str, holder: Any = None) -> Image | None:
        """Accept the upload for `holder` (the owner when not given), or return None with the
        reason on the form."""
        if self._throttled() or not self.is_valid():
            return None
        file = self.cleaned_data["image"]
        try:
            return services.accept_upload(
                owner=owner, kind=kind, file=file, size=file.size, holder=holder
            )
        except ImageRejected as error:
            self.add_error("image", error.message)
            self.status_code = error.status_code
            return None


def report_outcome(request: HttpRequest, image: Image, what: str) -> None:
    """Tell the member how an accepted upload stands (`what`: "picture", "thumbnail")."""
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
