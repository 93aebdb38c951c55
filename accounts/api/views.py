"""Accounts and auth API (the schema's "auth" and "me" operations)."""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, generics, permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle
from rest_framework.views import APIView

from idempotency.api import idempotent
from sigma_playground.observability import audit

from .. import services, tokens, verification
from ..forms import PasswordResetForm
from ..http import AuthenticatedRequest
from ..models import User
from .serializers import (
    DeleteAccountSerializer,
    ExportStartedSerializer,
    MeSerializer,
    MfaCodeSerializer,
    MfaSetupSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    RecoveryCodesSerializer,
    RefreshSerializer,
    RegisterSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
)


class Unauthorized(exceptions.AuthenticationFailed):
    """A 401 with a specific `code` (DRF turns 401 into 403 unless the view names an auth scheme)."""


class TokenEndpoint(APIView):
    """Endpoints that take credentials or tokens in the body rather than in a header."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def token_response(pair: tokens.TokenPair) -> Response:
    return Response({"access": pair.access, "refresh": pair.refresh})


def _rejected(error: tokens.RefreshRejected) -> Unauthorized:
    return Unauthorized(str(error), code=error.code)


class SignUpBudgetThrottle(BaseThrottle):
    """DRF's door to the one sign-up budget per address that the page spends too
    (accounts.services.spend_sign_up_attempt; counted by accounts.throttling.SignUpThrottle)."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        if request.method != "POST":
            return True
        try:
            services.spend_sign_up_attempt(request)
        except services.SignUpThrottled as error:
            self._wait = error.retry_after
            return False
        return True

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


@extend_schema(
    request=RegisterSerializer,
    responses={
        201: RegisterSerializer,
        429: OpenApiResponse(description="Too many sign-ups from this address; see Retry-After"),
    },
    tags=["auth"],
)
class RegisterView(generics.CreateAPIView):
    serializer_class = RegisterSerializer
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [SignUpBudgetThrottle]

    @idempotent
    def post(self, request: Request, *args, **kwargs) -> Response:
        return self.create(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer[User]) -> None:
        try:
            serializer.instance = services.register(**serializer.validated_data)
        except DjangoValidationError as error:
            raise exceptions.ValidationError(error.message_dict) from None


@extend_schema(
    request=TokenObtainSerializer,
    responses={
        200: TokenPairSerializer,
        401: OpenApiResponse(description="Wrong credentials, or `mfa_required`"),
        429: OpenApiResponse(description="Too many failed sign-ins; see Retry-After"),
    },
    tags=["auth"],
)
class TokenObtainView(TokenEndpoint):
    def post(self, request: Request) -> Response:
        serializer = TokenObtainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            user = services.sign_in(request, data["username"], data["password"], data.get("otp"))
        except services.SignInFailed:
            raise Unauthorized(
                "No active account found with the given credentials", code="no_active_account"
            ) from None
        except services.SecondFactorRequired as step:
            message = (
                "That code is not valid."
                if step.wrong_code
                else "This account needs a second factor."
            )
            raise Unauthorized(f"{message} Send `otp`.", code="mfa_required") from None
        return token_response(tokens.issue_tokens(user))


@extend_schema(request=RefreshSerializer, responses={200: TokenPairSerializer}, tags=["auth"])
class TokenRefreshView(TokenEndpoint):
    def post(self, request: Request) -> Response:
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            return token_response(tokens.rotate(serializer.validated_data["refresh"]))
        except tokens.RefreshRejected as error:
            raise _rejected(error) from None


@extend_schema(request=RefreshSerializer, responses={204: None}, tags=["auth"])
class LogoutView(TokenEndpoint):
    def post(self, request: Request) -> Response:
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            member_id = tokens.revoke(serializer.validated_data["refresh"])
        except tokens.RefreshRejected as error:
            raise _rejected(error) from None
        member = User.objects.filter(pk=member_id).first() if member_id else None
        audit.event("signout", request=request, actor=member, method="api")
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(request=PasswordResetSerializer, responses={202: None}, tags=["auth"])
class PasswordResetView(TokenEndpoint):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "password_reset"

    def post(self, request: Request) -> Response:
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        form = PasswordResetForm(data=serializer.validated_data)
        if form.is_valid():
            # Sends nothing for an unknown address, and says the same either way.
            form.save(request=request, use_https=request.is_secure())
        return Response(status=status.HTTP_202_ACCEPTED)


