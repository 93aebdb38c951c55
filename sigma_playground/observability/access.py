"""Who may read the metrics: Prometheus, with `Authorization: Bearer <METRICS_TOKEN>` (the web and
ws processes' /metrics, endpoint.py, and a worker's exporter, tasks.py)."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def token_matches(authorization: str | None) -> bool:
    """Whether an Authorization header's value is exactly `Bearer <METRICS_TOKEN>` (never, while the
    token is unset). Their digests are compared, in constant time: neither the time taken nor an
    early end on a length mismatch says anything of the token."""
    token = settings.METRICS_TOKEN
    if not token or not authorization:
        return False
    given = hashlib.sha256(authorization.encode(errors="surrogateescape")).digest()
    wanted = hashlib.sha256(f"Bearer {token}".encode()).digest()
    return hmac.compare_digest(given, wanted)
