from celery import shared_task

from . import services


@shared_task(time_limit=300, soft_time_limit=270)
def remove_expired_keys() -> int:
    """Hourly: forget answers kept for retries once their 24 hours are over."""
    return services.remove_expired()
