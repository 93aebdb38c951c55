"""Celery jobs for images. They take ids, tolerate deleted rows and can run twice."""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from . import clamd, services, storage

logger = logging.getLogger(__name__)

# Worth another try later: the storage, the scanner or the database did not answer.
TRANSIENT_ERRORS = (
    OSError, BotoCoreError, ClientError, clamd.ScanError, OperationalError, InterfaceError
)  # fmt: skip
MAX_RETRIES = 6


@shared_task(bind=True, soft_time_limit=60, time_limit=90, max_retries=MAX_RETRIES)
def process_image(self, image_id: str) -> None:
    try:
        services.process(image_id)
    except SoftTimeLimitExceeded:
        _give_up(image_id, "Making this picture took too long. Try a smaller one.")
    except TRANSIENT_ERRORS as error:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            logger.exception("Giving up on image %s", image_id)
            _give_up(image_id, _reason(error))
            return
        # Exponential backoff with jitter: 5 s, 10 s, 20 s... capped at 5 minutes.
        raise self.retry(exc=error, countdown=_backoff(self.request.retries)) from None
    except Exception:  # a bug or a misconfiguration: logged, and the member told, not left waiting
        logger.exception("Processing image %s failed", image_id)
        _give_up(image_id, "Something went wrong with this picture. Try again in a while.")


def _backoff(retries: int) -> float:
    import random

    return min(300, 5 * 2**retries) * random.uniform(0.5, 1.0)  # noqa: S311


def _give_up(image_id: str, message: str) -> None:
    from .models import Image

    image = Image.objects.filter(pk=image_id, status=Image.Status.PROCESSING).first()
    if image is not None:
        services.give_up(image, message)


def _reason(error: Exception) -> str:
    """What the member is told when the retries are spent: a full disk is worth naming, since
    trying again soon will not help."""
    if storage.is_full(error):
        return storage.FULL_MESSAGE
    return "We could not process the picture just now. Try again in a while."


@shared_task(
    autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, retry_jitter=True, max_retries=MAX_RETRIES
)
def discard_variants(kind: str, content_hash: str) -> None:
    services.discard_variants(kind, content_hash)


@shared_task(soft_time_limit=1800, time_limit=1900)
def remove_orphans() -> None:
    removed = services.remove_orphans()
    logger.info("Removed orphan media: %s", removed)
