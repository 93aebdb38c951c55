from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from .models import TokenFamily


@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
    time_limit=60,
    soft_time_limit=45,
)
def send_email(subject: str, body: str, to: list[str], html_body: str | None = None) -> None:
    """Send one email outside the request: SMTP can take seconds, or be down for a minute."""
    message = EmailMultiAlternatives(subject=subject, body=body, to=to)
    if html_body:
        message.attach_alternative(html_body, "text/html")
    message.send()


@shared_task(time_limit=600, soft_time_limit=540)
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
