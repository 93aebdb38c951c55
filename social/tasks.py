import functools
import time
from datetime import date, timedelta

from celery import shared_task
from celery.signals import worker_process_init
from django.utils import timezone

from sigma_playground.celery import retry_policy

from . import email_selectors, emails, push, selectors, services

# A fan-out not finished this long after publication has lost its message (a broker restarted
# without persistence, a worker lost whole): longer than the broker takes to hand a message back.
FAN_OUT_STALE_AFTER = timedelta(minutes=15)
# How far back the sweep looks; a follower not told in a day is not told late of old news.
FAN_OUT_SWEEP_WINDOW = timedelta(days=1)


# One task stores (and pushes) batch after batch for this long, then queues a task for the rest: a
# hand-off between tasks costs a broker round trip and a free worker, which on a busy 2-core host was
# most of a 10,000-follower fan-out's time (about 0.4 s a batch against 0.1 s of work).
FAN_OUT_TASK_SECONDS = 10


@worker_process_init.connect(dispatch_uid="social.tasks.load_urls")
def load_urls(**kwargs) -> None:
    """A fan-out's push names the workbook's page (`reverse`): a worker process loads the URLconf,
    and with it every view's module, as it starts, not in its first fan-out's first batch, where it
    took half a second on a busy host."""
    from django.urls import get_resolver

    get_resolver().reverse_dict  # noqa: B018 - read to load


@shared_task(**retry_policy(), time_limit=120, soft_time_limit=100)
def fan_out_published(workbook_id: int, after_follow_id: int = 0) -> None:
    """Tell an author's followers of a new workbook, a batch at a time: publishing never waits on
    how many followers there are. Each batch is a transaction, pushed once it commits; after
    FAN_OUT_TASK_SECONDS the task queues another for the rest. A batch run twice tells nobody twice
    (services), and resume_fan_outs finds a chain that stopped."""
    deadline = time.monotonic() + FAN_OUT_TASK_SECONDS
    # Each batch's push is made on a thread of its own while the next batch is stored, and its
    # followers' bells forgotten on another (1,000 cache writes, as long as the push or longer):
    # the last follower hears of it about when the last batch is stored, not after every batch's
    # push and bells in turn.
    with push.InOrder() as pushes, push.InOrder() as bells:
        batch = functools.partial(services.fan_out_published, pushes=pushes.put, bells=bells.put)
        last = batch(workbook_id, after_follow_id)
        while last is not None and time.monotonic() < deadline:
            last = batch(workbook_id, last)
    if last is not None:
        fan_out_published.delay(workbook_id, last)


@shared_task(time_limit=120, soft_time_limit=100)
def push_notifications(ids: list[int]) -> None:
    """Push saved notifications (fan-out batches are pushed by the fan-out itself now; this takes
    what was queued before)."""
    push.notifications(ids)


@shared_task(time_limit=120, soft_time_limit=100)
def resume_fan_outs() -> int:
    """Every five minutes: start again, from the first follower, each fan-out of the last day that
    stopped short. Idempotent: followers already told are skipped."""
    now = timezone.now()
    workbook_ids = selectors.unfinished_fan_outs(
        published_after=now - FAN_OUT_SWEEP_WINDOW, published_before=now - FAN_OUT_STALE_AFTER
    )
    for workbook_id in workbook_ids:
        fan_out_published.delay(workbook_id)
    return len(workbook_ids)


# A burst's email not sent this long after it was due has lost its task's message (a broker
# restarted without persistence, a worker lost whole): longer than a busy email queue's wait.
INSTANT_EMAIL_STALE_AFTER = timedelta(minutes=10)
# One digest task sends this many batches of members (emails.DIGEST_BATCH each), then queues a task
# for the rest: no task runs for long, and a retry starts near where it stopped.
DIGEST_BATCHES_PER_TASK = 5


@shared_task(**retry_policy(), time_limit=120, soft_time_limit=100)
def send_instant_email(user_id: int) -> bool:
    """The one email of a member's burst of activity, EMAIL_BATCH_SECONDS after it began. A
    duplicate, or a retry after a failure, sends nothing twice (emails.send_instant)."""
    return emails.send_instant(user_id)


@shared_task(time_limit=120, soft_time_limit=100)
def resume_instant_emails() -> int:
    """Every five minutes: queue again the burst emails overdue by INSTANT_EMAIL_STALE_AFTER."""
    overdue = email_selectors.overdue_bursts(timezone.now() - INSTANT_EMAIL_STALE_AFTER, 1000)
    for user_id in overdue:
        send_instant_email.delay(user_id)
    return len(overdue)


@shared_task(**retry_policy(), time_limit=300, soft_time_limit=270)
def send_weekly_digests(week: str | None = None, after_user_id: int = 0) -> None:
    """Beat, on Mondays: the digest of the week before to every member who wants it, a few
    batches per task. Run twice, or retried, it sends nobody a second one (emails.send_digests)."""
    monday = date.fromisoformat(week) if week else email_selectors.week_of(timezone.now())
    last = emails.send_digests(monday, after_user_id, batches=DIGEST_BATCHES_PER_TASK)
    if last is not None:
        send_weekly_digests.delay(monday.isoformat(), last)
