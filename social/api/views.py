"""Social API: users and the social graph, and workbooks' favorites and comments.

Every write goes through social.services, whose exceptions become HTTP answers in one place
(sigma_playground.errors.exception_handler). What a viewer may see is decided by the querysets: a
member who is not active, or a workbook the viewer cannot open, is a 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, permissions, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as accounts_selectors
from accounts.api.authentication import for_reads
from accounts.http import AuthenticatedRequest, member
from accounts.models import User
from idempotency.api import idempotent
from sigma_playground.api import Pagination, QueryBooleanField
from workbooks import selectors as workbook_selectors
from workbooks.api.kept import KeptLists
from workbooks.api.serializers import WorkbookSerializer
from workbooks.models import Workbook

from .. import kept, selectors, services
from ..models import Activity, Comment, Notification
from .serializers import (
    ActivitySerializer,
    BlockedMemberSerializer,
    CommentSerializer,
    MarkReadSerializer,
    MemberSerializer,
    NotificationSerializer,
    ProfileSerializer,
)

if TYPE_CHECKING:
    from rest_framework.mixins import ListModelMixin
    from rest_framework.serializers import BaseSerializer

    class _ListView(ListModelMixin, generics.GenericAPIView[Any]):
        """What KeptForMember is mixed into."""

else:
    _ListView = object

USERNAME = OpenApiParameter(
    "username", OpenApiTypes.STR, OpenApiParameter.PATH, description="In any case."
)
BAD_REQUEST = OpenApiResponse(description="Invalid input")
UNAUTHENTICATED = OpenApiResponse(description="Not signed in")
FORBIDDEN = OpenApiResponse(description="Not yours to change")
NOT_FOUND = OpenApiResponse(description="No such thing, or not visible to you")
THROTTLED = OpenApiResponse(description="Too many of these actions this minute; see Retry-After")
BLOCKED = OpenApiResponse(description="`blocked`: one of you blocks the other")


# --- Members --------------------------------------------------------------------------------------


def profile(viewer: User | AnonymousUser, username: str) -> User:
    try:
        return selectors.profile(viewer, username)
    except User.DoesNotExist:
        raise exceptions.NotFound("No such member.") from None


# At most this many members suggested as one types (the explore page's search box).
PEOPLE_SUGGESTED = 8


class MemberSearchParams(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True)


@extend_schema(
    tags=["users"],
    parameters=[
        OpenApiParameter("q", OpenApiTypes.STR, description="Part of a username or a name.")
    ],
    responses={200: MemberSerializer(many=True), 400: BAD_REQUEST},
    summary="Members whose username or name holds `q`, by username (at most 8; none without `q`)",
)
class MemberSearchView(APIView):
    """Suggestions, not a directory: a few members, unpaged, for a search box."""

    permission_classes = [permissions.AllowAny]

    def get(self, request: Request) -> Response:
        # Checked like any text (a NUL byte is a 400, not a database error); past 40 characters
        # nothing more is matched.
        params = MemberSearchParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        people = accounts_selectors.search_people(
            params.validated_data.get("q", "")[:40], limit=PEOPLE_SUGGESTED
        )
        return Response(MemberSerializer(people, many=True, context={"request": request}).data)


class MemberView(generics.GenericAPIView):
    """Views under /users/{username}/."""

    def get_member(self) -> User:
        return accounts_selectors.active_user_or_404(self.kwargs["username"])


@extend_schema(
    tags=["users"], parameters=[USERNAME], responses={200: ProfileSerializer, 404: NOT_FOUND}
)
class ProfileView(MemberView):
    serializer_class = ProfileSerializer

    def get(self, request: Request, username: str) -> Response:
        return Response(
            ProfileSerializer(profile(request.user, username), context={"request": request}).data
        )


class MemberListView(MemberView, generics.ListAPIView):
    pass


@extend_schema(
    tags=["users"],
    parameters=[USERNAME],
    responses={200: WorkbookSerializer(many=True), 404: NOT_FOUND},
    summary="The member's published workbooks, newest first",
)
class MemberWorkbooksView(KeptLists, MemberListView):
    queryset = Workbook.objects.none()  # the schema's model; get_queryset answers
    serializer_class = WorkbookSerializer
    # Answered to visitors, shared, and members' pages are made from it (workbooks.api.kept): a
    # member's deactivation or new name changes the gallery's version.
    shared_name = "user-workbooks"

    def get_queryset(self) -> QuerySet[Workbook]:
        workbooks = workbook_selectors.api_listed().filter(author=self.get_member())
        return selectors.with_is_favorited(
            workbooks.order_by(*workbook_selectors.SORTS["latest"]), self.request.user
        )


@extend_schema(
    tags=["users"],
    parameters=[USERNAME],
    responses={200: WorkbookSerializer(many=True), 404: NOT_FOUND},
    summary="The published workbooks the member favorited, last favorited first",
)
class MemberFavoritesView(MemberListView):
    queryset = Workbook.objects.none()  # the schema's model; get_queryset answers
    serializer_class = WorkbookSerializer

    def get_queryset(self) -> QuerySet[Workbook]:
        workbooks = selectors.favorites_of(self.get_member(), base=workbook_selectors.api_listed())
        return selectors.with_is_favorited(workbooks, self.request.user)


@extend_schema(
    tags=["users"],
    parameters=[USERNAME],
    responses={200: MemberSerializer(many=True), 404: NOT_FOUND},
    summary="Who follows the member, newest first",
)
class FollowersView(MemberListView):
    queryset = User.objects.none()  # the schema's model; get_queryset answers
    serializer_class = MemberSerializer

    def get_queryset(self) -> QuerySet[User]:
        return selectors.followers_of(self.get_member())


@extend_schema(
    tags=["users"],
    parameters=[USERNAME],
    responses={200: MemberSerializer(many=True), 404: NOT_FOUND},
    summary="Whom the member follows, newest first",
)
class FollowingView(MemberListView):
    queryset = User.objects.none()  # the schema's model; get_queryset answers
    serializer_class = MemberSerializer

    def get_queryset(self) -> QuerySet[User]:
        return selectors.following_of(self.get_member())


@extend_schema(tags=["users"], parameters=[USERNAME])
class FollowView(MemberView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = ProfileSerializer

    @extend_schema(
        request=None,
        responses={
            200: ProfileSerializer,
            400: OpenApiResponse(description="`self_follow`: you cannot follow yourself"),
            401: UNAUTHENTICATED,
            403: BLOCKED,
            404: NOT_FOUND,
            429: THROTTLED,
        },
        summary="Follow the member (idempotent); answers their profile",
    )
    def put(self, request: AuthenticatedRequest, username: str) -> Response:
        services.follow(request.user, self.get_member())
        return Response(
            ProfileSerializer(profile(request.user, username), context={"request": request}).data
        )

    @extend_schema(
        request=None,
        responses={204: None, 401: UNAUTHENTICATED, 404: NOT_FOUND},
        summary="Stop following the member (idempotent)",
    )
    def delete(self, request: AuthenticatedRequest, username: str) -> Response:
        services.unfollow(request.user, self.get_member())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["users"], parameters=[USERNAME])
class BlockView(MemberView):
    """Blocking a member: they can no longer follow you, comment on your workbooks or notify you,
    and you no longer see their comments. They are not told."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = BlockedMemberSerializer

    @extend_schema(
        request=None,
        responses={
            200: BlockedMemberSerializer,
            400: OpenApiResponse(description="`self_block`: you cannot block yourself"),
            401: UNAUTHENTICATED,
            404: NOT_FOUND,
            429: THROTTLED,
        },
        summary="Block the member (idempotent); answers them as your blocked list shows them",
    )
    def put(self, request: AuthenticatedRequest, username: str) -> Response:
        person = self.get_member()
        services.block(request.user, person)
        blocked = selectors.blocked_members(request.user).get(pk=person.pk)
        return Response(BlockedMemberSerializer(blocked, context={"request": request}).data)

    @extend_schema(
        request=None,
        responses={
            204: None,
            400: OpenApiResponse(description="`self_block`: you cannot block yourself"),
            401: UNAUTHENTICATED,
            404: NOT_FOUND,
            429: THROTTLED,
        },
        summary="Stop blocking the member (idempotent); follows the block removed stay removed",
    )
    def delete(self, request: AuthenticatedRequest, username: str) -> Response:
        services.unblock(request.user, self.get_member())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=["users"],
    responses={200: BlockedMemberSerializer(many=True), 401: UNAUTHENTICATED},
    summary="The members you block, newest block first",
)
class MyBlocksView(generics.ListAPIView):
    permission_classes = [permissions.IsAuthenticated]
    queryset = User.objects.none()  # the schema's model; get_queryset answers
    serializer_class = BlockedMemberSerializer

    def get_queryset(self) -> QuerySet[User]:
        return selectors.blocked_members(member(self.request))


