"""Workbooks API."""

from __future__ import annotations

from typing import cast

from django.http import Http404, HttpRequest
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, parsers, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.http import member
from idempotency.api import idempotent
from media import services as media_services
from media.api.views import UPLOAD_RESPONSES, ImageUploadSerializer
from media.api.views import accept as accept_image
from media.models import Image
from media.throttling import UploadThrottle
from sigma_playground.api import Pagination, QueryBooleanField
from sigma_playground.parsers import FormParser

from .. import embed, selectors, services
from ..favorites import with_is_favorited
from ..models import Workbook, WorkbookQuerySet
from .kept import KeptLists
from .serializers import EmbedSerializer, TagSerializer, WorkbookSerializer


class ListParams(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)
    tag = serializers.SlugField(required=False, allow_blank=True, max_length=50)
    author = serializers.CharField(required=False, allow_blank=True, max_length=30)
    featured = QueryBooleanField(required=False, default=False)
    ordering = serializers.ChoiceField(
        choices=list(selectors.API_ORDERINGS), required=False, allow_blank=True
    )


class RefineSearch(exceptions.APIException):
    status_code = 400
    default_code = "refine_search"


def _ranked_page(request: Request) -> tuple[int, int] | None:
    """The (number, size) of a numbered page, or None when they are not numbers from 1 (the
    pagination answers its own 400 for these)."""
    try:
        number = int(request.query_params.get("page") or 1)
        size = int(request.query_params.get("page_size") or Pagination.page_size)
    except ValueError:
        return None
    return (number, min(size, Pagination.max_page_size)) if number >= 1 and size >= 1 else None


def _refuse_past_kept_results(request: Request) -> None:
    """A search keeps its first SEARCH_RESULTS results: a page past them is a 400 that says to
    narrow the search, before any query, instead of an OFFSET reading rows it would throw away."""
    page = _ranked_page(request)
    if page is not None:
        number, size = page
        try:
            selectors.refuse_past_kept_results(number, size)
        except selectors.TooDeep as error:
            raise RefineSearch(str(error)) from None


LIST_PARAMETERS = [
    OpenApiParameter(
        "q",
        OpenApiTypes.STR,
        description=(
            "Full-text search; the last word matches as a prefix, and a word no workbook holds "
            "also matches its nearest known word (a typo). The newest "
            f"{selectors.SEARCH_RESULTS} matches are ranked; ranked by relevance, a page past "
            "them is a 400 `refine_search`."
        ),
    ),
    OpenApiParameter("tag", OpenApiTypes.STR, description="A tag's slug."),
    OpenApiParameter("author", OpenApiTypes.STR, description="A username."),
    OpenApiParameter(
        "featured", OpenApiTypes.BOOL, description="Only currently featured workbooks."
    ),
    OpenApiParameter(
        "ordering",
        OpenApiTypes.STR,
        # "" is what a form with the default choice sends.
        enum=["", *selectors.API_ORDERINGS],
        description="Empty or absent: relevance when `q` is given, else `-published_at`.",
    ),
]


