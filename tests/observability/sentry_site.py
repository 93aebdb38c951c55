"""A view that fails, a view that schedules a task that fails, and that task: what the Sentry tests
make the site report (as tests.settings' ROOT_URLCONF in a process of their own)."""

import contextlib

from celery import shared_task
from django.http import HttpResponse
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


urlpatterns = [
    path("broken/", broken_view, name="observability-broken"),
    path("schedule/", schedule_view, name="observability-schedule"),
    path("", include("sigma_playground.urls")),
]
