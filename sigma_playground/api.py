"""Conventions shared by every API module: the error body, the list shape,
strict input, and JSON errors for whatever answers an /api/ request before or instead of DRF."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.views import csrf, defaults
from rest_framework import exceptions, parsers, serializers, status
from rest_framework.metadata import SimpleMetadata
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from .http import content_length, error_response, is_api
from .paging import paginate


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is larger than the server accepts."


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with a machine-readable `code` next to every `detail`."""
    # Django's own 404 and 403 (from shared helpers such as accounts.selectors.active_user_or_404)
    # as DRF's, so they get their code too.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args[:1])
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args[:1])
    # Django's limits on a body, met while DRF parses it; unhandled they become an HTML 400 page.
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = exceptions.ParseError("The request has too many fields.", code="too_many_fields")
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError("The request was refused as malformed.", code="bad_request")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and "detail" in data and "code" not in data:
        codes = exc.get_codes() if hasattr(exc, "get_codes") else None
        if isinstance(codes, dict):
            codes = codes.get("detail")
        if isinstance(codes, str):
            data["code"] = codes
    return response


# A page past this would cost an OFFSET no reader needs.
MAX_PAGE = 10_000


class PageParams(serializers.Serializer):
    """A page's query parameters, checked: a client that sends `page_size=null` learns it is wrong."""

    page = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)
    page_size = serializers.IntegerField(required=False, min_value=1)


class Pagination(PageNumberPagination):
    """`{next, previous, results}`; no total count, which would cost a COUNT(*) on every page.

    `page_size` above the maximum reads as the maximum, as the schema says; a page past MAX_PAGE is
    refused."""

    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        params = PageParams(
            data={
                name: request.query_params[name]
                for name in (self.page_query_param, self.page_size_query_param)
                if name in request.query_params
            }
        )
        params.is_valid(raise_exception=True)
        data = params.validated_data
        size = min(data.get(self.page_size_query_param, self.page_size), self.max_page_size)
        self.page = paginate(queryset, data.get(self.page_query_param, 1), size)
        return self.page.items

    def get_paginated_response(self, data):
        return Response(
            {
                "next": self._link(self.page.next_number) if self.page.has_next else None,
                "previous": (
                    self._link(self.page.previous_number) if self.page.has_previous else None
                ),
                "results": data,
            }
        )

    def _link(self, number: int) -> str:
        url = self.request.build_absolute_uri()
        if number == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, number)

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "The page, from 1.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": (
                    f"Results per page (default {self.page_size}); "
                    f"more than {self.max_page_size} reads as {self.max_page_size}."
                ),
                "schema": {"type": "integer", "minimum": 1},
            },
        ]


# --- Input: strings are strings, bodies have a size ----------------------------------------------


class StrictCharField(serializers.CharField):
    """Text, and only text: DRF's CharField stores a JSON number or boolean as its string
    (`0` as "0"), which the schema, saying `type: string`, promises to refuse."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        # The schema's maxLength is of the text as sent; DRF would measure it after trimming.
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class QueryBooleanField(serializers.Field):
    """A boolean query parameter as the schema spells one: `true` or `false`. DRF's BooleanField
    also takes `yes`, `1` or an empty value, which the schema does not allow."""

    default_error_messages = {"invalid": 'Must be "true" or "false".'}

    def get_value(self, dictionary: Any) -> Any:
        # DRF reads an empty form value as "not sent"; here it is a value, and not a valid one.
        return dictionary.get(self.field_name, serializers.empty)

    def to_internal_value(self, data: Any) -> bool:
        if data not in ("true", "false"):
            self.fail("invalid")
        return data == "true"

    def to_representation(self, value: bool) -> bool:
        return value


# Ids are 64-bit: a larger number would overflow the database's integer, not find nothing.
MAX_ID = 2**63 - 1


class ModelSerializer(serializers.ModelSerializer):
    """The base of every API model serializer: model text fields become StrictCharFields."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
    }


class BodySizeLimit:
    """Parsers that refuse a body over DATA_UPLOAD_MAX_MEMORY_SIZE (413) from its Content-Length,
    before reading it: Django checks that limit only when it parses a form itself, and DRF reads
    JSON and url-encoded bodies from the raw stream."""

    def parse(self, stream, media_type=None, parser_context=None):
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

    def parse(self, stream, media_type=None, parser_context=None):
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
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
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


# --- Answers given outside DRF: JSON on /api/, the site's pages elsewhere ------------------------


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return error_response(413, RequestTooLarge.default_detail, RequestTooLarge.default_code)
        return error_response(400, "The request was refused as malformed.", "bad_request")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return error_response(
            403, "You do not have permission to perform this action.", "permission_denied"
        )
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return error_response(404, "Not found.", "not_found")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return error_response(500, "A server error occurred.", "server_error")
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api(request):
        return error_response(403, f"CSRF Failed: {reason}", "csrf_failed")
    return csrf.csrf_failure(request, reason)


class Metadata(SimpleMetadata):
    """What OPTIONS answers: the endpoint's name, description and media types (its methods are in the
    Allow header). Request bodies are described once, by the OpenAPI schema. DRF's default also builds
    a form for POST and PUT from the view's serializer, looking the object up first, which fails (a 500)
    on views whose serializer describes only the response or that have no queryset."""

    def determine_actions(self, request, view) -> dict:
        return {}