# --- Feed and notifications -----------------------------------------------------------------------


class KeptForMember(_ListView):
    """A member's own list whose first page is kept whole for them (social.kept, as the HTML feed
    and notifications pages are): a reload is one cache read while nothing it shows has changed
    (`kept_depends`: the tokens the rows depend on, read before them; the gallery's version and the
    minute). Only a GET answered as plain `application/json` is kept or served from the copy."""

    kept_name: str

    def kept_depends(self, user: User) -> dict[str, str] | None:
        raise NotImplementedError

    def get_authenticators(self) -> list[BaseAuthentication]:
        # The page uses nothing of the member but who they are (accounts.api.authentication).
        return for_reads(self, super().get_authenticators())

    def fresh_list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    # A kept copy is Django's HttpResponse, which DRF sends as it is; the stubs want a Response.
    def list(self, request: Request, *args, **kwargs) -> HttpResponse:  # type: ignore[override]
        if request.method != "GET" or request.accepted_media_type != "application/json":
            return self.fresh_list(request, *args, **kwargs)

        def render():
            response = self.fresh_list(request, *args, **kwargs)
            response = self.finalize_response(request, response, *args, **kwargs)
            response.render()
            return response

        return kept.page(
            request._request, self.kept_name, lambda: self.kept_depends(member(request)), render
        )


