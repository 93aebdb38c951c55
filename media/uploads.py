"""Upload size limits enforced while the body arrives, not after it has all been read."""

from __future__ import annotations

from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from sigma_playground.http import content_length, error_response, is_api, safe_url

from .storage import unavailable
from .validation import count_refused, max_upload_bytes, too_large_message

# Room for the other fields of a multipart form (the CSRF token, a few names) around the file.
FORM_OVERHEAD = 64 * 1024


class SizeLimitUploadHandler(FileUploadHandler):
    """Stops storing a file the moment it passes the limit; the view then answers 413."""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > max_upload_bytes():
            # Django gives every handler its request (the stubs allow none); the flag is ours.
            self.request.upload_too_large = True  # type: ignore[union-attr]
            count_refused("too_large")
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def close_spooled(request: HttpRequest) -> None:
    """Close the part of a file spooled before the disk filled: its space comes back now rather
    than whenever the request and its traceback are collected."""
    for handler in getattr(request, "_upload_handlers", ()):
        spooled = getattr(handler, "file", None)
        if spooled is not None:
            spooled.close()


def upload_too_large(request: HttpRequest) -> bool:
    return getattr(request, "upload_too_large", False)


class UploadSizeLimitMiddleware:
    """Refuses a multipart body larger than any acceptable upload from its Content-Length, before
    a byte of it is read (and before the CSRF check would read the form)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.content_type == "multipart/form-data"
            and content_length(request) > max_upload_bytes() + FORM_OVERHEAD
        ):
            count_refused("too_large")
            return too_large_response(request)
        if request.content_type == "multipart/form-data" and not is_api(request):
            # The CSRF check reads a page's form next, outside any view: a large file spools to
            # the temporary folder as it arrives, and a full one would be an error page there.
            try:
                request.POST  # noqa: B018
            except OSError as error:
                close_spooled(request)
                return storage_unavailable_response(request, error)
        return self.get_response(request)


def storage_unavailable_response(request: HttpRequest, error: OSError) -> HttpResponse:
    refusal = unavailable(error)
    count_refused(refusal.reason)
    back = safe_url(request, request.headers.get("Referer", "")) or "/"
    context = {"message": refusal.message, "back": back}
    return render(request, "media/storage_unavailable.html", context, status=refusal.status_code)


def too_large_response(request: HttpRequest) -> HttpResponse:
    message = too_large_message()
    if is_api(request):
        return error_response(413, message, "file_too_large")
    back = safe_url(request, request.headers.get("Referer", "")) or "/"
    return render(request, "media/too_large.html", {"message": message, "back": back}, status=413)
