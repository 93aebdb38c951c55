import json

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import CaptureQueriesContext

from sigma_playground import health

MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


@pytest.fixture(autouse=True)
def _migrations_not_yet_checked(monkeypatch):
    """Each test starts as a process that has not yet seen its migrations applied."""
    monkeypatch.setattr(health, "_migrations_applied", False, raising=False)


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
