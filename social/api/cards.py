"""What a page asks about the gallery cards it shows: they sit in fragments cached for every
viewer, so the signed-in viewer's state of them is read separately (static/js/social.js)."""

from __future__ import annotations

from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import AuthenticatedRequest

from .. import selectors
from ..forms import MAX_IDS, parse_ids


@method_decorator(never_cache, name="dispatch")
class FavoritedView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        tags=["workbooks"],
        parameters=[
            OpenApiParameter(
                "ids",
                OpenApiTypes.STR,
                description=(
                    f"Workbook ids, comma-separated; the first {MAX_IDS} are read, a part that is "
                    "not an id is left out."
                ),
            )
        ],
        responses={
            200: inline_serializer(
                "Favorited",
                {
                    "favorited": serializers.ListField(
                        child=serializers.IntegerField(),
                        help_text="Those of the ids you favorited, in ascending order.",
                    )
                },
            ),
            401: OpenApiResponse(description="Not signed in"),
        },
        summary="Which of these workbooks you favorited",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        ids = parse_ids(request.query_params.get("ids", "").split(","))
        return Response({"favorited": selectors.favorited_ids(request.user, ids)})
