from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from sigma_playground.celery import retry_policy

from . import services
from .models import TokenFamily

logger = logging.getLogger(__name__)


@shared_task(
    **retry_policy(),
    # Not idempotent: a pool process that died mid-send may have sent it, and one killed by what it
    # was sending would get it again and again. A whole worker lost still gives it back (acks_late).
    reject_on_worker_lost=False,
    time_limit=60,
    soft_time_limit=45,
)
def send_email(
    subject: str,
    body: str,
    to: list[str],
    html_body: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Send one email outside the request: SMTP can take seconds, or be down for a minute."""
    message = EmailMultiAlternatives(subject=subject, body=body, to=to, headers=headers)
    if html_body:
        message.attach_alternative(html_body, "text/html")
    message.send()
    # Not the addresses: they are personal, and the request id ties this line to who asked.
    logger.info("email sent: subject=%r recipients=%d", subject, len(to))


@shared_task(**retry_policy(), time_limit=300, soft_time_limit=270)
def flush_expired_tokens() -> int:
    """Daily housekeeping: drop refresh tokens past their expiry and sign-ins past the absolute cap.

    Neither can be used any more, so removing them changes nothing a client can observe.
    """
    now = timezone.now()
    OutstandingToken.objects.filter(expires_at__lte=now).delete()  # cascades to the blacklist
    deleted, _ = TokenFamily.objects.filter(
        created_at__lte=now - settings.JWT_REFRESH_ABSOLUTE_LIFETIME
    ).delete()
    return deleted


@shared_task(**retry_policy(), time_limit=300, soft_time_limit=270)
def build_export(export_id: str) -> None:
    """A member's data export: the ZIP made and stored, its link emailed."""
    services.build_export(export_id)


@shared_task(**retry_policy(), time_limit=300, soft_time_limit=270)
def remove_expired_exports() -> int:
    """Hourly: exports whose link has expired, and any never finished, are removed."""
    return services.remove_expired_exports()
