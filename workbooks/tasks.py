import time

from celery import shared_task

from sigma_playground.celery import retry_policy

from . import services


@shared_task(time_limit=120, soft_time_limit=100)
def flush_views() -> int:
    """Every minute: add the views counted since the last run to the workbooks' counters."""
    return services.flush_pending_views()


@shared_task(time_limit=300, soft_time_limit=270)
def refresh_trending() -> int:
    """Every ten minutes: recompute trending scores from the last seven days of activity, and the
    tag counts. Views pending meanwhile are flush_views's alone (it runs every minute): a second
    flusher here is what once counted views twice."""
    services.refresh_tag_counts()  # also catches authors deactivated since
    return services.refresh_trending()


@shared_task(**retry_policy(), time_limit=300, soft_time_limit=270)
def refresh_related(workbook_ids: list[int], holding: list[str] | None = None) -> int:
    """On commit of a change to workbooks' tags or visibility: their related lists, and the lists
    they enter or leave (services.refresh_related). Idempotent: a retry computes the same lists."""
    return services.refresh_related(workbook_ids, holding or ())


# How long one run of rebuild_related ranks before it hands the rest to a new run: well inside the
# time limit every task keeps to, so the broker's visibility timeout (which must outlast the longest
# task) stays short and a lost worker's tasks are taken up within minutes.
REBUILD_RELATED_SLICE_SECONDS = 200


@shared_task(**retry_policy(max_retries=2), time_limit=300, soft_time_limit=270)
def rebuild_related(after: str = "") -> int:
    """Every night at 03:30 UTC, from beat (`rebuild-related`): recompute every set of tags' related
    list, as `manage.py refresh_related` does. The safety net under refresh_related: a change whose
    task was lost (the broker down when it committed) is put right, and the kept lists follow
    trending again. A run ranks for about REBUILD_RELATED_SLICE_SECONDS, then queues the next from
    the set after the last it did (`after`), so the whole grows with the gallery while each run
    stays within the usual limit. Returns how many sets of tags this run recomputed."""
    done, last = services.rebuild_related(
        after=after, until=time.monotonic() + REBUILD_RELATED_SLICE_SECONDS
    )
    if last:
        rebuild_related.delay(last)
    return done
