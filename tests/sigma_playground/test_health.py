import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import CaptureQueriesContext

from sigma_playground import health

MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


@pytest.fixture(autouse=True)
def _migrations_not_yet_checked(monkeypatch):
    """Each test starts as a process that has not yet seen its migrations applied nor run a check,
    and each probe runs the checks (the tests of what results are kept for set it back)."""
    monkeypatch.setattr(health, "_migrations_applied", False, raising=False)
    monkeypatch.setattr(health, "_readiness", health.Readiness())
    monkeypatch.setattr(health, "RESULT_SECONDS", 0)


def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries, db):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_every_backing_service(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "static_manifest": "ok",
        "cache": "ok",
        "channel_layer": "ok",
        "broker": "ok",
    }


@pytest.mark.django_db
def test_readyz_runs_one_query_once_the_migrations_were_seen_applied(client):
    assert client.get("/readyz").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get("/readyz")
    assert [q["sql"] for q in queries] == ["SELECT 1"]


@pytest.mark.django_db
def test_readyz_answers_503_while_a_migration_is_unapplied(client):
    recorder = MigrationRecorder(connection)
    app, name = max(key for key in recorder.applied_migrations() if key[0] == "workbooks")
    recorder.record_unapplied(app, name)

    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["down"] == ["migrations"]

    recorder.record_applied(app, name)  # the release's migrate ran
    assert client.get("/readyz").status_code == 200


@pytest.fixture
def manifest_storage(settings, tmp_path):
    """Static files as production stores them (DEBUG off): hashed names read from a manifest that
    collectstatic writes into an empty STATIC_ROOT."""
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    settings.STATIC_ROOT.mkdir()
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}
    return settings.STATIC_ROOT / "staticfiles.json"


def _write_manifest(path):
    paths = {"css/site.css": "css/site.0123456789ab.css"}
    path.write_text(json.dumps({"paths": paths, "version": "1.1", "hash": "0123456789ab"}))


@pytest.mark.django_db
def test_readyz_answers_503_without_the_static_manifest_while_healthz_says_200(
    client, manifest_storage
):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["down"] == ["static_manifest"]
    assert client.get("/healthz").status_code == 200
    # What the check stands for: a page linking a stylesheet cannot be rendered.
    with pytest.raises(ValueError, match="manifest"):
        client.get("/")


@pytest.mark.django_db
def test_readyz_passes_with_the_manifest_collectstatic_wrote(client, manifest_storage):
    _write_manifest(manifest_storage)
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["static_manifest"] == "ok"


@pytest.mark.django_db
def test_readyz_answers_503_for_a_manifest_written_after_the_process_read_none(
    client, manifest_storage
):
    assert client.get("/readyz").status_code == 503  # the storage has read: no manifest
    _write_manifest(manifest_storage)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["down"] == ["static_manifest"]


@pytest.mark.django_db
def test_readyz_answers_503_for_a_manifest_that_does_not_parse(client, manifest_storage):
    manifest_storage.write_text("{not json")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["down"] == ["static_manifest"]


@pytest.mark.django_db
def test_readyz_answers_503_and_names_what_is_down(client, monkeypatch):
    def broken():
        raise ConnectionError("refused")

    monkeypatch.setitem(health.CHECKS, "cache", broken)
    monkeypatch.setitem(health.CHECKS, "broker", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["down"] == ["broker", "cache"]
    assert body["checks"]["database"] == "ok"


@pytest.mark.redis
@pytest.mark.django_db
def test_readyz_checks_the_real_broker_when_tasks_are_not_eager(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()


@pytest.mark.django_db
def test_readyz_reports_an_unreachable_broker(client, settings, monkeypatch):
    from sigma_playground.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setitem(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["down"] == ["broker"]


# --- What a burst of probes costs a struggling service --------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def counted_checks(monkeypatch):
    """Every check replaced by one that counts its runs and fails while `failing` is set."""
    state = {"runs": 0, "failing": False}

    def check():
        state["runs"] += 1
        if state["failing"]:
            raise ConnectionError("refused")

    monkeypatch.setattr(health, "CHECKS", {"cache": check})
    return state


@pytest.mark.django_db
def test_readyz_runs_the_checks_once_for_the_probes_of_a_second_and_a_half(
    client, monkeypatch, counted_checks
):
    clock = Clock()
    monkeypatch.setattr(health, "_readiness", health.Readiness(clock=clock))
    monkeypatch.setattr(health, "RESULT_SECONDS", 1.5)

    for _ in range(5):
        assert client.get("/readyz").status_code == 200
    assert counted_checks["runs"] == 1
    counted_checks["failing"] = True
    clock.now += 1.4
    assert client.get("/readyz").status_code == 200  # what was found a moment ago
    clock.now += 0.2
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["down"] == ["cache"]
    assert counted_checks["runs"] == 2


def test_probes_that_come_while_the_checks_run_share_their_results(monkeypatch):
    runs, started = [], threading.Event()

    def slow():
        runs.append(1)
        started.set()
        time.sleep(0.3)

    monkeypatch.setattr(health, "CHECKS", {"database": slow})
    monkeypatch.setattr(health, "RESULT_SECONDS", 1.5)
    readiness = health.Readiness()
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(readiness.results)
        started.wait(5)
        rest = [pool.submit(readiness.results) for _ in range(7)]
        answers = [first.result(5)] + [probe.result(5) for probe in rest]
    assert len(runs) == 1
    assert answers == [{"database": "ok"}] * 8


@pytest.mark.django_db
def test_a_failing_check_is_logged_when_it_fails_and_when_it_recovers_not_on_every_probe(
    client, caplog, counted_checks
):
    caplog.set_level(logging.INFO, logger="sigma_playground.health")
    counted_checks["failing"] = True
    for _ in range(3):
        assert client.get("/readyz").status_code == 503
    counted_checks["failing"] = False
    for _ in range(3):
        assert client.get("/readyz").status_code == 200
    counted_checks["failing"] = True
    assert client.get("/readyz").status_code == 503

    lines = [
        (record.getMessage(), record.exc_info is not None)
        for record in caplog.records
        if record.name == "sigma_playground.health"
    ]
    assert lines == [
        ("readiness check cache failed", True),
        ("readiness check cache passes again", False),
        ("readiness check cache failed", True),
    ]
