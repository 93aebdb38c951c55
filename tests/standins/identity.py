"""Identity providers for the tests, on 127.0.0.1: an OpenID Connect provider (discovery, JWKS with an
RSA key, authorize, token with an RS256 ID token, userinfo) and a GitHub-shaped OAuth provider
(authorize, access_token, /user, /user/emails). Each is a threaded HTTP server on a free port.

Authorize answers a page with a button per person (as a real provider's consent screen, usable by a
browser), or, when the test set `approve_as`, sends the browser straight back with a code; `cancel`
sends it back with `error=access_denied`. `down` makes every endpoint answer 503.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "playground-test-client"
CLIENT_SECRET = "playground-test-secret"  # the stand-in's, nobody else's


@dataclass
class Person:
    username: str
    email: str
    email_verified: bool = True
    name: str = ""
    sub: str = ""

    def __post_init__(self) -> None:
        self.sub = self.sub or f"sub-{self.username}"
        self.name = self.name or self.username.title()


@dataclass
class _Grant:
    person: Person
    redirect_uri: str
    nonce: str | None
    code_challenge: str | None


@dataclass
class StandIn:
    """One provider. `kind` is "oidc" or "github"."""

    kind: str
    people: dict[str, Person] = field(default_factory=dict)
    approve_as: str | None = None
    cancel: bool = False
    down: bool = False
    codes: dict[str, _Grant] = field(default_factory=dict)
    tokens: dict[str, Person] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(4)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, username: str, email: str, *, email_verified: bool = True) -> Person:
        person = Person(username, email, email_verified)
        self.people[username] = person
        return person

    def start(self) -> StandIn:
        stand_in = self

        class Handler(_Handler):
            provider = stand_in

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- What the endpoints hand out ---------------------------------------------------------

    def grant(self, username: str, redirect_uri: str, nonce=None, code_challenge=None) -> str:
        """A code for `username`, as the authorize step would give (tests of the API use it)."""
        code = secrets.token_urlsafe(16)
        self.codes[code] = _Grant(self.people[username], redirect_uri, nonce, code_challenge)
        return code

    def id_token(self, person: Person, nonce: str | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": person.sub,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "email": person.email,
            "email_verified": person.email_verified,
            "name": person.name,
            "preferred_username": person.username,
        }
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()

        def b64(value: int) -> str:
            raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        return {
            "keys": [
                {
                    "kty": "RSA",
                    "kid": self.kid,
                    "use": "sig",
                    "alg": "RS256",
                    "n": b64(numbers.n),
                    "e": b64(numbers.e),
                }
            ]
        }


class _Handler(BaseHTTPRequestHandler):
    provider: StandIn

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # --- Plumbing ----------------------------------------------------------------------------

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _bearer(self) -> Person | None:
        header = self.headers.get("Authorization", "")
        _, _, token = header.partition(" ")
        return self.provider.tokens.get(token)

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            query.update({k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()})
        self.provider.requests.append(parts.path)
        if self.provider.down:
            self._send(503, {"error": "temporarily_unavailable"})
            return
        routes = {
            "/.well-known/openid-configuration": self._discovery,
            "/jwks": lambda q: self._send(200, self.provider.jwks()),
            "/authorize": self._authorize,
            "/login/oauth/authorize": self._authorize,
            "/approve": self._approve,
            "/token": self._token,
            "/login/oauth/access_token": self._token,
            "/userinfo": self._userinfo,
            "/api/user": self._github_user,
            "/api/user/emails": self._github_emails,
        }
        handler = routes.get(parts.path)
        if handler is None:
            self._send(404, {"error": "not_found"})
        else:
            handler(query)

    # --- Endpoints ---------------------------------------------------------------------------

    def _discovery(self, query: dict[str, str]) -> None:
        base = self.provider.url
        self._send(
            200,
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "userinfo_endpoint": f"{base}/userinfo",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "code_challenge_methods_supported": ["S256"],
            },
        )

    def _back(self, query: dict[str, str], **params: str) -> None:
        if query.get("state"):
            params["state"] = query["state"]
        separator = "&" if "?" in query["redirect_uri"] else "?"
        self._redirect(f"{query['redirect_uri']}{separator}{urlencode(params)}")

    def _authorize(self, query: dict[str, str]) -> None:
        provider = self.provider
        if query.get("client_id") != CLIENT_ID or not query.get("redirect_uri"):
            self._send(400, "unknown client", "text/plain")
            return
        if provider.cancel:
            self._back(query, error="access_denied", error_description="The person said no.")
            return
        if provider.approve_as:
            self._approve({**query, "person": provider.approve_as})
            return
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in query.items()
        )
        buttons = "".join(
            f'<form method="get" action="/approve">{hidden}'
            f'<button type="submit" name="person" value="{html.escape(name)}">'
            f"Sign in as {html.escape(name)}</button></form>"
            for name in provider.people
        )
        self._send(
            200,
            f"<!doctype html><title>Stand-in {provider.kind}</title><h1>Choose who you are</h1>{buttons}",
            "text/html; charset=utf-8",
        )

    def _approve(self, query: dict[str, str]) -> None:
        code = self.provider.grant(
            query["person"],
            query["redirect_uri"],
            nonce=query.get("nonce"),
            code_challenge=query.get("code_challenge"),
        )
        self._back(query, code=code)

    def _token(self, query: dict[str, str]) -> None:
        provider = self.provider
        grant = provider.codes.pop(query.get("code", ""), None)
        if (
            grant is None
            or query.get("client_id") != CLIENT_ID
            or query.get("client_secret") != CLIENT_SECRET
            or query.get("redirect_uri") != grant.redirect_uri
        ):
            self._send(400, {"error": "invalid_grant"})
            return
        if grant.code_challenge:
            verifier = query.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.code_challenge:
                self._send(400, {"error": "invalid_grant", "error_description": "PKCE"})
                return
        access = secrets.token_urlsafe(16)
        provider.tokens[access] = grant.person
        answer: dict[str, Any] = {"access_token": access, "token_type": "bearer"}
        if provider.kind == "oidc":
            answer["id_token"] = provider.id_token(grant.person, grant.nonce)
            answer["expires_in"] = 300
        else:
            answer["scope"] = "read:user,user:email"
        self._send(200, answer)

    def _userinfo(self, query: dict[str, str]) -> None:
        person = self._bearer()
        if person is None:
            self._send(401, {"error": "invalid_token"})
            return
        self._send(
            200,
            {
                "sub": person.sub,
                "email": person.email,
                "email_verified": person.email_verified,
                "name": person.name,
                "preferred_username": person.username,
            },
        )

    def _github_user(self, query: dict[str, str]) -> None:
        person = self._bearer()
        if person is None:
            self._send(401, {"message": "Bad credentials"})
            return
        number = int(hashlib.sha256(person.sub.encode()).hexdigest()[:8], 16)
        self._send(
            200, {"id": number, "login": person.username, "name": person.name, "email": None}
        )

    def _github_emails(self, query: dict[str, str]) -> None:
        person = self._bearer()
        if person is None:
            self._send(401, {"message": "Bad credentials"})
            return
        self._send(
            200, [{"email": person.email, "primary": True, "verified": person.email_verified}]
        )


def turn_on_oidc(settings: Any, stand_in: StandIn, label: str = "Acme SSO") -> None:
    settings.SOCIAL_AUTH_OIDC_OIDC_ENDPOINT = stand_in.url
    settings.SOCIAL_AUTH_OIDC_KEY = CLIENT_ID
    settings.SOCIAL_AUTH_OIDC_SECRET = CLIENT_SECRET
    settings.OIDC_BUTTON_LABEL = label


def turn_on_github(settings: Any, stand_in: StandIn) -> None:
    settings.GITHUB_BASE_URL = stand_in.url
    settings.SOCIAL_AUTH_GITHUB_KEY = CLIENT_ID
    settings.SOCIAL_AUTH_GITHUB_SECRET = CLIENT_SECRET
