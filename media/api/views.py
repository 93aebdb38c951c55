"""Uploading avatars and thumbnails (`/me/avatar/`, `/workbooks/{id}/thumbnail/`), following an
image's processing, and direct-to-storage uploads when media is on S3."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, parsers, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from idempotency.api import idempotent
from sigma_playground.api import StrictCharField
from sigma_playground.parsers import FormParser

from .. import holders, services
from ..models import Image
from ..storage import unavailable
from ..throttling import UploadThrottle
from ..uploads import close_spooled, upload_too_large
from ..validation import ImageRejected, ImageTooLarge, count_refused, too_large_message
from .fields import PictureField


class ImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField(
        help_text="JPEG, PNG, WebP or GIF (first frame); the type is read from the content."
    )


class ImageSerializer(serializers.ModelSerializer):
    picture = PictureField()

    class Meta:
        model = Image
        fields = ["id", "kind", "status", "error", "picture", "created_at"]
        read_only_fields = fields


class ImageStatusSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Image.Status.choices)


def rejected(error: ImageRejected) -> exceptions.APIException:
    """400 as a field error on `image`; 413, 415, and 503 or 507 when storage cannot take the file
    (media.storage.StorageUnavailable), as {detail, code}: DRF's usual bodies."""
    if error.status_code == 400:
        return exceptions.ValidationError({"image": [error.message]}, code=error.code)
    exception = exceptions.APIException(error.message, code=error.code)
    exception.status_code = error.status_code
    return exception


def accept(request: Request, *, kind: str, holder: Any = None) -> Response:
    """Shared by the avatar and thumbnail endpoints: check the file, queue it, answer 202.
    `holder`: the key of the row the picture is for (the uploader's when not given); the view of
    the app owning that row has checked the member may change it."""
    try:
        data = request.data  # parsed here; the size-limit handler flags a file it stopped
    except OSError as error:  # a large file spools to the temporary folder as it arrives
        close_spooled(request._request)
        refusal = unavailable(error)
        count_refused(refusal.reason)
        raise rejected(refusal) from None
    if upload_too_large(request._request):
        raise rejected(ImageTooLarge(too_large_message()))
    serializer = ImageUploadSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    file = serializer.validated_data["image"]
    try:
        image = services.accept_upload(
            owner=request.user, kind=kind, file=file, size=file.size, holder=holder
        )
    except ImageRejected as error:
        raise rejected(error) from None
    # "processing" even where tasks run in the request and it is ready already, as the schema says.
    return Response(
        {"id": image.id, "status": Image.Status.PROCESSING},
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": request.build_absolute_uri(f"/api/v1/images/{image.id}/")},
    )


UPLOAD_RESPONSES = {
    202: OpenApiResponse(ImageStatusSerializer, description="Accepted; follow it at /images/{id}/"),
    400: OpenApiResponse(description="Not a usable picture: damaged, empty, too many pixels"),
    413: OpenApiResponse(description="Larger than the upload limit"),
    415: OpenApiResponse(description="Not a JPEG, PNG, WebP or GIF"),
    503: OpenApiResponse(description="The picture cannot be stored just now; try again later"),
    507: OpenApiResponse(description="No room to store the picture just now; try again later"),
}


class AvatarView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [parsers.MultiPartParser, FormParser]
    throttle_classes = [UploadThrottle]
    throttle_scope = "uploads"

    @extend_schema(request=ImageUploadSerializer, responses=UPLOAD_RESPONSES)
    @idempotent
    def post(self, request: Request) -> Response:
        """Upload a new avatar. The current one stays until the new one is ready."""
        return accept(request, kind=Image.Kind.AVATAR)

    @extend_schema(responses={204: None})
    def delete(self, request: Request) -> Response:
        """Remove the avatar; generated initials are shown instead."""
        services.remove_avatar(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ImageView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=ImageSerializer)
    def get(self, request: Request, pk: str) -> Response:
        """An upload's processing state (only its uploader sees it): processing, ready or failed."""
        image = get_object_or_404(Image, pk=pk, owner=request.user)
        return Response(ImageSerializer(image, context={"request": request}).data)


