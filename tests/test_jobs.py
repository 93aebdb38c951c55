"""sigma_playground.jobs: services name their tasks; the message goes once the transaction commits."""

from __future__ import annotations

import pytest
from django.db import transaction

from sigma_playground import jobs


@pytest.fixture
def sent(monkeypatch):
    calls = []
    task = jobs._task("workbooks.tasks.flush_views")
    monkeypatch.setattr(task, "delay", lambda *args: calls.append(args))
    return calls


@pytest.mark.django_db(transaction=True)
def test_a_task_is_sent_when_the_transaction_commits_and_not_before(sent):
    with transaction.atomic():
        jobs.later("workbooks.tasks.flush_views", 1, 2)
        assert sent == []
    assert sent == [(1, 2)]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_schedules_nothing(sent):
    def change() -> None:
        with transaction.atomic():
            jobs.later("workbooks.tasks.flush_views")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        change()
    assert sent == []


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_refuses_runs_the_fallback_and_keeps_the_change(monkeypatch):
    def refuse(*args):
        raise ConnectionError("broker down")

    monkeypatch.setattr(jobs._task("workbooks.tasks.flush_views"), "delay", refuse)
    failed = []
    with transaction.atomic():
        jobs.later("workbooks.tasks.flush_views", on_error=lambda: failed.append(True))
    assert failed == [True]


def test_an_unknown_task_name_is_an_error():
    with pytest.raises(KeyError):
        jobs.send("workbooks.tasks.no_such_task")


@pytest.mark.django_db(transaction=True)
def test_work_for_beat_runs_once_committed_when_tasks_run_in_the_web_process(sent, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the embedded default: no beat
    with transaction.atomic():
        jobs.scheduled("workbooks.tasks.flush_views")
        assert sent == []
    assert sent == [()]


@pytest.mark.django_db(transaction=True)
def test_work_for_beat_is_left_to_beat_when_workers_run(sent, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with transaction.atomic():
        jobs.scheduled("workbooks.tasks.flush_views")
    assert sent == []


@pytest.mark.django_db(transaction=True)
def test_a_task_with_a_countdown_is_sent_to_run_that_much_later(monkeypatch):
    calls = []
    task = jobs._task("workbooks.tasks.flush_views")
    monkeypatch.setattr(task, "apply_async", lambda args, **options: calls.append((args, options)))
    with transaction.atomic():
        jobs.later("workbooks.tasks.flush_views", 7, countdown=120)
        assert calls == []
    assert calls == [((7,), {"countdown": 120})]
