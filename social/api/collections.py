"""Collections in the API: a member's ordered selections of workbooks.

Reads go through collection_selectors (what a viewer may see: someone else's private collection is
a 404, someone else's draft is never in one), writes through collection_services, whose refusals
become HTTP answers in the one API error mapping.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, generics, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors as accounts_selectors
from accounts.http import AuthenticatedRequest, member
from idempotency.api import idempotent
from media.api.fields import PICTURE_SCHEMA, picture_urls
from sigma_playground.api import MAX_ID, StrictCharField
from workbooks import selectors as workbook_selectors
from workbooks.models import Workbook

from .. import collection_selectors as selectors
from .. import collection_services as services
from ..models import Collection
from .serializers import MemberSerializer
from .views import BAD_REQUEST, FORBIDDEN, NOT_FOUND, THROTTLED, UNAUTHENTICATED, USERNAME

COVER_SCHEMA: dict[str, Any] = {
    "type": "array",
    "maxItems": selectors.COVER_SIZE,
    "description": "The first workbooks the viewer sees in it, in order, for a cover.",
    "items": {
        "type": "object",
        "required": ["id", "title", "thumbnail"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "thumbnail": PICTURE_SCHEMA,
        },
    },
}


@extend_schema_field(COVER_SCHEMA)
class CoverField(serializers.Field):
    """Read-only: the `cover_items` the selectors prefetch."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        kwargs["source"] = "*"
        super().__init__(**kwargs)

    def to_representation(self, collection: Collection) -> list[dict[str, Any]]:
        request = self.context.get("request")
        return [
            {
                "id": item.workbook.pk,
                "title": item.workbook.title,
                "thumbnail": picture_urls(item.workbook.picture, request),
            }
            for item in getattr(collection, "cover_items", [])
        ]


class CollectionSerializer(serializers.ModelSerializer[Collection]):
    """Expects the collection from collection_selectors (owner, `workbook_count`, `cover_items`)."""

    url = serializers.SerializerMethodField()
    title = StrictCharField(max_length=Collection.TITLE_MAX_LENGTH)
    description = StrictCharField(
        max_length=Collection.DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True
    )
    visibility = serializers.ChoiceField(
        choices=Collection.Visibility.choices, default=Collection.Visibility.PUBLIC
    )
    owner = MemberSerializer(read_only=True)
    workbook_count = serializers.IntegerField(
        read_only=True, help_text="The workbooks in it that you can see."
    )
    cover = CoverField()

    class Meta:
        model = Collection
        fields = [
            "id", "slug", "url", "title", "description", "visibility", "owner",
            "workbook_count", "cover", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "slug", "created_at", "updated_at"]

    def get_url(self, collection: Collection) -> str:
        request = self.context.get("request")
        path = collection.get_absolute_url()
        return request.build_absolute_uri(path) if request else path


class OrderSerializer(serializers.Serializer[Any]):
    workbook_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=1000,
        help_text="Workbooks of the collection, in their new order; any left out follow them.",
    )


def _fresh(request: Request, pk: int) -> Collection:
    return selectors.visible(request.user).get(pk=pk)


