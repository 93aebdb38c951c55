"""Insights API: an author's numbers, theirs and staff's alone; to anyone else a 404."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import member
from workbooks.models import Workbook

from .. import selectors
from .serializers import AuthorInsightsSerializer, InsightsSerializer

DAYS = OpenApiParameter(
    "days", int, enum=list(selectors.PERIODS), default=selectors.DEFAULT_PERIOD,
    description="The period: the last 7, 30 or 90 days (UTC), today included.",
)  # fmt: skip
BAD_REQUEST = OpenApiResponse(description="`days` is not 7, 30 or 90")
NOT_FOUND = OpenApiResponse(description="No such workbook, or not yours")


def _days(request: Request) -> int:
    # The pages' rule, so that an empty `days=` is refused here as there (DRF reads it as unsent).
    try:
        return selectors.period(request.query_params.get("days"))
    except selectors.BadPeriod as refused:
        raise serializers.ValidationError({"days": [str(refused)]}) from None


@extend_schema(
    tags=["insights"],
    parameters=[DAYS],
    responses={200: InsightsSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
)
class WorkbookInsightsView(APIView):
    """One workbook's views, favorites, comments, collection adds and embed health per day, its
    totals and top referring domains. For its author and staff."""

    permission_classes = [permissions.IsAuthenticated]

    def get(self, request: Request, pk: int) -> Response:
        try:
            workbook = selectors.workbook_for(request.user, pk=pk)
        except Workbook.DoesNotExist:
            raise exceptions.NotFound("No such workbook.") from None
        insights = selectors.for_workbook(workbook, _days(request))
        return Response(InsightsSerializer(insights).data)


@extend_schema(
    tags=["insights"],
    parameters=[DAYS],
    responses={200: AuthorInsightsSerializer, 400: BAD_REQUEST},
)
class MyInsightsView(APIView):
    """All your workbooks together: per day, totals, top referring domains, embed health, and
    each workbook's totals."""

    permission_classes = [permissions.IsAuthenticated]

    def get(self, request: Request) -> Response:
        insights = selectors.for_author(member(request), _days(request))
        return Response(AuthorInsightsSerializer(insights).data)
