"""The request parsers the API uses by default (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES).

DRF reads its default parser classes while it defines APIView, so this module must never import
rest_framework.views (directly or through another module of ours): whichever imports first, the
other would find this one half-built."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import IO, Any

from django.conf import settings
from django.utils.http import parse_header_parameters
from rest_framework import exceptions, parsers, status

from .http import content_length


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is larger than the server accepts."


class BodySizeLimit(parsers.BaseParser):
    """Parsers that refuse a body over DATA_UPLOAD_MAX_MEMORY_SIZE (413) from its Content-Length,
    before reading it: Django checks that limit only when it parses a form itself, and DRF reads
    JSON and url-encoded bodies from the raw stream."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request is not None and limit is not None and content_length(request) > limit:
            raise RequestTooLarge()
        return super().parse(stream, media_type, parser_context)


# No request body of this API nests past three levels. Deeper ones are refused as malformed: a
# thousand levels exhaust Python's recursion limit in the decoder (a 500), and fewer would still
# strain whatever walks the result (validation, an error that echoes it back).
MAX_JSON_DEPTH = 32


class JSONParser(BodySizeLimit, parsers.JSONParser):
    """JSON bodies, nested at most MAX_JSON_DEPTH levels; deeper ones are a 400."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _too_deep() from None
        if _depth_exceeds(data, MAX_JSON_DEPTH):
            raise _too_deep()
        return data


def _too_deep() -> exceptions.ParseError:
    return exceptions.ParseError(
        f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.", code="parse_error"
    )


def _depth_exceeds(data: Any, limit: int) -> bool:
    """Whether arrays and objects in `data` nest deeper than `limit`; walked without recursion."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        children: Iterable[Any]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class FormParser(BodySizeLimit, parsers.FormParser):
    pass


class MultiPartParser(parsers.MultiPartParser):
    """Multipart bodies, refusing one that holds no part at all although it is longer than the bare
    closing boundary (e.g. `-2428` sent as multipart/form-data): Django reads such a body as an
    empty form, so a PATCH of garbage would succeed as a change of nothing."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        result = super().parse(stream, media_type, parser_context)
        request = (parser_context or {}).get("request")
        if request is None or result.data or result.files:
            return result
        boundary = parse_header_parameters(media_type or "")[1].get("boundary", "")
        # What a client sends for a form with no field: the closing boundary, and a line break.
        if content_length(request) > len(f"--{boundary}--\r\n"):
            raise exceptions.ParseError("The multipart body holds no part.")
        return result