# --- Direct uploads ---------------------------------------------------------------------------------


class DirectUploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Image.Kind.choices)
    workbook = serializers.IntegerField(
        required=False, help_text="The workbook's id; required for a thumbnail."
    )
    content_type = StrictCharField(max_length=100, help_text="image/jpeg, image/png, ...")
    size = serializers.IntegerField(min_value=0, help_text="The file's size in bytes.")

    def validate(self, data: dict) -> dict:
        """Names the picture's holder: the workbook for a thumbnail (whose app checks the member may
        change it, media.holders), the uploader for an avatar."""
        workbook = data.pop("workbook", None)
        if data["kind"] == Image.Kind.THUMBNAIL:
            if workbook is None:
                raise serializers.ValidationError({"workbook": ["A thumbnail needs its workbook."]})
            try:
                data["holder"] = holders.checked(
                    data["kind"], self.context["request"].user, workbook
                )
            except holders.Refused as refused:
                raise refused_by_holder(refused) from None
        return data


def refused_by_holder(refused: holders.Refused) -> exceptions.APIException:
    if refused.hidden:
        return exceptions.NotFound(refused.message)
    return exceptions.PermissionDenied(refused.message)


class PresignedPostSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.URLField(help_text="POST the form here, as multipart/form-data.")
    # A declared field: DRF's metaclass takes it off the class, so Serializer.fields is not replaced.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.CharField(), help_text="Form fields to send before the `file` field."
    )
    expires_in = serializers.IntegerField(help_text="Seconds the form stays valid.")
    max_size = serializers.IntegerField(help_text="Largest accepted file, in bytes.")


class DirectUploadsDisabled(exceptions.APIException):
    status_code = 400
    default_code = "direct_uploads_unavailable"
    default_detail = (
        "Direct uploads need S3 storage, which this server does not use. Send the file to "
        "/api/v1/me/avatar/ or /api/v1/workbooks/{id}/thumbnail/ instead."
    )


class DirectUploadView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = [UploadThrottle]
    throttle_scope = "uploads"

    @extend_schema(
        request=DirectUploadSerializer,
        responses={
            201: PresignedPostSerializer,
            400: None,
            403: OpenApiResponse(description="A thumbnail for a workbook you may not change"),
            404: OpenApiResponse(description="A thumbnail for a workbook you cannot see"),
            413: None,
            415: None,
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Start an upload straight to storage (S3 only): a presigned POST limited to the declared
        type and the size limit. Then POST the file there, and call `/uploads/{id}/complete/`."""
        serializer = DirectUploadSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            image, post = services.start_direct_upload(
                owner=request.user,
                kind=data["kind"],
                holder=data.get("holder"),
                content_type=data["content_type"],
                size=data["size"],
            )
        except services.DirectUploadsUnavailable:
            raise DirectUploadsDisabled from None
        except ImageRejected as error:
            raise rejected(error) from None
        body = {
            "id": image.id,
            "url": post["url"],
            "fields": post["fields"],
            "expires_in": services.DIRECT_UPLOAD_EXPIRES,
            "max_size": services.validation.max_upload_bytes(),
        }
        return Response(body, status=status.HTTP_201_CREATED)


class CompleteUploadView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=UPLOAD_RESPONSES)
    def post(self, request: Request, pk: str) -> Response:
        """Check the stored file like any upload and start processing it."""
        image = get_object_or_404(Image, pk=pk, owner=request.user)
        if holders.needs_check(image.kind):
            try:
                holders.checked(image.kind, request.user, image.holder)
            except holders.Refused as refused:
                services.fail(image, refused.message)
                raise exceptions.NotFound(refused.message) from None
        if image.status == Image.Status.FAILED:
            raise exceptions.ValidationError({"image": [image.error]}, code="invalid_image")
        try:
            image = services.complete_direct_upload(image)
        except ImageRejected as error:
            raise rejected(error) from None
        return Response({"id": image.id, "status": image.status}, status=status.HTTP_202_ACCEPTED)
