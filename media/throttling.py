"""The upload limit, counted together for the pages' forms and the API (per member per hour)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle


class UploadThrottle(ScopedRateThrottle):
    """Uploads cost a decode and six encodes each: limited per member per hour (POST only)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)
