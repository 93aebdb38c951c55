"""The OpenAPI schema says every status an operation can answer, and what an error looks like.

The error answers come from machinery every view shares (authentication, permissions, throttles,
parsers, path lookups), so they are derived here from the view once, for every operation, instead
of being listed by hand per view: a new view is documented correctly without anyone remembering to.
Views still document what only they know (a 400 with a specific `code`, a 429 raised by a service);
those descriptions are kept and get the same error body.
"""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from idempotency import api as idempotency

ERROR_COMPONENT = "Error"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        'Either `{"detail": message, "code": code}`, or, for invalid input, '
        '`{"field": ["message", ...]}` per field (`non_field_errors` for the body as a whole).'
    ),
    "properties": {
        "detail": {
            "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            "description": "What went wrong, for people.",
        },
        "code": {
            "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            "description": "What went wrong, for programs: `not_authenticated`, `throttled`...",
        },
    },
    "additionalProperties": True,
}

BODY_METHODS = {"POST", "PUT", "PATCH"}


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for status, description in self.error_statuses().items():
            responses.setdefault(str(status), {"description": description})
        for code, response in responses.items():
            if code.startswith("4") or code == "503":
                # A view's own description ("`self_follow`: ...") is kept; the body is the shared one.
                response.setdefault("content", {"application/json": {"schema": self._error_ref()}})
        return responses

    def error_statuses(self) -> dict[int, str]:
        """The error answers this operation can give, from what the view is made of."""
        view, method = self.view, self.method
        statuses = {
            # Any request: a malformed or oversized query string, a bad query parameter.
            400: "Invalid input (see the fields named in the body)",
            # Only JSON is rendered; a client that accepts nothing else is refused.
            406: "The Accept header allows no JSON",
            # Every operation reads the database (docs/scaling.md, sigma_playground.database).
            503: "No database connection within the pool's timeout; see Retry-After",
        }
        authenticators = view.get_authenticators()
        # A view that names its own auth scheme (the token endpoints) answers 401 itself.
        names_a_scheme = type(view).get_authenticate_header is not APIView.get_authenticate_header
        if authenticators or names_a_scheme:
            statuses[401] = "Not signed in, or the credentials or token are invalid or expired"
        guarded = any(not isinstance(p, AllowAny) for p in view.get_permissions())
        if guarded or authenticators:
            # A session's unsafe request without its CSRF token is refused whatever the permission.
            statuses[403] = "Not allowed to do this"
        if self._has_path_parameters():
            statuses[404] = "No such thing, or not visible to you"
        if method in BODY_METHODS:
            statuses[413] = "The body is larger than the server accepts"
            statuses[415] = "The body's Content-Type is not one this operation reads"
        if view.get_throttles():
            statuses[429] = "Too many requests; see Retry-After"
        if self._is_idempotent():
            statuses[409] = "A request with this Idempotency-Key is still being answered"
            statuses[422] = "This Idempotency-Key was used for a different request"
        return statuses

    def get_override_parameters(self) -> list[Any]:
        parameters = super().get_override_parameters()
        if self._is_idempotent():
            parameters = [*parameters, idempotency.PARAMETER]
        return parameters

    def _is_idempotent(self) -> bool:
        """Whether this operation takes an Idempotency-Key (its handler is idempotency.api's)."""
        if self.method != "POST":
            return False
        handler = getattr(self.view, getattr(self.view, "action", None) or "post", None)
        return idempotency.is_idempotent(handler)

    def _has_path_parameters(self) -> bool:
        return "{" in self.path

    def _error_ref(self) -> dict[str, str]:
        component = ResolvedComponent(
            name=ERROR_COMPONENT,
            type=ResolvedComponent.SCHEMA,
            object=ERROR_COMPONENT,
            schema=ERROR_SCHEMA,
        )
        self.registry.register_on_missing(component)
        return component.ref
