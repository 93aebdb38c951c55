"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import app as celery_app

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 3.0
# A process runs the checks at most once in this long, whoever asks: a burst of probes (several
# balancers, an orchestrator, anyone on the internet) adds no load to a struggling service.
RESULT_SECONDS = 1.5


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering. Touches nothing else, so it never fails because a dependency did."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was written")
    cache.delete(key)


def _check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")

    async def round_trip() -> None:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "readyz.ping"})
        message = await layer.receive(channel)
        if message.get("type") != "readyz.ping":
            raise RuntimeError("channel layer returned something else")

    async_to_sync(round_trip)()


def _check_broker() -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return  # tasks run in-process; there is no broker to reach
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)


def _check_static_manifest() -> None:
    """A release without collectstatic has no manifest, and every page that links a stylesheet
    answers 500 (`{% static %}` finds no hashed name) while /healthz still says 200.

    What counts is the manifest this process loaded: its storage reads the file once, when first
    used, so one written later (collectstatic run after the start) is not seen until a restart.
    """
    storage = staticfiles_storage
    if not isinstance(storage, ManifestFilesMixin):  # the lazy storage answers for its class
        return  # DEBUG: files are served by name from the source folders, there is no manifest
    if storage.hashed_files:
        return  # loaded at start: no file is read per probe
    if storage.read_manifest() is None:
        raise RuntimeError(f"{storage.manifest_name} is missing: run collectstatic")
    on_disk, _ = storage.load_manifest()  # ValueError when it does not parse
    if on_disk:
        raise RuntimeError(f"{storage.manifest_name} was written after this process started")


# Migrations are not un-applied under a running process: once all are applied, that stays true and
# the check costs nothing. Until then every probe reads the migration files and django_migrations.
_migrations_applied = False


def _check_migrations() -> None:
    global _migrations_applied
    if _migrations_applied:
        return
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        first = plan[0][0]
        raise RuntimeError(f"{len(plan)} unapplied, first {first.app_label}.{first.name}")
    _migrations_applied = True


CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "migrations": _check_migrations,
    "static_manifest": _check_static_manifest,
    "cache": _check_cache,
    "channel_layer": _check_channel_layer,
    "broker": _check_broker,
}


class Readiness:
    """The checks' latest results in this process, kept for RESULT_SECONDS after they were taken.

    Probes that come while the checks run wait for them and share their results. A check is logged
    when its state changes (a failure once, with its traceback, and its recovery), not on every
    probe: a service that is down would otherwise write a traceback per probe.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._results: dict[str, str] = {}
        self._expires = 0.0
        self._states: dict[str, str] = {}

    def results(self) -> dict[str, str]:
        with self._lock:
            if self._clock() >= self._expires:
                self._results = {name: self._run(name, check) for name, check in CHECKS.items()}
                self._expires = self._clock() + RESULT_SECONDS
            return dict(self._results)

    def _run(self, name: str, check: Callable[[], None]) -> str:
        was = self._states.get(name, "ok")
        try:
            check()
        except Exception:
            if was == "ok":
                logger.warning("readiness check %s failed", name, exc_info=True)
            self._states[name] = "down"
            return "down"
        if was == "down":
            logger.warning("readiness check %s passes again", name)
        self._states[name] = "ok"
        return "ok"


_readiness = Readiness()


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Every backing service answers and the release is complete (migrations applied, static
    manifest loaded). A 503 names what is not ready.

    Each client has a short connect timeout (settings), so a dead service makes this slow by seconds,
    not minutes. The results are this process's of the last RESULT_SECONDS (Readiness).
    """
    results = _readiness.results()
    down = sorted(name for name, state in results.items() if state != "ok")
    body: dict[str, object] = {"status": "unavailable" if down else "ok", "checks": results}
    if down:
        body["down"] = down
    return JsonResponse(body, status=503 if down else 200)
