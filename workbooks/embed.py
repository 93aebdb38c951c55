"""What the frame of a workbook shows for one viewer: a Sigma URL to frame, or a reason not to.

Public embeds are framed as they are. Workbook, page and element URLs are framed only through a
JWT-signed URL minted here for this viewer and this view (never stored, cached or logged); without
embed credentials they get a card that opens the workbook in Sigma.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.urls import reverse

from . import sigma
from .models import Workbook

# Sigma sends `workbook:pageheight:onchange` only with this parameter on.
FRAME_PARAMS = {"responsive_height": "true"}


@dataclass(frozen=True)
class Frame:
    src: str | None  # None: show the card instead of a frame
    expires_at: datetime | None
    open_url: str  # "Open in Sigma"
    reason: str = ""  # why there is no frame, for the card


def secure_embedding_enabled() -> bool:
    return bool(settings.SIGMA_EMBED_CLIENT_ID and settings.SIGMA_EMBED_SECRET)


def frame_for(workbook: Workbook, user) -> Frame:
    try:
        parsed = sigma.parse(workbook.embed_url, settings.SIGMA_EMBED_HOSTS)
    except sigma.InvalidSigmaUrl:
        # Saved when its host was allowed; SIGMA_EMBED_HOSTS has changed since. Never framed (the CSP
        # would refuse it anyway), and never a 500.
        return _card(workbook.embed_url, "This site no longer shows workbooks from its Sigma host.")
    if settings.SIGMA_EMBED_STANDIN:
        src = reverse("workbooks:standin", args=[workbook.sigma_id])
        return Frame(src=f"{src}?kind={parsed.kind.value}", expires_at=None, open_url=parsed.url)
    if parsed.is_public:
        return Frame(
            src=sigma.with_params(parsed, **FRAME_PARAMS), expires_at=None, open_url=parsed.url
        )
    if not secure_embedding_enabled():
        return _card(parsed.url, "This workbook is private to its Sigma organisation.")
    email = user.email if user.is_authenticated else settings.SIGMA_EMBED_GUEST_EMAIL
    if not email:
        return _card(parsed.url, "Sign in to view it here.")
    try:
        src, expires_at = sigma.sign(
            parsed,
            viewer_email=email,
            client_id=settings.SIGMA_EMBED_CLIENT_ID,
            secret=settings.SIGMA_EMBED_SECRET,
            lifetime=settings.SIGMA_EMBED_TOKEN_LIFETIME,
            extra_params=FRAME_PARAMS,
        )
    except sigma.SigningError:
        return _card(parsed.url, "Sigma cannot show it to this account here.")
    return Frame(src=src, expires_at=expires_at, open_url=parsed.url)


def _card(open_url: str, reason: str) -> Frame:
    """No frame: a card that says why and opens the workbook in Sigma."""
    return Frame(src=None, expires_at=None, open_url=open_url, reason=reason)


def frame_origins() -> list[str]:
    """Origins whose messages the page's script listens to (besides checking the source window)."""
    if settings.SIGMA_EMBED_STANDIN:
        return ["self"]
    return [f"https://{host}" for host in settings.SIGMA_EMBED_HOSTS]
