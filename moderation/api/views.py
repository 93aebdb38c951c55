"""POST /api/v1/reports/: a member reports a workbook, a comment or a member (docs/api.md)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.response import Response

from accounts.http import AuthenticatedRequest
from idempotency.api import idempotent

from .. import services
from .serializers import NewReportSerializer, ReportSerializer


@extend_schema(tags=["reports"])
class ReportCreateView(generics.GenericAPIView):
    """Report something to the moderators. One open report per member and target; what you
    cannot see is a 404, as if it did not exist."""

    serializer_class = NewReportSerializer
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=NewReportSerializer,
        responses={
            201: ReportSerializer,
            400: OpenApiResponse(
                description="Invalid input, your own content (`own_content`), or already "
                "reported by you and still open (`already_reported`)"
            ),
            401: OpenApiResponse(description="Not signed in"),
            404: OpenApiResponse(description="No such thing, or not visible to you"),
            429: OpenApiResponse(description="Too many reports this minute; see Retry-After"),
        },
    )
    @idempotent
    def post(self, request: AuthenticatedRequest) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = services.report(
            request.user, data["target"], data["id"], data["reason"], data["text"]
        )
        answer = ReportSerializer(report, context={"ref": data["id"]})
        return Response(answer.data, status=status.HTTP_201_CREATED)
