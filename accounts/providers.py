"""Sign-in with a provider: the backends (settings-driven), which of them are on, and what a provider
says about a person, read the same way for the pages' pipeline and the API's code exchange.

The backends are social-core's, each a little narrowed: Google through OpenID Connect, GitHub, and
one generic OpenID Connect provider (the company's identity provider) named by OIDC_ISSUER. A
provider is on once its client id and secret are set; GitHub's addresses can be moved (tests point
them at a local stand-in, settings.GITHUB_BASE_URL), the OpenID Connect ones follow their issuer's
discovery document.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from rest_framework.authentication import SessionAuthentication
from social_core.backends.base import BaseAuth
from social_core.backends.github import GithubOAuth2
from social_core.backends.google_openidconnect import GoogleOpenIdConnect
from social_core.backends.open_id_connect import OpenIdConnectAuth
from social_core.exceptions import AuthException, ErrorStage
from social_django.models import UserSocialAuth
from social_django.utils import load_strategy

from sigma_playground import mail, rates

from . import emails
from .models import User

# Set in the session when the member signs in again through one of their linked providers: who
# ({"user_id", "at"}), since a session can change hands (sign out, sign in as someone else). Account
# deletion and linking ask for it instead of a password the member does not have; it proves one
# such action, then it is spent.
REAUTHENTICATED = "accounts:provider_reauthenticated"


class Google(GoogleOpenIdConnect):
    """Google through OpenID Connect. A person is their `sub`, which never changes (social-core's
    default for Google is the address, which can). settings.GOOGLE_OIDC_ENDPOINT (tests only) points
    it at a stand-in, whose discovery document then gives every address."""

    name = "google"
    ID_KEY = "sub"

    def _stand_in(self) -> bool:
        return bool(getattr(settings, "GOOGLE_OIDC_ENDPOINT", None))

    def oidc_endpoint(self) -> str:
        return getattr(settings, "GOOGLE_OIDC_ENDPOINT", None) or super().oidc_endpoint()

    def _discovered(self, name: str, key: str, default: str, stage: ErrorStage) -> str:
        if self._stand_in():
            return self.get_setting_config(name, key, "", stage=stage)
        return default

    def authorization_url(self) -> str:
        default = super().authorization_url()
        return self._discovered("AUTHORIZATION_URL", "authorization_endpoint", default, "begin")

    def access_token_url(self) -> str:
        default = super().access_token_url()
        return self._discovered("ACCESS_TOKEN_URL", "token_endpoint", default, "token_exchange")

    def id_token_issuer(self) -> str:
        default = super().id_token_issuer()
        return self._discovered("ID_TOKEN_ISSUER", "issuer", default, "token_validation")

    def get_user_id(self, details, response) -> str:
        return str(response.get("sub") or (self.id_token or {}).get("sub") or "")

    def user_data(self, access_token: str, *args, **kwargs) -> dict[str, Any] | None:
        # The discovery document's userinfo endpoint (Google's own, or a stand-in's). Whether the
        # address is verified is read by accounts.pipeline, which does not need it to be.
        return OpenIdConnectAuth.user_data(self, access_token, *args, **kwargs)


class GitHub(GithubOAuth2):
    def _base(self) -> str | None:
        return getattr(settings, "GITHUB_BASE_URL", None)

    def api_url(self) -> str:
        base = self._base()
        return f"{base}/api/" if base else super().api_url()

    def authorization_url(self) -> str:
        base = self._base()
        return f"{base}/login/oauth/authorize" if base else super().authorization_url()

    def access_token_url(self) -> str:
        base = self._base()
        return f"{base}/login/oauth/access_token" if base else super().access_token_url()


class OpenIdConnect(OpenIdConnectAuth):
    name = "oidc"


BACKENDS: dict[str, type[BaseAuth]] = {"google": Google, "github": GitHub, "oidc": OpenIdConnect}
_LABELS = {"google": "Google", "github": "GitHub"}


def label(name: str) -> str:
    return settings.OIDC_BUTTON_LABEL if name == "oidc" else _LABELS.get(name, name)


def _configured(name: str) -> bool:
    prefix = f"SOCIAL_AUTH_{name.upper()}"
    on = bool(getattr(settings, f"{prefix}_KEY", "") and getattr(settings, f"{prefix}_SECRET", ""))
    if name == "oidc":
        on = on and bool(getattr(settings, "SOCIAL_AUTH_OIDC_OIDC_ENDPOINT", ""))
    return on


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def form_action_origins() -> list[str]:
    """Where the enabled providers' sign-in pages are, for the pages' CSP `form-action`: a button's
    POST is answered with a redirect there. An OpenID Connect provider's is its issuer's origin."""
    where = {
        "google": getattr(settings, "GOOGLE_OIDC_ENDPOINT", None)
        or GoogleOpenIdConnect.OIDC_ENDPOINT,
        "github": getattr(settings, "GITHUB_BASE_URL", None) or GithubOAuth2.AUTHORIZATION_URL,
        "oidc": settings.SOCIAL_AUTH_OIDC_OIDC_ENDPOINT,
    }
    return [_origin(where[p.name]) for p in enabled() if where[p.name]]


@dataclass(frozen=True)
class Provider:
    name: str
    label: str


def enabled() -> list[Provider]:
    """The providers whose client is configured, in the order their buttons show."""
    return [Provider(name, label(name)) for name in BACKENDS if _configured(name)]


def is_enabled(name: str) -> bool:
    return name in BACKENDS and _configured(name)


def backend(name: str, request: HttpRequest | None = None, redirect_uri: str | None = None):
    """The configured backend `name` with a strategy on `request`; KeyError when it is off."""
    if not is_enabled(name):
        raise KeyError(name)
    return BACKENDS[name](load_strategy(request), redirect_uri=redirect_uri)


def linked(user: User) -> QuerySet[UserSocialAuth]:
    return UserSocialAuth.objects.filter(user=user).order_by("provider", "pk")


@dataclass(frozen=True)
class Method:
    """One row of the Settings section "Sign-in methods"."""

    name: str
    label: str
    linked_as: str  # the provider's name for the member (email or login), "" when not linked


def sign_in_methods(user: User) -> list[Method]:
    """Every enabled provider, linked or not, and those linked whose provider was turned off since
    (they can still be unlinked). One query."""
    links = {link.provider: link for link in linked(user)}
    names = [p.name for p in enabled()] + [n for n in links if not is_enabled(n)]
    return [
        Method(name, label(name), _linked_as(links[name]) if name in links else "")
        for name in names
    ]


def reauthentication_methods(user: User) -> list[Method]:
    """The member's linked providers that are still on: those they can sign in again with."""
    return [
        method for method in sign_in_methods(user) if method.linked_as and is_enabled(method.name)
    ]


