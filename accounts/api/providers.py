"""POST /api/v1/auth/provider/: an app's sign-in with a provider, answered with our JWT pair.

The app runs the provider's browser step itself (with its own state, nonce and PKCE) and sends the
authorization code. The rules are the pages' (accounts.pipeline); where a page would ask the member
something, the answer says what is missing (`code`) with a short-lived signed token for the
follow-up request that brings it: `username_required` + `signup_token` -> {signup_token, username},
`link_requires_password` + `link_token` -> {link_token, password}, `mfa_required` + `mfa_token` ->
{mfa_token, otp}.
"""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from social_django.models import UserSocialAuth

from sigma_playground.api import StrictCharField
from sigma_playground.http import client_address
from sigma_playground.observability import audit, metrics

from .. import pipeline, providers, services, tokens
from ..models import User
from ..throttling import SignInThrottle
from .serializers import TokenPairSerializer
from .views import TokenEndpoint, Unauthorized, token_response

STEP_SECONDS = 600  # how long a signup, link or mfa token may be sent back
_SALT = "accounts.api.providers"


class ProviderSignInSerializer(serializers.Serializer):
    """One of four bodies: the code exchange, or a follow-up with its token and the missing piece."""

    provider = StrictCharField(required=False, max_length=40)
    code = StrictCharField(required=False, max_length=2000)
    redirect_uri = StrictCharField(required=False, max_length=2000)
    code_verifier = StrictCharField(required=False, max_length=200)
    signup_token = StrictCharField(required=False, max_length=4000)
    username = StrictCharField(required=False, max_length=30)
    link_token = StrictCharField(required=False, max_length=4000)
    password = StrictCharField(required=False, trim_whitespace=False, max_length=4096)
    mfa_token = StrictCharField(required=False, max_length=4000)
    otp = StrictCharField(required=False, max_length=20)

    BODIES = (
        ("provider", "code", "redirect_uri"),
        ("signup_token", "username"),
        ("link_token", "password"),
        ("mfa_token", "otp"),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for fields in self.BODIES:
            if fields[0] in attrs:
                missing = [name for name in fields if not attrs.get(name)]
                if missing:
                    raise serializers.ValidationError(
                        {name: ["This field is required."] for name in missing}
                    )
                return attrs
        raise serializers.ValidationError(
            {"provider": ["Send provider, code and redirect_uri, or a step's token."]}
        )


def _step(status_code: int, code: str, detail: str, **extra: str) -> Response:
    return Response({"detail": detail, "code": code, **extra}, status=status_code)


def _sign(kind: str, **payload: Any) -> str:
    return signing.dumps(payload, salt=f"{_SALT}.{kind}")


def _unsign(kind: str, token: str) -> dict[str, Any]:
    try:
        return signing.loads(token, salt=f"{_SALT}.{kind}", max_age=STEP_SECONDS)
    except signing.BadSignature:
        raise exceptions.ValidationError(
            {
                "detail": "That token is not valid or has expired: sign in again.",
                "code": "token_invalid",
            }
        ) from None


def _identity(data: dict[str, Any]) -> providers.Identity:
    return providers.Identity(
        provider=data["provider"],
        uid=data["uid"],
        id_key=data["id_key"],
        email=data["email"],
        email_verified=data["email_verified"],
        username=data.get("username", ""),
        full_name="",
        response={},
    )


def _linked_member(identity: providers.Identity) -> User | None:
    link = (
        UserSocialAuth.objects.filter(
            provider=identity.provider, uid=identity.uid, id_key=identity.id_key
        )
        .select_related("user")
        .first()
    )
    return link.user if link is not None else None


@extend_schema(
    request=ProviderSignInSerializer,
    responses={
        200: TokenPairSerializer,
        400: OpenApiResponse(
            description="`username_required` (with `signup_token`), `unknown_provider`, "
            "`provider_error`, `token_invalid`, or the fields' errors"
        ),
        401: OpenApiResponse(
            description="`link_requires_password` (with `link_token`), `mfa_required` (with "
            "`mfa_token`), or a wrong password or code"
        ),
        403: OpenApiResponse(description="The account is deactivated or suspended"),
        429: OpenApiResponse(description="Too many failed attempts; see Retry-After"),
    },
    tags=["auth"],
)
class ProviderSignInView(TokenEndpoint):
    def post(self, request: Request) -> Response:
        serializer = ProviderSignInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "signup_token" in data:
            return self._sign_up(request, _unsign("signup", data["signup_token"]), data["username"])
        if "link_token" in data:
            return self._link(request, _unsign("link", data["link_token"]), data["password"])
        if "mfa_token" in data:
            return self._second_factor(request, _unsign("mfa", data["mfa_token"]), data["otp"])
        return self._exchange(request, data)

    def _exchange(self, request: Request, data: dict[str, Any]) -> Response:
        name = data["provider"]
        if not providers.is_enabled(name):
            raise exceptions.ValidationError(
                {"detail": f"No sign-in provider named {name!r} is on.", "code": "unknown_provider"}
            )
        # Failed exchanges count against the address like failed sign-ins.
        throttle = SignInThrottle(f"provider:{name}", client_address(request))
        wait = throttle.retry_after()
        if wait is not None:
            raise exceptions.Throttled(wait=wait)
        try:
            identity = providers.exchange_code(
                name,
                request,
                data["code"],
                data["redirect_uri"],
                data.get("code_verifier", ""),
            )
        except providers.ExchangeFailed:
            throttle.record_failure()
            raise exceptions.ValidationError(
                {
                    "detail": f"{providers.label(name)} did not accept that code, or could not "
                    "be reached. Sign in again.",
                    "code": "provider_error",
                }
            ) from None
        member = _linked_member(identity)
        if member is not None:
            return self._signed_in(request, member, identity)
        fields = {
            "provider": identity.provider,
            "uid": identity.uid,
            "id_key": identity.id_key,
            "email": identity.email,
            "email_verified": identity.email_verified,
        }
        account = pipeline.account_to_link(identity.email, identity.email_verified)
        if account is not None:
            return _step(
                401,
                "link_requires_password",
                f"{identity.email} belongs to an account: send its password with `link_token` "
                "to link it.",
                link_token=_sign("link", user_id=account.pk, **fields),
            )
        try:
            pipeline.refuse_new_account(identity.provider, identity.email)
        except pipeline.Refused as refusal:
            raise exceptions.ValidationError(
                {"detail": refusal.message, "code": "email_unusable"}
            ) from None
        return _step(
            400,
            "username_required",
            "Choose a username: send it with `signup_token`.",
            signup_token=_sign("signup", **fields),
            suggested_username=pipeline.suggested_username(identity.username, identity.email),
        )

    def _sign_up(self, request: Request, data: dict[str, Any], username: str) -> Response:
        identity = _identity(data)
        member = _linked_member(identity)
        if member is None:
            services.spend_sign_up_attempt(request)  # SignUpThrottled: a 429 (errors.py)
            try:
                with transaction.atomic():  # no account without its link
                    member = pipeline.create_member(
                        username=username,
                        email=identity.email,
                        email_verified=identity.email_verified,
                    )
                    self._link_or_refuse(member, identity, announce=False)
            except DjangoValidationError as error:
                raise exceptions.ValidationError(error.message_dict) from None
        return self._signed_in(request, member, identity)

    def _link(self, request: Request, data: dict[str, Any], password: str) -> Response:
        identity = _identity(data)
        account = User.objects.filter(pk=data["user_id"]).first()
        if account is None:
            raise exceptions.ValidationError(
                {"detail": "That account is gone: sign in again.", "code": "token_invalid"}
            )
        try:
            services.confirm_password(request, account, password)
        except services.SignInFailed:
            raise Unauthorized(
                "That is not the password of this account.", code="wrong_password"
            ) from None
        self._link_or_refuse(account, identity)
        return self._signed_in(request, account, identity)

    def _link_or_refuse(
        self, account: User, identity: providers.Identity, *, announce: bool = True
    ) -> None:
        try:
            pipeline.link(account, identity, announce=announce)
        except pipeline.Refused as refusal:
            raise exceptions.PermissionDenied(refusal.message, code="already_linked") from None

    def _second_factor(self, request: Request, data: dict[str, Any], otp: str) -> Response:
        member = User.objects.filter(pk=data["user_id"]).first()
        if member is None or not member.mfa_enabled:
            raise exceptions.ValidationError(
                {
                    "detail": "That token is not valid any more: sign in again.",
                    "code": "token_invalid",
                }
            )
        self._refuse(member)
        try:
            services.complete_second_factor(request, member, otp)
        except services.SignInFailed:
            return _step(
                401,
                "mfa_required",
                "That code is not valid. Send `otp` again with `mfa_token`.",
                mfa_token=_sign("mfa", user_id=member.pk, provider=data["provider"]),
            )
        return token_response(tokens.issue_tokens(member))

    def _refuse(self, member: User) -> None:
        why = pipeline.refusal(member)
        if why is not None:
            code = "inactive" if not member.is_active else "suspended"
            raise exceptions.PermissionDenied(why, code=code)

    def _signed_in(self, request: Request, member: User, identity: providers.Identity) -> Response:
        self._refuse(member)
        if member.mfa_enabled:
            return _step(
                401,
                "mfa_required",
                "This account needs a second factor: send `otp` with `mfa_token`.",
                mfa_token=_sign("mfa", user_id=member.pk, provider=identity.provider),
            )
        metrics.signins.labels(method="api").inc()
        audit.event(
            "signin", request=request, actor=member, method=f"api:provider:{identity.provider}"
        )
        return token_response(tokens.issue_tokens(member))
