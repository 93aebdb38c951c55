"""Keeping and finding the first answer to a request retried with the same `Idempotency-Key`.

Everything here runs inside the transaction of the request that creates (idempotency.api): the key's
row is inserted first, so a second request with the same key waits on PostgreSQL's unique index
until the first one commits (then finds its answer) or rolls back (then goes ahead itself).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from .models import IdempotencyKey

# How long a key's answer is kept: a client retrying later than this is sending a new request.
KEY_LIFETIME = timedelta(hours=24)
# How long a request waits for another one holding the same key before it is told to retry (409).
WAIT_SECONDS = 10.0
# PostgreSQL's error for a lock not obtained within lock_timeout.
LOCK_NOT_AVAILABLE = "55P03"


class KeyInUse(Exception):
    """Another request with this key is still being answered."""


class KeyReused(Exception):
    """This key already answered a different request."""


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: Any
    headers: dict[str, str]


def fingerprint(method: str, path: str, data: Any) -> str:
    """A digest of the request: its method, path and parsed body (files by their content), so
    that the same body sent with other spacing or key order is the same request."""
    canonical = json.dumps(
        {"method": method, "path": path, "data": data},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def reserve(scope: str, key: str, digest: str) -> IdempotencyKey | Replay:
    """Hold `key` for this request (a new row, committed with the request's own writes), or the
    answer an earlier request with it got.

    Raises KeyReused when that earlier request was a different one, and KeyInUse when one with the
    key is still running after WAIT_SECONDS. Must run inside a transaction."""
    # An expired key is free again; deleting it here keeps the unique constraint exact.
    IdempotencyKey.objects.filter(
        scope=scope, key=key, created_at__lt=timezone.now() - KEY_LIFETIME
    ).delete()
    try:
        with transaction.atomic(), _lock_timeout(WAIT_SECONDS):
            return IdempotencyKey.objects.create(scope=scope, key=key, fingerprint=digest)
    except IntegrityError:
        pass  # another request with this key committed first
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise KeyInUse from None
        raise
    first = IdempotencyKey.objects.get(scope=scope, key=key)
    if first.fingerprint != digest:
        raise KeyReused
    # A row commits with its answer (idempotency.api); unanswered, it can only be one a caller
    # reserved outside a transaction and has not answered yet.
    if first.status_code is None:
        raise KeyInUse
    return Replay(first.status_code, first.body, first.headers)


def complete(record: IdempotencyKey, status_code: int, body: Any, headers: dict[str, str]) -> None:
    """Keep the answer to give to retries."""
    record.status_code = status_code
    record.body = body
    record.headers = headers
    record.save(update_fields=["status_code", "body", "headers"])


def release(record: IdempotencyKey) -> None:
    """Free the key: the request failed, and a retry (with this body or another) should run."""
    record.delete()


def remove_expired() -> int:
    """Delete keys past their lifetime; returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(
        created_at__lt=timezone.now() - KEY_LIFETIME
    ).delete()
    return deleted


@contextmanager
def _lock_timeout(seconds: float) -> Iterator[None]:
    """On PostgreSQL, wait at most `seconds` for a row lock (here: another transaction's insert of
    the same key), for this statement only. Elsewhere (SQLite serialises writers) a no-op."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)",
            [f"{int(seconds * 1000)}ms"],
        )
        previous = cursor.fetchone()[0]
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
