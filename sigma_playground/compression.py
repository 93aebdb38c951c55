"""What the views make (pages, JSON, feeds) sent gzipped to clients that accept it.

A page's HTML is most of its weight (the demo's home page 40 KB, 4 KB gzipped), and on a phone's
connection its bytes come before anything else can start. Static files are compressed ahead of time
by WhiteNoise (above this middleware, it answers them itself) and pictures are compressed already.

Django's GZipMiddleware pads each compressed body with a few random bytes ("Heal the Breach"), so a
response's length does not tell an attacker who can make the site echo their text (BREACH) whether a
guess of a secret on the same page was right; the CSRF token is masked afresh for each response anyway.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.middleware.gzip import GZipMiddleware


class CompressionMiddleware(GZipMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        # Streams pass as they are: Django compresses an async stream chunk by chunk into separate
        # gzip members, which breaks an event stream, and the streamed files (an account's export,
        # pictures in development) are compressed archives and images already.
        if response.streaming:
            return response
        return super().process_response(request, response)