@extend_schema(tags=["feed"], responses={200: ActivitySerializer(many=True), 401: UNAUTHENTICATED})
class FeedView(KeptForMember, generics.ListAPIView):
    """What the members you follow did, newest first."""

    permission_classes = [permissions.IsAuthenticated]
    queryset = Activity.objects.none()  # the schema's model; get_queryset answers
    serializer_class = ActivitySerializer
    kept_name = "api-feed"

    def kept_depends(self, user: User) -> dict[str, str] | None:
        return selectors.feed_tokens(user)

    def get_queryset(self):
        return selectors.feed_for(member(self.request))


class NotificationListParams(serializers.Serializer):
    unread = QueryBooleanField(required=False, default=False)


class NotificationPagination(Pagination):
    """The usual page, plus `unread_count` (which the view adds)."""

    def get_paginated_response_schema(self, schema: dict) -> dict:
        page = super().get_paginated_response_schema(schema)
        page["properties"]["unread_count"] = {
            "type": "integer",
            "description": "All your unread notifications, whatever the filter.",
        }
        page["required"] = [*page["required"], "unread_count"]
        return page


@extend_schema(
    tags=["notifications"],
    parameters=[
        OpenApiParameter("unread", OpenApiTypes.BOOL, description="Only unread notifications.")
    ],
    responses={200: NotificationSerializer(many=True), 400: BAD_REQUEST, 401: UNAUTHENTICATED},
)
class NotificationListView(KeptForMember, generics.ListAPIView):
    """Your notifications, newest first, and how many are unread. Each is the object the websocket
    sends."""

    permission_classes = [permissions.IsAuthenticated]
    queryset = Notification.objects.none()  # the schema's model; get_queryset answers
    serializer_class = NotificationSerializer
    pagination_class = NotificationPagination
    kept_name = "api-notifications"

    def kept_depends(self, user: User) -> dict[str, str] | None:
        return selectors.notifications_tokens(user.pk)

    def get_queryset(self) -> QuerySet[Notification]:
        params = NotificationListParams(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.notifications_for(
            member(self.request), unread_only=params.validated_data["unread"]
        )

    def fresh_list(self, request: Request, *args, **kwargs) -> Response:
        response = super().fresh_list(request, *args, **kwargs)
        response.data["unread_count"] = selectors.unread_count(member(request).pk)
        return response


@extend_schema(
    tags=["notifications"],
    request=MarkReadSerializer,
    responses={204: None, 400: BAD_REQUEST, 401: UNAUTHENTICATED},
)
class MarkReadView(APIView):
    """Mark some notifications (`ids`) or all of them (`all: true`) read."""

    permission_classes = [permissions.IsAuthenticated]

    def post(self, request: AuthenticatedRequest) -> Response:
        params = MarkReadSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        ids = None if params.validated_data.get("all") else params.validated_data["ids"]
        services.mark_read(request.user, ids)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Favorites and comments -----------------------------------------------------------------------


class WorkbookView(generics.GenericAPIView):
    """Views under /workbooks/{id}/: a workbook the viewer cannot open is a 404."""

    def get_workbook(self) -> Workbook:
        try:
            return workbook_selectors.visible(self.kwargs["pk"], self.request.user)
        except Workbook.DoesNotExist:
            raise exceptions.NotFound("No such workbook.") from None


@extend_schema(tags=["workbooks"])
class FavoriteView(WorkbookView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = WorkbookSerializer

    @extend_schema(
        request=None,
        responses={
            200: WorkbookSerializer,
            400: OpenApiResponse(description="`not_published`: a draft cannot be favorited"),
            401: UNAUTHENTICATED,
            404: NOT_FOUND,
            429: THROTTLED,
        },
        summary="Favorite the workbook (idempotent); answers the workbook",
    )
    def put(self, request: AuthenticatedRequest, pk: int) -> Response:
        workbook = self.get_workbook()
        # A draft (seen only by its author or staff) is a 400 not_published.
        services.favorite(request.user, workbook)
        workbook = selectors.with_is_favorited(
            workbook_selectors.api_list().filter(pk=workbook.pk), request.user
        ).get()
        return Response(WorkbookSerializer(workbook, context=self.get_serializer_context()).data)

    @extend_schema(
        request=None,
        responses={204: None, 401: UNAUTHENTICATED, 404: NOT_FOUND},
        summary="Remove the workbook from your favorites (idempotent)",
    )
    def delete(self, request: AuthenticatedRequest, pk: int) -> Response:
        services.unfavorite(request.user, self.get_workbook())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["comments"])
class CommentListView(WorkbookView, generics.ListCreateAPIView):
    """The workbook's comments, oldest first; anyone who can open the workbook can comment."""

    queryset = Comment.objects.none()  # the schema's model; get_queryset answers
    serializer_class = CommentSerializer

    @extend_schema(responses={200: CommentSerializer(many=True), 404: NOT_FOUND})
    def get(self, request: Request, *args, **kwargs) -> Response:
        workbook = self.get_workbook()
        # A page, not None: every API view has the project's paginator (DEFAULT_PAGINATION_CLASS).
        # Without the comments of members the viewer blocks.
        shown = selectors.comments_for(workbook, request.user)
        comments = cast("list[Comment]", self.paginate_queryset(shown))
        for comment in comments:
            # Who may delete depends on the workbook's author: the one workbook, not a query each.
            comment.workbook = workbook
        return self.get_paginated_response(self.get_serializer(comments, many=True).data)

    @extend_schema(
        responses={
            201: CommentSerializer,
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            403: OpenApiResponse(description="`blocked`: the workbook's author blocks you"),
            404: NOT_FOUND,
            429: THROTTLED,
        },
    )
    @idempotent
    def post(self, request: AuthenticatedRequest, *args, **kwargs) -> Response:
        workbook = self.get_workbook()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.add_comment(request.user, workbook, serializer.validated_data["body"])
        return Response(self.get_serializer(comment).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["comments"])
class CommentView(generics.RetrieveUpdateDestroyAPIView):
    """One comment. Its author may edit it for 15 minutes; its author, the workbook's author or
    staff may delete it. A comment on a workbook you cannot open is a 404."""

    serializer_class = CommentSerializer
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Comment]:
        return selectors.visible_comments(self.request.user)

    def get_object(self) -> Comment:
        """To read: a comment on a workbook the caller may open. To edit or delete it: one they may
        edit or delete, checked before the body is; one they may only read is a 403."""
        if self.request.method in permissions.SAFE_METHODS:
            return super().get_object()
        action = "delete" if self.request.method == "DELETE" else "change"
        try:
            comment = selectors.changeable_comment(self.request.user, action, self.kwargs["pk"])
        except Comment.DoesNotExist:
            raise Http404("No Comment matches the given query.") from None
        self.check_object_permissions(self.request, comment)
        return comment

    @extend_schema(
        responses={
            200: CommentSerializer,
            400: BAD_REQUEST,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def patch(self, request: Request, *args, **kwargs) -> Response:
        return super().patch(request, *args, **kwargs)

    @extend_schema(responses={204: None, 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND})
    def delete(self, request: Request, *args, **kwargs) -> Response:
        return super().delete(request, *args, **kwargs)

    def perform_update(self, serializer: BaseSerializer[Comment]) -> None:
        if "body" not in serializer.validated_data:
            return  # nothing to change (PATCH {})
        # DRF's update() made the serializer with the comment (get_object).
        comment = cast(Comment, serializer.instance)
        serializer.instance = services.edit_comment(
            member(self.request), comment, serializer.validated_data["body"]
        )

    def perform_destroy(self, comment: Comment) -> None:
        services.delete_comment(member(self.request), comment)