def _linked_as(link: UserSocialAuth) -> str:
    data = link.extra_data or {}
    return str(data.get("email") or data.get("login") or link.uid)


class LastWayIn(Exception):
    pass


def unlink(user: User, name: str) -> None:
    """Unlink provider `name` from the member, unless it is their last way in (no usable password and
    no other provider that is still on): they could never sign in again. The member is told by
    email."""
    with transaction.atomic():
        # The member's row locked: two unlinks at once cannot each leave the other as the last.
        member = User.objects.select_for_update().get(pk=user.pk)
        links = list(linked(member))
        if not any(link.provider == name for link in links):
            return  # already unlinked (a second click)
        # A link to a provider turned off since is no way in: it does not count.
        others = [link for link in links if link.provider != name and is_enabled(link.provider)]
        if not member.has_usable_password() and not others:
            raise LastWayIn(
                f"{label(name)} is the only way you sign in. Set a password first (Forgot your "
                "password? on the sign-in page sends a link), or link another provider."
            )
        UserSocialAuth.objects.filter(user=member, provider=name).delete()
        tell_member(member, name, linked=False)


def tell_member(user: User, name: str, *, linked: bool) -> None:
    """Email the member that a sign-in method was linked to (or unlinked from) their account: if it
    was not them, someone else holds a way in (or took one away)."""
    message = mail.compose(
        to=user.email,
        template="accounts/email/sign_in_method",
        context={
            "user": user,
            "provider": label(name),
            "linked": linked,
            "settings_url": mail.absolute(reverse("accounts:settings")),
            "reset_url": mail.absolute(reverse("accounts:password-reset")),
        },
    )
    emails.send_later(message)


# --- What a provider says about a person ---------------------------------------------------------


def email_verified(name: str, response: dict[str, Any], email: str) -> bool:
    """Whether the provider vouches for `email`: OpenID Connect's `email_verified` claim, GitHub's
    `verified` on that address in /user/emails. Anything else is not a verified address."""
    if not email:
        return False
    if name == "github":
        return any(
            isinstance(entry, dict)
            and str(entry.get("email", "")).lower() == email.lower()
            and entry.get("verified") is True
            for entry in response.get("emails") or []
        )
    claim = response.get("email_verified")
    return claim is True or (isinstance(claim, str) and claim.lower() == "true")


