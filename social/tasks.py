from celery import shared_task

from . import push, services


@shared_task(
    bind=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
    time_limit=120,
    soft_time_limit=100,
)
def fan_out_published(self, workbook_id: int, after_follow_id: int = 0) -> None:
    """Tell an author's followers of a new workbook, a batch at a time: publishing never waits on
    how many followers there are. Each batch queues the next."""
    last = services.fan_out_published(workbook_id, after_follow_id)
    if last is not None:
        fan_out_published.delay(workbook_id, last)


@shared_task(time_limit=120, soft_time_limit=100)
def push_notifications(ids: list[int]) -> None:
    """Push a fan-out batch's notifications: on its own, so storing the next batch doesn't wait."""
    push.notifications(ids)
