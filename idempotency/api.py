"""`Idempotency-Key` on the API's POSTs that create (docs/api.md, "Retried requests").

A client on a flaky network cannot tell a lost request from a lost answer; sending the POST again
with the same key is then safe: within 24 hours, the same key with the same body answers what the
first request answered (status, body, `Location`) and creates nothing more; the same key with
another body is a 422; while the first is still being answered, the retry waits for it (up to
WAIT_SECONDS, then 409). Only a successful (2xx) answer is kept: after an error the key is free
again, for this body or a corrected one.

Keys belong to the signed-in member, or to the client's address when nobody is signed in.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, transaction
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status
from rest_framework.request import Empty, Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.utils import encoders

from . import services

HEADER = "Idempotency-Key"
# Visible ASCII, as a header carries it untouched; long enough for any UUID or hash.
KEY_PATTERN = re.compile(r"[!-~]{1,255}")
# The answer's headers a retry gets again (the body's Content-Type is the renderer's).
KEPT_HEADERS = ("Location",)
REPLAYED_HEADER = "Idempotent-Replayed"
# Marks a decorated handler; the schema (sigma_playground.schema) documents the header from it.
MARK = "idempotent"

PARAMETER = OpenApiParameter(
    HEADER,
    type={"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique value (a UUID) chosen by the client for this request. Sent again with the "
        "same body within 24 hours, the first answer is given again (with "
        f"`{REPLAYED_HEADER}: true`) and nothing more is created. The same key with another "
        "body is a 422; a retry that arrives while the first request is still being answered "
        "waits for it, then a 409 if it takes too long."
    ),
)


class InvalidKey(exceptions.ParseError):
    default_code = "invalid_idempotency_key"
    default_detail = f"{HEADER} must be 1 to 255 visible ASCII characters."


class KeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = (
        f"This {HEADER} was already used for a different request; use a new key for a new request."
    )


class KeyInUse(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_key_in_use"
    default_detail = f"A request with this {HEADER} is still being answered; retry in a moment."
    wait = 1  # DRF's handler turns it into Retry-After


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate a DRF handler (`post`, `create`, or an action) whose POST creates something.

    Runs after the view's authentication, permissions and throttles, so a retry is checked like
    any request; other methods of the same handler pass through untouched."""

    @wraps(handler)
    def wrapper(view, request: Request, *args, **kwargs) -> Response:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None:
            return handler(view, request, *args, **kwargs)
        if not KEY_PATTERN.fullmatch(key):
            raise InvalidKey()
        # Parsed before the transaction: a slow upload holds no lock while it arrives.
        try:
            body = _body(request)
        except Exception as error:
            # Nothing can be created from a body that could not be read, so no key is held: the
            # view answers the error as it would without a key (a full disk is its 507).
            _fail_reads_with(request, error)
            return handler(view, request, *args, **kwargs)
        digest = services.fingerprint(request.method, request.path, body)
        scope = _scope(request)
        raised: Exception | None = None
        with transaction.atomic():
            try:
                held = services.reserve(scope, key, digest)
            except services.KeyReused:
                raise KeyReused() from None
            except services.KeyInUse:
                raise KeyInUse() from None
            if isinstance(held, services.Replay):
                return _replay(held)
            try:
                response = handler(view, request, *args, **kwargs)
            except DatabaseError:
                raise  # the transaction is broken: all of it is rolled back
            except Exception as error:  # re-raised below, once the release is committed
                # As without a key: what the view wrote before refusing stays; the key is free.
                services.release(held)
                raised = error
            else:
                if status.is_success(response.status_code):
                    services.complete(
                        held,
                        response.status_code,
                        _json(response.data),
                        {name: response[name] for name in KEPT_HEADERS if name in response},
                    )
                else:
                    services.release(held)
        if raised is not None:
            raise raised
        return response

    setattr(wrapper, MARK, True)
    return wrapper


def is_idempotent(handler: Any) -> bool:
    return bool(getattr(handler, MARK, False))


def _scope(request: Request) -> str:
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    # The address as the throttles read it (NUM_PROXIES trusted proxies).
    return f"address:{BaseThrottle().get_ident(request)}"


def _body(request: Request) -> Any:
    """The parsed body in a form that digests the same for the same request: form fields as
    lists, files by name, size and content."""
    data = request.data
    if hasattr(data, "getlist"):  # a QueryDict: form fields and files
        data = {name: data.getlist(name) for name in data}
    if isinstance(data, dict):
        return {
            name: [_file(item) for item in value] if isinstance(value, list) else _file(value)
            for name, value in data.items()
        }
    return data


def _fail_reads_with(request: Request, error: Exception) -> None:
    """Make the view's own read of the body meet `error` again. DRF keeps an empty body after a
    failed parse, which the view would take for a request without its fields."""
    # DRF's private caches of the parsed body, which its stubs do not list.
    request._full_data = request._data = request._files = Empty  # type: ignore[attr-defined]

    def fail() -> None:
        raise error

    request._load_data_and_files = fail  # type: ignore[attr-defined]


def _file(value: Any) -> Any:
    if not isinstance(value, UploadedFile):
        return value
    content = hashlib.sha256()
    for chunk in value.chunks():
        content.update(chunk)
    value.seek(0)  # the view reads it next
    return {"name": value.name, "size": value.size, "sha256": content.hexdigest()}


def _json(data: Any) -> Any:
    """The body as JSON types, exactly as the renderer writes it (ids, dates, UUIDs as strings)."""
    return json.loads(json.dumps(data, cls=encoders.JSONEncoder))


def _replay(held: services.Replay) -> Response:
    headers = {**held.headers, REPLAYED_HEADER: "true"}
    return Response(held.body, status=held.status_code, headers=headers)
