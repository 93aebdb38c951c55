"""Views for the observability tests, served with the site's own (as ROOT_URLCONF): one that fails,
one that schedules a task that fails (and that task), and an event stream that logs as it streams."""

import contextlib
import logging

from celery import shared_task
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import include, path


class Broken(Exception):
    pass


@shared_task(name="tests.observability.fail")
def fail() -> None:
    raise Broken("the task failed")


def broken_view(request):
    raise Broken("the view failed")


def schedule_view(request):
    # Run eagerly here, where its error reaches the caller: the view itself succeeds.
    with contextlib.suppress(Broken):
        fail.delay()
    return HttpResponse(status=202)


async def stream_view(request):
    async def events():
        for n in range(2):
            logging.getLogger("tests.observability.stream").info("event %d", n)
            yield f"data: {n}\n\n"

    return StreamingHttpResponse(events(), content_type="text/event-stream")


urlpatterns = [
    path("stream/", stream_view, name="observability-stream"),
    path("broken/", broken_view, name="observability-broken"),
    path("schedule/", schedule_view, name="observability-schedule"),
    path("", include("sigma_playground.urls")),
]