@extend_schema_view(list=extend_schema(parameters=LIST_PARAMETERS))
class WorkbookViewSet(
    KeptLists,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = WorkbookSerializer
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    throttle_scope = "uploads"  # read only by the thumbnail action's throttle
    # The list, answered to visitors, is shared, and members' pages are made from it (.kept).
    shared_name = "workbooks"
    shared_params = tuple(ListParams().fields)

    def kept_list_applies(self, request: HttpRequest | Request) -> bool:
        return self.action_map.get("get") == "list"

    def get_queryset(self):
        if self.action == "list":
            params = ListParams(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            data = params.validated_data
            search = selectors.Search(
                query=data.get("q", ""),
                tag=data.get("tag", ""),
                author=data.get("author", ""),
                featured=data["featured"],
                sort=selectors.API_ORDERINGS.get(data.get("ordering") or "", ""),
            )
            # Ranked by relevance, a page reads only the ranked rows up to its end.
            page = _ranked_page(self.request) if self.ranked_paging(self.request) else None
            window = page[0] * page[1] + 1 if page else None
            return with_is_favorited(
                selectors.search(search, base=selectors.api_listed(), window=window),
                self.request.user,
            )
        # Drafts are only in their author's (and staff's) queryset: to anyone else they are a 404.
        return with_is_favorited(
            Workbook.objects.visible_to(self.request.user)
            .select_related("author")
            .prefetch_related("tags"),
            self.request.user,
        )

    def get_object(self) -> Workbook:
        """To read: a workbook the caller may open. To change it, upload or remove its thumbnail, or
        delete it: one they may change (or delete); one they may only open is a 403."""
        if self.request.method in permissions.SAFE_METHODS:
            return super().get_object()
        # Removing a thumbnail changes the workbook; only deleting the workbook itself is "delete".
        action = "delete" if self.action == "destroy" else "change"
        # DRF's stubs say filter_queryset answers a QuerySet; it is ours, filtered (get_queryset).
        workbooks = cast(WorkbookQuerySet, self.filter_queryset(self.get_queryset()))
        try:
            workbook = workbooks.get_editable(self.request.user, action, pk=self.kwargs["pk"])
        except (Workbook.DoesNotExist, ValueError):  # ValueError: a pk that is not a number
            raise Http404("No Workbook matches the given query.") from None
        self.check_object_permissions(self.request, workbook)
        return workbook

    def ranked_paging(self, request: Request) -> bool:
        """Searching with no ordering ranks by relevance, per request: numbered pages (the search
        caps how deep they go); every other listing is paged by cursor (sigma_playground.api)."""
        query, ordering = request.query_params.get("q", ""), request.query_params.get("ordering")
        return bool(selectors.search_terms(query)) and not ordering

    def list(self, request: Request, *args, **kwargs) -> Response:
        if self.ranked_paging(request):
            _refuse_past_kept_results(request)
        return super().list(request, *args, **kwargs)

    @idempotent
    def create(self, request: Request, *args, **kwargs) -> Response:
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer[Workbook]) -> None:
        serializer.instance = services.create_workbook(
            member(self.request), **serializer.validated_data
        )

    def perform_update(self, serializer: BaseSerializer[Workbook]) -> None:
        # DRF's update() made the serializer with the workbook (get_object).
        workbook = cast(Workbook, serializer.instance)
        serializer.instance = services.update_workbook(workbook, **serializer.validated_data)

    def perform_destroy(self, workbook: Workbook) -> None:
        services.delete_workbook(workbook)

    @extend_schema(request=ImageUploadSerializer, responses=UPLOAD_RESPONSES, methods=["POST"])
    @extend_schema(responses={204: None}, methods=["DELETE"])
    @action(
        detail=True,
        methods=["post", "delete"],
        url_name="thumbnail",
        parser_classes=[parsers.MultiPartParser, FormParser],
        throttle_classes=[UploadThrottle],
    )
    @idempotent
    def thumbnail(self, request: Request, pk: str | None = None) -> Response:
        """Upload the workbook's thumbnail (202; the current one stays until the new one is ready),
        or remove it (204; a generated placeholder is shown)."""
        workbook = self.get_object()
        if request.method == "DELETE":
            media_services.remove(Image.Kind.THUMBNAIL, workbook.pk)
            return Response(status=status.HTTP_204_NO_CONTENT)
        return accept_image(request, kind=Image.Kind.THUMBNAIL, holder=workbook.pk)

    @extend_schema(responses=EmbedSerializer)
    @action(detail=True, methods=["get"], url_name="embed")
    def embed(self, request: Request, pk: str | None = None) -> Response:
        """The iframe source for this viewer: signed per viewer and per call when secure embedding is on."""
        frame = embed.frame_for(self.get_object(), request.user)
        response = Response(EmbedSerializer(frame).data)
        response["Cache-Control"] = "private, no-store"
        return response


class TagListParams(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True)


@extend_schema(
    parameters=[OpenApiParameter("q", OpenApiTypes.STR, description="Part of a tag's name.")]
)
class TagListView(ListAPIView):
    serializer_class = TagSerializer
    permission_classes = [permissions.AllowAny]

    def get_queryset(self):
        # Checked like any text (a NUL byte is a 400, not a database error); past 40 characters
        # nothing more is matched.
        params = TagListParams(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.tags_with_counts(params.validated_data.get("q", "")[:40])


class FeaturedListView(ListAPIView):
    """The workbooks featured now, in the curators' order."""

    serializer_class = WorkbookSerializer
    permission_classes = [permissions.AllowAny]

    def get_queryset(self):
        return with_is_favorited(
            selectors.featured_queryset(base=selectors.api_listed()), self.request.user
        )
