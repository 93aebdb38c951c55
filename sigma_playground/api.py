"""Conventions shared by every API module: the error body and the list shape (API.md, "Conventions")."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.metadata import SimpleMetadata
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from .paging import page_number, paginate


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with a machine-readable `code` next to every `detail`."""
    # Django's own 404 and 403 (from shared helpers such as accounts.selectors.active_user_or_404)
    # as DRF's, so they get their code too.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args[:1])
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args[:1])
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


class Pagination(PageNumberPagination):
    """`{next, previous, results}`; no total count, which would cost a COUNT(*) on every page."""

    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page = paginate(
            queryset,
            page_number(request.query_params.get(self.page_query_param)),
            self.get_page_size(request),
        )
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


class Metadata(SimpleMetadata):
    """What OPTIONS answers: the endpoint's name, description and media types (its methods are in the
    Allow header). Request bodies are described once, by the OpenAPI schema. DRF's default also builds
    a form for POST and PUT from the view's serializer, looking the object up first, which fails (a 500)
    on views whose serializer describes only the response or that have no queryset."""

    def determine_actions(self, request, view) -> dict:
        return {}
