"""Conventions shared by every API module: the list shape, strict input and what OPTIONS answers.
Error answers are in errors.py, request parsers in parsers.py.

DRF reads DEFAULT_METADATA_CLASS while it defines APIView, so this module must never import
rest_framework.views: see parsers.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import QuerySet
from rest_framework import exceptions, serializers
from rest_framework.metadata import SimpleMetadata
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from . import paging
from .paging import MAX_NUMBERED_PAGE, MAX_PAGE

if TYPE_CHECKING:
    from rest_framework.views import APIView  # for annotations only (see above)


class PageParams(serializers.Serializer[Any]):
    """A page's query parameters, checked: a client that sends `page_size=null` learns it is wrong."""

    page = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)
    page_size = serializers.IntegerField(required=False, min_value=1)
    cursor = serializers.CharField(required=False, max_length=1000)


class BadPage(exceptions.APIException):
    status_code = 400
    default_code = "invalid_cursor"


class Pagination(BasePagination):
    """`{next, previous, results}`; no total count, which would cost a COUNT(*) on every page.

    Keyset (cursor) pages, in the list's own order (paging.keyset_page): `next` and `previous`
    carry an opaque `cursor`, and every page costs what the first does. `page=N` still answers up
    to paging.MAX_NUMBERED_PAGE (its `next` carries a cursor); deeper is a 400 `page_too_deep`.

    A view whose order is a per-request rank (search by relevance) says so with a
    `ranked_paging(request) -> bool` method: its pages are then numbered (up to MAX_PAGE; the
    search caps what it ranks) and a cursor is refused.

    `page_size` above the maximum reads as the maximum, as the schema says."""

    page_size = 24
    page_size_query_param = "page_size"
    page_query_param = "page"
    cursor_query_param = "cursor"
    max_page_size = 100

    def paginate_queryset(  # type: ignore[override]  # pages querysets only, not DRF's sequences
        self, queryset: QuerySet[Any], request: Request, view: APIView | None = None
    ) -> list[Any]:
        self.request = request
        names = (self.page_query_param, self.page_size_query_param, self.cursor_query_param)
        params = PageParams(
            data={
                name: request.query_params[name] for name in names if name in request.query_params
            }
        )
        params.is_valid(raise_exception=True)
        data = params.validated_data
        size = min(data.get(self.page_size_query_param, self.page_size), self.max_page_size)
        number, cursor = data.get(self.page_query_param), data.get(self.cursor_query_param)
        ranked = view is not None and hasattr(view, "ranked_paging") and view.ranked_paging(request)
        if number is not None and cursor is not None:
            raise BadPage("Send `page` or `cursor`, not both.", code="page_and_cursor")
        try:
            if ranked:
                if cursor is not None:
                    raise paging.BadPage(
                        "Results ranked by relevance are paged by `page`, not `cursor`.",
                        "invalid_cursor",
                    )
                self.page = paging.paginate(queryset, number or 1, size)
            elif number is not None and number > 1:
                self.page = paging.numbered_keyset_page(queryset, number, size)
            else:
                self.page = paging.keyset_page(queryset, size, cursor)
        except paging.BadPage as error:
            raise BadPage(str(error), code=error.code) from None
        return self.page.items

    def get_paginated_response(self, data: Any) -> Response:
        page = self.page
        return Response(
            {
                "next": self._link(page.next_params or {"page": page.next_number})
                if page.has_next
                else None,
                "previous": (
                    self._link(page.previous_params or {"page": page.previous_number})
                    if page.has_previous
                    else None
                ),
                "results": data,
            }
        )

    def _link(self, params: dict[str, Any]) -> str:
        url: str = self.request.build_absolute_uri()
        for name in (self.page_query_param, self.cursor_query_param):
            url = remove_query_param(url, name)
        for name, value in params.items():
            if not (name == self.page_query_param and str(value) == "1"):
                url = replace_query_param(url, name, value)
        return url

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: APIView) -> list[Any]:
        ranked = hasattr(view, "ranked_paging")
        page_description = (
            f"The page, from 1, by number: for results ranked by relevance up to {MAX_PAGE}; "
            f"otherwise up to {MAX_NUMBERED_PAGE} (deeper is a 400 `page_too_deep`: follow "
            "`next`)."
            if ranked
            else f"The page, from 1, by number, up to {MAX_NUMBERED_PAGE}; deeper is a 400 "
            "`page_too_deep`: follow `next`, which carries a cursor."
        )
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": (
                    "Where the page starts: the opaque value in a `next` or `previous` link. "
                    "A cursor this list did not give out is a 400 `invalid_cursor`."
                ),
                "schema": {"type": "string", "maxLength": 1000},
            },
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": page_description,
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_PAGE if ranked else MAX_NUMBERED_PAGE,
                },
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


class QueryBooleanField(serializers.Field[bool, Any, bool, Any]):
    """A boolean query parameter as the schema spells one: `true` or `false`. DRF's BooleanField
    also takes `yes`, `1` or an empty value, which the schema does not allow."""

    default_error_messages = {"invalid": 'Must be "true" or "false".'}

    def get_value(self, dictionary: Any) -> Any:
        # DRF reads an empty form value as "not sent"; here it is a value, and not a valid one.
        return dictionary.get(self.field_name, serializers.empty)

    def to_internal_value(self, data: Any) -> bool:
        if data not in ("true", "false"):
            self.fail("invalid")
        return bool(data == "true")

    def to_representation(self, value: bool) -> bool:
        return value


# Ids are 64-bit: a larger number would overflow the database's integer, not find nothing.
MAX_ID = 2**63 - 1


class ModelSerializer(serializers.ModelSerializer[Any]):
    """The base of every API model serializer: model text fields become StrictCharFields."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
    }


class Metadata(SimpleMetadata):
    """What OPTIONS answers: the endpoint's name, description and media types (its methods are in the
    Allow header). Request bodies are described once, by the OpenAPI schema. DRF's default also builds
    a form for POST and PUT from the view's serializer, looking the object up first, which fails (a 500)
    on views whose serializer describes only the response or that have no queryset."""

    def determine_actions(self, request: Request, view: APIView) -> dict[str, Any]:
        return {}
