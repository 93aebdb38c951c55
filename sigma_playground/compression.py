"""What the views make (pages, JSON, feeds) sent gzipped to clients that accept it.

A page's HTML is most of its weight (a visitor's demo home page: 22.7 KB, sent as 3.7 KB), and on a
phone's connection its bytes come before anything else can start. Static files are compressed ahead
of time by WhiteNoise (above this middleware, it answers them itself) and pictures are compressed
already.

Django's GZipMiddleware pads each compressed body with a few random bytes ("Heal the Breach"), so a
response's length tells an attacker who can make the site echo their text (BREACH) much less about
whether a guess of a secret on the same page was right; the CSRF token is masked afresh for each
response anyway. Pages sent `no-store`, those that show secrets, are not compressed at all.
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
        # No-store pages go as they are: those that show a secret (the two-factor setup's key and
        # recovery codes, sign-in pages with their tokens) can also reflect what a visitor typed, the
        # setting BREACH needs. The padding above only blurs the length; not compressing them
        # removes the signal. They are small and never cached, so little is lost.
        if "no-store" in _cache_directives(response):
            return response
        return super().process_response(request, response)


def _cache_directives(response: HttpResponseBase) -> set[str]:
    return {
        directive.split("=", 1)[0].strip().lower()
        for directive in response.get("Cache-Control", "").split(",")
    }
