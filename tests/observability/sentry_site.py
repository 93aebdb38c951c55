"""Views for the observability tests, served with the site's own (as ROOT_URLCONF): one that fails,
one that fails holding posted data, one whose path holds a token, one that schedules a task that fails
(and that task), and an event stream that logs as it streams."""

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


def broken_view(request, **kwargs):
    request.user.get_username()  # a page knows who asks (the site's all do), then fails
    raise Broken("the view failed")


def serializer_view(request):
    # Holds what was posted, as a sign-in's serializer does, and writes an audit line, then fails.
    from rest_framework import serializers

    from sigma_playground.observability import audit

    serializer = serializers.Serializer(data=request.POST.dict())
    audit.event("signin_failed", request=request, reason="a test")
    raise Broken(f"the view failed holding {type(serializer).__name__}")


def schedule_view(request):
    request.user.get_username()
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
    path("serializer/", serializer_view, name="observability-serializer"),
    # A path that is a credential, as a password-reset link's.
    path("reset/<uidb64>/<token>/", broken_view, name="observability-reset"),
    path("schedule/", schedule_view, name="observability-schedule"),
    path("", include("sigma_playground.urls")),
]
