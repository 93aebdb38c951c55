"""Celery jobs for images. They take ids, tolerate deleted rows and can run twice."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from sigma_playground.celery import TRANSIENT_ERRORS as SERVER_ERRORS
from sigma_playground.celery import retry_policy

from . import clamd, selectors, services, storage
from .models import Image

logger = logging.getLogger(__name__)

# Worth another try later: the storage, the scanner or the database did not answer.
TRANSIENT_ERRORS = (*SERVER_ERRORS, BotoCoreError, ClientError, clamd.ScanError)
MAX_RETRIES = 6
# A picture whose decoding kills its pool process (the OOM killer) would come back to the next
# process for ever (reject_on_worker_lost): past the retries and two such losses, it is failed.
MAX_STARTS = MAX_RETRIES + 3
# An image still processing this long after its upload has lost its job (a broker restarted without
# persistence, a worker lost whole): longer than the broker takes to hand a message back.
STUCK_AFTER = timedelta(minutes=15)
# ...and one still processing after this is failed, so its owner is told rather than left waiting.
GIVE_UP_AFTER = timedelta(hours=1)


@shared_task(bind=True, soft_time_limit=60, time_limit=90, max_retries=MAX_RETRIES)
def process_image(self, image_id: str) -> None:
    if _count_start(image_id) > MAX_STARTS:
        logger.error("Image %s started %s times without finishing; giving up", image_id, MAX_STARTS)
        _give_up(image_id, "We could not process this picture. Try a smaller one.")
        return
    try:
        services.process(image_id)
    except SoftTimeLimitExceeded:
        _give_up(image_id, "Making this picture took too long. Try a smaller one.")
    except TRANSIENT_ERRORS as error:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            logger.exception("Giving up on image %s", image_id)
            _give_up(image_id, _reason(error))
            return
        raise self.retry(exc=error, countdown=_backoff(self.request.retries)) from None
    except Exception:  # a bug or a misconfiguration: logged, and the member told, not left waiting
        logger.exception("Processing image %s failed", image_id)
        _give_up(image_id, "Something went wrong with this picture. Try again in a while.")


def _backoff(retries: int) -> float:
    # Exponential backoff with jitter: 5 s, 10 s, 20 s... capped by the visibility timeout's margin.
    ceiling = min(settings.TASK_RETRY_MAX_DELAY, 5 * 2**retries)
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311


def _count_start(image_id: str) -> int:
    key = f"media:process-starts:{image_id}"
    try:
        cache.add(key, 0, timeout=24 * 3600)  # images left processing are removed after a day
        return cache.incr(key)
    except Exception:  # the cache is unavailable: the picture is processed, only uncounted
        return 0


def _give_up(image_id: str, message: str) -> None:
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
    **{**retry_policy(MAX_RETRIES), "autoretry_for": TRANSIENT_ERRORS},
    time_limit=120,
    soft_time_limit=100,
)
def discard_variants(kind: str, content_hash: str) -> None:
    services.discard_variants(kind, content_hash)


@shared_task(soft_time_limit=270, time_limit=300)
def remove_orphans() -> None:
    # Short enough for the broker's visibility timeout; what one run leaves, the next hour's takes.
    try:
        removed = services.remove_orphans()
    except SoftTimeLimitExceeded:
        logger.warning("Orphan media cleanup ran out of time; the next run goes on")
        return
    logger.info("Removed orphan media: %s", removed)


@shared_task(time_limit=120, soft_time_limit=100)
def resume_stuck_images() -> dict[str, int]:
    """Every five minutes: queue again the images whose job was lost, and fail those waiting for
    over an hour. Idempotent: processing an image twice stores its variants once."""
    now = timezone.now()
    counts = {"requeued": 0, "failed": 0}
    for image in selectors.stuck_images(older_than=now - STUCK_AFTER):
        if image.created_at < now - GIVE_UP_AFTER:
            services.give_up(image, "We could not process the picture just now. Try again.")
            counts["failed"] += 1
        else:
            process_image.delay(str(image.pk))
            counts["requeued"] += 1
    if any(counts.values()):
        logger.warning("Images stuck in processing: %s", counts)
    return counts