@extend_schema(request=PasswordResetConfirmSerializer, responses={204: None}, tags=["auth"])
class PasswordResetConfirmView(TokenEndpoint):
    def post(self, request: Request) -> Response:
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = services.user_for_reset_link(data["uid"], data["token"])
        if user is None:
            raise exceptions.ValidationError(
                {"token": ["This reset link is invalid or has already been used."]}
            )
        try:
            password_validation.validate_password(data["new_password"], user)
        except DjangoValidationError as error:
            raise exceptions.ValidationError({"new_password": list(error.messages)}) from None
        services.change_password(user, data["new_password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


_CODE_THROTTLED_ACCOUNT = OpenApiResponse(
    description="Too many wrong passwords or codes for this account; see Retry-After"
)


@extend_schema(tags=["me"])
@extend_schema_view(
    # `links` is a list of objects, which a form cannot carry: the profile is sent as JSON.
    patch=extend_schema(
        request={"application/json": MeSerializer},
        responses={
            200: MeSerializer,
            400: OpenApiResponse(
                description="Field errors; with a new `email`: a missing or wrong `password` or "
                "`otp`, `reauthenticate` (a member without a password signs in again with their "
                "provider on the site first), or an address another account has"
            ),
            429: OpenApiResponse(
                description="Too many verification emails this hour (a new `email`), or too many "
                "wrong passwords or codes for this account; see Retry-After"
            ),
        },
    ),
)
class MeView(generics.RetrieveUpdateAPIView):
    serializer_class = MeSerializer
    permission_classes = [permissions.IsAuthenticated]
    request: AuthenticatedRequest
    http_method_names = ["get", "patch", "delete", "head", "options"]

    @extend_schema(
        request=DeleteAccountSerializer,
        responses={
            204: None,
            400: OpenApiResponse(
                description="Wrong password or code (field errors under `password`, `otp`), "
                "or `reauthenticate`: a member without a password must sign in again with "
                "their provider on the site first"
            ),
            429: _CODE_THROTTLED_ACCOUNT,
        },
    )
    def delete(self, request: AuthenticatedRequest) -> Response:
        """Delete the account and what the member made (docs/accounts.md, "Leaving"); their
        comments on others' workbooks stay, by a deleted member."""
        serializer = DeleteAccountSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            services.confirm_leaving(
                request, request.user, data.get("password", ""), data.get("otp", "")
            )
        except services.NotConfirmed as refused:
            raise exceptions.ValidationError({refused.field: [refused.message]}) from None
        services.delete_account(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def get_object(self) -> User:
        return self.request.user

    def perform_update(self, serializer: BaseSerializer[User]) -> None:
        # One transaction: a refused new address (wrong password, taken, too many emails) leaves
        # the profile as it was, as the 400 or 429 says.
        with transaction.atomic():
            self._update(serializer)

    def _update(self, serializer: BaseSerializer[User]) -> None:
        user = self.request.user
        data = serializer.validated_data
        serializer.instance = services.update_profile(
            user,
            **{
                name: data.get(name, getattr(user, name))
                for name in ("full_name", "bio", "website")
            },
            **{
                name: data.get(name) for name in ("organisation", "location", "pinned_workbook_ids")
            },
            # Serialized links are OrderedDicts; the service checks and stores plain ones.
            links=None if "links" not in data else [dict(link) for link in data["links"]],
        )
        if "email" in data:  # last: the profile's own refusals come before any email is sent
            try:
                services.change_email(
                    self.request, user, data["email"], data.get("password", ""), data.get("otp", "")
                )
            except services.NotConfirmed as refused:
                raise exceptions.ValidationError({refused.field: [refused.message]}) from None
            except DjangoValidationError as error:
                raise exceptions.ValidationError(error.message_dict) from None


@extend_schema(
    request=None,
    responses={
        202: None,
        400: OpenApiResponse(description="Nothing to verify (`nothing_to_verify`)"),
        429: OpenApiResponse(description="Too many verification emails this hour; see Retry-After"),
    },
    tags=["me"],
)
class VerificationEmailView(APIView):
    """A new verification link, to the address waiting for one."""

    permission_classes = [permissions.IsAuthenticated]
    request: AuthenticatedRequest

    def post(self, request: AuthenticatedRequest) -> Response:
        if not verification.resend(request.user):
            raise exceptions.ValidationError(
                {
                    "detail": "There is no address waiting to be verified.",
                    "code": "nothing_to_verify",
                }
            )
        return Response(status=status.HTTP_202_ACCEPTED)


@extend_schema(
    request=None,
    responses={
        202: ExportStartedSerializer,
        429: OpenApiResponse(description="An export was asked for less than an hour ago"),
    },
    tags=["me"],
)
class ExportView(APIView):
    """Start the member's data export: a ZIP made by a worker, its signed link emailed."""

    permission_classes = [permissions.IsAuthenticated]
    request: AuthenticatedRequest

    def post(self, request: AuthenticatedRequest) -> Response:
        export = services.request_export(request.user)
        data = {
            "status": "preparing",
            "id": export.pk,
            "requested_at": export.created_at,
            "detail": "Your export is being prepared. We will email you a link when it is ready.",
        }
        return Response(ExportStartedSerializer(data).data, status=status.HTTP_202_ACCEPTED)


class MfaView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    request: AuthenticatedRequest

    def _code(self, request: AuthenticatedRequest) -> str:
        serializer = MfaCodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["code"]


def _state_error(error: services.MfaStateError) -> exceptions.ValidationError:
    return exceptions.ValidationError({"detail": str(error), "code": "mfa_state"})


def _bad_code() -> exceptions.ValidationError:
    return exceptions.ValidationError({"code": ["That code is not valid."]})


def _secret(response: Response) -> Response:
    # A secret or recovery codes: never kept by a browser or a proxy.
    response["Cache-Control"] = "no-store"
    return response


@extend_schema(request=None, responses={200: MfaSetupSerializer}, tags=["me"])
class MfaSetupView(MfaView):
    def post(self, request: AuthenticatedRequest) -> Response:
        try:
            secret, url = services.start_mfa_setup(request.user)
        except services.MfaStateError as error:
            raise _state_error(error) from None
        return _secret(Response({"secret": secret, "otpauth_url": url}))


_CODE_THROTTLED = OpenApiResponse(
    description="Too many wrong codes or failed sign-ins for this account; see Retry-After"
)


@extend_schema(
    request=MfaCodeSerializer,
    responses={200: RecoveryCodesSerializer, 429: _CODE_THROTTLED},
    tags=["me"],
)
class MfaConfirmView(MfaView):
    def post(self, request: AuthenticatedRequest) -> Response:
        code = self._code(request)
        try:
            codes = services.confirm_mfa(request, request.user, code)
        except services.MfaStateError as error:
            raise _state_error(error) from None
        except services.SignInFailed:
            raise _bad_code() from None
        return _secret(Response({"recovery_codes": codes}))


@extend_schema(request=MfaCodeSerializer, responses={204: None, 429: _CODE_THROTTLED}, tags=["me"])
class MfaDisableView(MfaView):
    def post(self, request: AuthenticatedRequest) -> Response:
        code = self._code(request)
        try:
            services.disable_mfa(request, request.user, code)
        except services.MfaStateError as error:
            raise _state_error(error) from None
        except services.SignInFailed:
            raise _bad_code() from None
        return Response(status=status.HTTP_204_NO_CONTENT)