@dataclass(frozen=True)
class Identity:
    """A person as a provider answered: who (provider + uid) and what they told us."""

    provider: str
    uid: str
    id_key: str  # which of the provider's fields the uid is (social-core keeps it with the link)
    email: str
    email_verified: bool
    username: str
    full_name: str
    response: dict[str, Any]


def identity(auth: BaseAuth, response: dict[str, Any]) -> Identity:
    details = auth.get_user_details(response)
    email = (details.get("email") or "").strip()
    return Identity(
        provider=auth.name,
        uid=str(auth.get_user_id(details, response)),
        id_key=auth.id_key(),
        email=email,
        email_verified=email_verified(auth.name, response, email),
        username=details.get("username") or "",
        full_name=details.get("fullname") or "",
        response=response,
    )


class ExchangeFailed(Exception):
    """The provider refused the code, or could not be reached: the API's 400 `provider_error`."""


def exchange_code(
    name: str, request: HttpRequest, code: str, redirect_uri: str, code_verifier: str = ""
) -> Identity:
    """Trade an authorization code a client got from provider `name` for who the person is.

    The client ran the browser leg (with its own state, nonce and PKCE), so there is no session to
    check those against: the ID token's signature, issuer, audience and times are checked, and the
    code verifier is passed to the provider, which checks it against the challenge."""
    auth = backend(name, request, redirect_uri=redirect_uri)
    client_id, client_secret = auth.get_key_and_secret()
    params = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    if code_verifier:
        params["code_verifier"] = code_verifier
    try:
        answer = auth.get_json(
            auth.access_token_url(),
            method="POST",
            data=params,
            headers={"Accept": "application/json"},
        )
        if not isinstance(answer, dict) or not answer.get("access_token"):
            raise ExchangeFailed(str((answer or {}).get("error") or "no access token"))
        if isinstance(auth, OpenIdConnectAuth):
            id_token = answer.get("id_token")
            if not isinstance(id_token, str):
                raise ExchangeFailed("no ID token")
            claims = auth.decode_and_validate_id_token(id_token, answer["access_token"])
            auth.validate_required_id_token_claims(claims)
            auth.validate_temporal_claims(claims)
            auth.id_token = claims
        response = dict(answer)
        response.update(auth.user_data(answer["access_token"]) or {})
    except AuthException as error:
        raise ExchangeFailed(str(error)) from None
    except (OSError, ValueError) as error:  # requests' errors are OSErrors; bad JSON a ValueError
        raise ExchangeFailed(type(error).__name__) from None
    return identity(auth, response)


# --- Re-authentication (account deletion for members without a password) -------------------------


def mark_reauthenticated(request: HttpRequest, user: User) -> None:
    request.session[REAUTHENTICATED] = {"user_id": user.pk, "at": time.time()}


def bearer_request(request: HttpRequest) -> bool:
    """Whether the request is an API call signed by a bearer token rather than by this session."""
    if str(request.META.get("HTTP_AUTHORIZATION", "")).lower().startswith("bearer "):
        return True
    authenticator = getattr(request, "successful_authenticator", None)  # DRF's Request
    return authenticator is not None and not isinstance(authenticator, SessionAuthentication)


def reauthenticated_recently(request: HttpRequest, user: User) -> bool:
    """True for PROVIDER_REAUTH_SECONDS after `user` signed in again, in this session, through one
    of their own linked providers (accounts:provider-reauth). Never for a bearer-token API call: the
    token is not this session's, so a re-sign-in in the session proves nothing about its holder."""
    if bearer_request(request):
        return False
    mark = request.session.get(REAUTHENTICATED)
    if not isinstance(mark, dict) or mark.get("user_id") != user.pk:
        return False
    at = mark.get("at")
    return isinstance(at, int | float) and 0 <= time.time() - at <= settings.PROVIDER_REAUTH_SECONDS


def spend_reauthentication(request: HttpRequest) -> None:
    """The re-sign-in has proved one action (a deletion, a link): the next needs another."""
    request.session.pop(REAUTHENTICATED, None)


def check_link_rate(user: User) -> None:
    """At most SOCIAL_RATE_LIMITS["provider_link"] links and unlinks per member per minute
    (sigma_playground.rates.RateLimited past it)."""
    rates.check_rate(user, "provider_link")
