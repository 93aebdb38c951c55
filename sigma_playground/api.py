"""Conventions shared by every API module: the list shape, strict input and what OPTIONS answers.
Error answers are in errors.py, request parsers in parsers.py.

DRF reads DEFAULT_METADATA_CLASS while it defines APIView, so this module must never import
rest_framework.views: see parsers.py."""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import serializers
from rest_framework.metadata import SimpleMetadata
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from .paging import paginate

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


class Metadata(SimpleMetadata):
    """What OPTIONS answers: the endpoint's name, description and media types (its methods are in the
    Allow header). Request bodies are described once, by the OpenAPI schema. DRF's default also builds
    a form for POST and PUT from the view's serializer, looking the object up first, which fails (a 500)
    on views whose serializer describes only the response or that have no queryset."""

    def determine_actions(self, request, view) -> dict:
        return {}