def _answer(request: Request, pk: int, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(
        CollectionSerializer(_fresh(request, pk), context={"request": request}).data,
        status=status_code,
    )


@extend_schema(tags=["collections"])
class CollectionListView(generics.ListCreateAPIView):
    """Your collections, latest changed first; POST makes one."""

    permission_classes = [permissions.IsAuthenticated]
    queryset = Collection.objects.none()  # the schema's model; get_queryset answers
    serializer_class = CollectionSerializer

    def get_queryset(self) -> QuerySet[Collection]:
        viewer = member(self.request)
        return selectors.of_member(viewer, viewer)

    @extend_schema(responses={200: CollectionSerializer(many=True), 401: UNAUTHENTICATED})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        responses={
            201: CollectionSerializer,
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            429: THROTTLED,
        },
    )
    @idempotent
    def post(self, request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        collection = services.create(request.user, **serializer.validated_data)
        return _answer(request, collection.pk, status.HTTP_201_CREATED)


class OwnCollectionView(generics.GenericAPIView):
    """Views under /collections/{id}/: a collection you cannot reach by id (someone else's private
    or unlisted one) is a 404; a public one you do not own is a 403 to change."""

    serializer_class = CollectionSerializer

    def get_collection(self) -> Collection:
        try:
            return selectors.by_id(self.request.user).get(pk=self.kwargs["pk"])
        except Collection.DoesNotExist:
            raise exceptions.NotFound("No such collection.") from None

    def get_own_collection(self) -> Collection:
        collection = self.get_collection()
        if collection.owner_id != self.request.user.pk:
            raise exceptions.PermissionDenied(services.NOT_YOURS)
        return collection


@extend_schema(tags=["collections"])
class CollectionView(OwnCollectionView):
    """One collection. Only its owner changes or deletes it."""

    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    @extend_schema(responses={200: CollectionSerializer, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        try:
            return _answer(request, pk)
        except Collection.DoesNotExist:
            raise exceptions.NotFound("No such collection.") from None

    @extend_schema(
        request=CollectionSerializer,
        responses={
            200: CollectionSerializer,
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def patch(self, request: AuthenticatedRequest, pk: int) -> Response:
        collection = self.get_own_collection()
        serializer = CollectionSerializer(collection, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.update(request.user, collection, **serializer.validated_data)
        return _answer(request, pk)

    @extend_schema(responses={204: None, 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND})
    def delete(self, request: AuthenticatedRequest, pk: int) -> Response:
        services.delete(request.user, self.get_own_collection())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["collections"])
class CollectionWorkbookView(OwnCollectionView):
    """A workbook in one of your collections."""

    permission_classes = [permissions.IsAuthenticated]

    def get_workbook(self) -> Workbook:
        try:
            return workbook_selectors.visible(self.kwargs["workbook_id"], self.request.user)
        except Workbook.DoesNotExist:
            raise exceptions.NotFound("No such workbook.") from None

    @extend_schema(
        request=None,
        responses={
            200: CollectionSerializer,
            400: OpenApiResponse(
                description="`not_published`: someone else's draft; `collection_full`: it holds"
                f" {services.MAX_WORKBOOKS} workbooks already"
            ),
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            429: THROTTLED,
        },
        summary="Add the workbook last in the collection (idempotent); answers the collection",
    )
    def put(self, request: AuthenticatedRequest, pk: int, workbook_id: int) -> Response:
        collection = self.get_own_collection()
        services.add(request.user, collection, self.get_workbook())
        return _answer(request, pk)

    @extend_schema(
        request=None,
        responses={204: None, 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND},
        summary="Take the workbook out of the collection (idempotent)",
    )
    def delete(self, request: AuthenticatedRequest, pk: int, workbook_id: int) -> Response:
        collection = self.get_own_collection()
        # By id: a workbook unpublished since it was added can still be taken out. An id beyond
        # MAX_ID names no workbook, and SQLite cannot even compare it with a column: nothing to do.
        if workbook_id <= MAX_ID:
            services.remove(request.user, collection, workbook_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["collections"])
class CollectionOrderView(OwnCollectionView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=OrderSerializer,
        responses={
            200: CollectionSerializer,
            400: OpenApiResponse(description="`not_in_collection` or `duplicate`"),
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
        summary="Put the collection's workbooks in a new order; answers the collection",
    )
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        collection = self.get_own_collection()
        params = OrderSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.reorder(request.user, collection, params.validated_data["workbook_ids"])
        return _answer(request, pk)


@extend_schema(
    tags=["users"],
    parameters=[USERNAME],
    responses={200: CollectionSerializer(many=True), 404: NOT_FOUND},
    summary="The member's public collections (and all of yours, for you), latest changed first",
)
class MemberCollectionsView(generics.ListAPIView):
    queryset = Collection.objects.none()  # the schema's model; get_queryset answers
    serializer_class = CollectionSerializer

    def get_queryset(self) -> QuerySet[Collection]:
        owner = accounts_selectors.active_user_or_404(self.kwargs["username"])
        return selectors.of_member(self.request.user, owner)
