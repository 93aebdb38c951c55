from __future__ import annotations

from django.db import models
from django.utils import timezone


class IdempotencyKey(models.Model):
    """The first successful answer to an API request that carried an `Idempotency-Key`, kept so a
    retry of the same request gets it again instead of creating a second thing.

    The row is written in the same transaction as whatever the request created: both are there, or
    neither is. `scope` is whose key it is (`user:<id>`, or `address:<ip>` for a client that is not
    signed in), so two clients can never read each other's answers by guessing keys. No foreign key:
    this app sits below the others, and a row outlives nothing by more than a day.
    """

    scope = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    # Method, path and body of the first request: a retry must be the same request.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    body = models.JSONField(null=True)
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
