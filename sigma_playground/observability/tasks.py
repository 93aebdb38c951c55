"""Celery's figures (docs/operations.md): how tasks end and how long they run, how long the queues
are and how long their oldest message has waited, and a worker's own /metrics.

- Every task run is counted by how it ended, celery_tasks_total{task, outcome} (succeeded, failed,
  retried), and timed, celery_task_duration_seconds{task}: in the pool process that ran it, or in
  the caller's process when tasks are eager (`make run`, the tests).
- Every message published carries a `published_at` header (epoch seconds), so the age of a queue's
  oldest message can be read from the broker.
- `BrokerQueues` (one of collectors.SCRAPE_COLLECTORS) reads each queue's length and the age of its
  oldest message from Redis when the web or ws /metrics is scraped: the broker is the one place
  that knows, whichever worker is up.
- A worker started with CELERY_METRICS_PORT serves its kind's figures on that port
  (`WorkerExporter`): Prometheus cannot reach a Celery worker otherwise. Its main process adds up
  what its pool processes wrote under PROMETHEUS_MULTIPROC_DIR, as the web's /metrics does for
  granian's workers.

sigma_playground.celery imports this module, so its signal handlers are connected in every process
that publishes or runs tasks.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from celery import signals, states
from celery.exceptions import Retry, TimeLimitExceeded, WorkerLostError

from . import metrics, process
from .access import token_matches

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

logger = logging.getLogger(__name__)

_app: Any = None  # the site's Celery app, given by use_app()


def use_app(app: Any) -> None:
    """The Celery app whose tasks and broker these figures are about: sigma_playground.celery gives
    its own when it loads this module (which therefore never imports it)."""
    global _app
    _app = app


def celery_app() -> Any:
    if _app is None:
        raise RuntimeError("sigma_playground.celery has not given its app (use_app)")
    return _app


PUBLISHED_AT = "published_at"  # the message header: when it was published, in epoch seconds

# --- Task runs ------------------------------------------------------------------------------------

# When each task now running in this process started (by task id): a pool process runs one at a
# time, an eager caller may nest them.
_started: dict[str, float] = {}


def _stamp_published_at(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    # Set on every publish, a retry's too: the age wanted is how long it has waited this time.
    if headers is not None:
        headers[PUBLISHED_AT] = time.time()


def _task_started(task_id: str | None = None, **kwargs: Any) -> None:
    if task_id is not None:
        _started[task_id] = time.perf_counter()


def _task_ended(
    task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any
) -> None:
    started = _started.pop(task_id, None) if task_id is not None else None
    if task is None:
        return
    if started is not None:
        metrics.celery_task_duration.labels(task=task.name).observe(time.perf_counter() - started)
    outcome = task_outcome(state)
    if outcome is not None:
        metrics.celery_tasks.labels(task=task.name, outcome=outcome).inc()
    process.update()  # a pool process records its own memory and CPU now and then


# Failures the pool process never reports: a run killed at its hard time limit, or whose process
# died under it. No task_postrun runs then; the worker's main process sends task_failure instead.
_LOST_RUNS = (TimeLimitExceeded, WorkerLostError)
# Task ids already counted that way (a few, in case a run is reported lost twice): never counted twice.
_counted_lost: OrderedDict[str, None] = OrderedDict()
_COUNTED_LOST_KEPT = 1000


def _task_lost(
    sender: Any = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    **kwargs: Any,
) -> None:
    # Every other failure is counted by task_postrun, in the process that ran it.
    if sender is None or not isinstance(exception, _LOST_RUNS):
        return
    if task_id is not None:
        if task_id in _counted_lost:
            return
        _counted_lost[task_id] = None
        while len(_counted_lost) > _COUNTED_LOST_KEPT:
            _counted_lost.popitem(last=False)
    metrics.celery_tasks.labels(task=sender.name, outcome="failed").inc()


def task_outcome(state: str | None) -> str | None:
    """How a run ended, from the state task_postrun gives; None when it was neither (ignored or
    rejected). An eager task whose error reaches its caller (CELERY_TASK_EAGER_PROPAGATES) ends with
    no state: the error on its way out says which."""
    if state == states.SUCCESS:
        return "succeeded"
    if state == states.RETRY:
        return "retried"
    if state == states.FAILURE:
        return "failed"
    if state is None:
        error = sys.exc_info()[1]
        if isinstance(error, Retry):
            return "retried"
        if error is not None:
            return "failed"
    return None


# --- The queues, read from the broker when /metrics is scraped -----------------------------------

# A scrape that asks a broker that does not answer gives up within this (Prometheus's default
# scrape timeout is 10 s, and the other figures must still go out).
BROKER_TIMEOUT_SECONDS = 1.0
# kombu's Redis transport: a queue's messages of priority p > 0 wait in a list of its own named
# queue + SEPARATOR + p (kombu.transport.redis.Channel).
KOMBU_PRIORITY_SEPARATOR = "\x06\x16"
KOMBU_PRIORITY_STEPS = (0, 3, 6, 9)

_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


def _redis_client(broker_url: str, options: dict[str, Any]) -> Any:
    """A client of the broker's Redis, with short timeouts and no retries; None when the broker is
    not Redis (the embedded default's memory:// broker)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry as RedisRetry
    from redis.sentinel import Sentinel

    timeouts = {
        "socket_timeout": BROKER_TIMEOUT_SECONDS,
        "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
        "retry": RedisRetry(NoBackoff(), 0),
    }
    if broker_url.startswith(("redis://", "rediss://", "unix://")):
        return redis.Redis.from_url(broker_url, **timeouts)
    if broker_url.startswith("sentinel://"):
        # Celery's spelling: one sentinel:// URL per sentinel, joined by ";" (settings.py).
        sentinels, db, password = [], 0, None
        for part in broker_url.split(";"):
            location = urlsplit(part.strip())
            sentinels.append((location.hostname, location.port or 26379))
            db = int(location.path.strip("/") or 0)
            password = unquote(location.password) if location.password else None
        manager = Sentinel(sentinels, sentinel_kwargs=dict(timeouts), **timeouts)
        return manager.master_for(options["master_name"], db=db, password=password)
    return None


def broker_client(broker_url: str, options: dict[str, Any]) -> Any:
    with _clients_lock:
        if broker_url not in _clients:
            _clients[broker_url] = _redis_client(broker_url, options)
        return _clients[broker_url]


def published_at(message: bytes | None) -> float | None:
    """The `published_at` header of a message as kombu keeps it in Redis (a JSON envelope); None
    for a message published without one (by a release before this one) or not readable."""
    if message is None:
        return None
    try:
        value = json.loads(message)["headers"][PUBLISHED_AT]
    except (ValueError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) else None


class BrokerQueues:
    """celery_queue_length{queue}: messages waiting in each of settings.CELERY_TASK_QUEUES;
    celery_queue_oldest_task_age_seconds{queue}: how long the oldest of them has waited (0 when
    none does). Read from a Redis broker in one round trip; nothing with eager tasks or another
    broker. Messages a worker has taken and holds (prefetched, or waiting for a retry's countdown)
    are not waiting: kombu keeps them apart, and they count in neither.

    kombu LPUSHes a message and workers BRPOP, so a list's oldest message is at its tail."""

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        app = celery_app()
        if app.conf.task_always_eager:
            return
        options = app.conf.broker_transport_options or {}
        client = broker_client(app.conf.broker_url or "", options)
        if client is None:
            return
        prefix = options.get("global_keyprefix", "")
        separator = options.get("sep", KOMBU_PRIORITY_SEPARATOR)
        steps = options.get("priority_steps", KOMBU_PRIORITY_STEPS)
        queues = [queue.name for queue in app.conf.task_queues or ()]
        keys = {
            queue: [
                f"{prefix}{queue}{separator}{step}" if step else f"{prefix}{queue}"
                for step in steps
            ]
            for queue in queues
        }
        pipe = client.pipeline(transaction=False)
        for queue in queues:
            for key in keys[queue]:
                pipe.llen(key)
                pipe.lindex(key, -1)
        answers = iter(pipe.execute())
        now = time.time()

        lengths = GaugeMetricFamily(
            "celery_queue_length", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        ages = GaugeMetricFamily(
            "celery_queue_oldest_task_age_seconds",
            "How long the oldest message waiting in a Celery queue has waited (0: none waits).",
            labels=["queue"],
        )
        for queue in queues:
            length, oldest = 0, None
            for _key in keys[queue]:
                length += next(answers)
                stamp = published_at(next(answers))
                if stamp is not None:
                    oldest = stamp if oldest is None else min(oldest, stamp)
            lengths.add_metric([queue], length)
            # Another host's clock may run ahead a little: never a negative age.
            ages.add_metric([queue], max(0.0, now - oldest) if oldest is not None else 0.0)
        yield lengths
        yield ages


# --- A worker's own /metrics ---------------------------------------------------------------------


# Prometheus scrapes one at a time; a few more connections are served at once, and any beyond that
# is closed at once, so connections that send nothing cannot use up the main process's threads and
# file descriptors (it needs those for the broker and its pool).
EXPORTER_CONNECTIONS = 4
# A connection that sends no complete request within this is closed.
EXPORTER_TIMEOUT_SECONDS = 5.0


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in progress never holds up the worker's shutdown
    allow_reuse_address = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots = threading.BoundedSemaphore(EXPORTER_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A connection closed for sending nothing in time, or dropped by its client, is no error.
        if not isinstance(sys.exc_info()[1], TimeoutError | ConnectionError):
            super().handle_error(request, client_address)


class _QuietHandler(WSGIRequestHandler):
    timeout = EXPORTER_TIMEOUT_SECONDS  # socketserver sets it on the connection

    def log_message(self, format: str, *args: Any) -> None:  # one line per scrape is noise
        pass


class MainProcessFigures:
    """The worker's main process's memory, CPU and open files, read when scraped and written to no
    file: the exporter's thread must not take prometheus_client's lock for its files, which a pool
    process forked at that moment would inherit held (and hang on its first figure)."""

    GAUGES = {  # name: (reader in process.py, help as metrics.py has it)
        "process_resident_memory_bytes": ("resident_memory_bytes", "Resident memory."),
        "process_cpu_seconds_total": ("cpu_seconds", "User and system CPU time spent."),
        "process_open_fds": ("open_fds", "Open file descriptors."),
    }

    def add_to(self, families: list[Metric]) -> list[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        pid = str(os.getpid())
        by_name = {family.name: family for family in families}
        for name, (reader, documentation) in self.GAUGES.items():
            value = getattr(process, reader)()
            family = by_name.get(name)
            if family is None:
                family = GaugeMetricFamily(name, documentation)
                families.append(family)
            # In place of what this process may have written itself (a solo pool runs tasks here).
            family.samples = [s for s in family.samples if s.labels.get("pid") != pid]
            if value is not None:
                family.add_sample(name, {"pid": pid}, value)
        return families


class _WorkerFigures:
    """What the exporter answers: the kind's files, tidied and added up, plus the main process's
    own figures."""

    def __init__(self, directory: str) -> None:
        self.files = metrics.DirectoryCollector(directory)

    def collect(self) -> list[Metric]:
        return MainProcessFigures().add_to(self.files.collect())


class WorkerExporter:
    """GET /metrics on `port`, in a thread of the worker's main process: its kind's figures (the
    files its pool processes and itself wrote under `directory`, else this process's own), to
    `Authorization: Bearer <METRICS_TOKEN>` only; 404 to anything else, as the web's /metrics
    answers (access.token_matches)."""

    def __init__(self, port: int, directory: str | None, host: str = "") -> None:
        from prometheus_client import CollectorRegistry, make_wsgi_app

        self.directory = directory
        if directory:
            registry = CollectorRegistry(auto_describe=False)
            registry.register(_WorkerFigures(directory))
        else:
            registry = metrics.REGISTRY
        self.metrics_app = make_wsgi_app(registry)
        self.server = make_server(
            host, port, self.app, server_class=_Server, handler_class=_QuietHandler
        )
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="metrics-exporter", daemon=True
        )

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> WorkerExporter:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        allowed = (
            environ.get("PATH_INFO") == "/metrics"
            and environ.get("REQUEST_METHOD") in ("GET", "HEAD")
            and token_matches(environ.get("HTTP_AUTHORIZATION"))
        )
        if not allowed:
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"Not found.\n"]
        if not self.directory:
            # This process's own figures (a worker without PROMETHEUS_MULTIPROC_DIR): written here,
            # so only where there is no pool of forked processes to inherit a held lock.
            process.update(force=True)
        body: Iterable[bytes] = self.metrics_app(environ, start_response)
        return body


_exporter: WorkerExporter | None = None


def _start_exporter(**kwargs: Any) -> None:
    global _exporter
    from django.conf import settings

    app = celery_app()
    metrics.start_tasks_at_zero(app.tasks)  # this process counts lost runs (_task_lost)
    port = settings.CELERY_METRICS_PORT
    if not port or _exporter is not None:
        return
    if not settings.METRICS_TOKEN:
        logger.warning("CELERY_METRICS_PORT is set but METRICS_TOKEN is not: no metrics are served")
        return
    directory = metrics.multiprocess_directory()
    host = settings.CELERY_METRICS_HOST
    _exporter = WorkerExporter(port, str(directory) if directory else None, host).start()
    logger.info("the worker's metrics are served on %s port %s at /metrics", host, port)


def _let_go_of_exporter(**kwargs: Any) -> None:
    """A pool process forked after the exporter started (one replacing another) holds a copy of
    its listening socket: closed, so the port is free once the main process is gone."""
    global _exporter
    exporter, _exporter = _exporter, None
    if exporter is not None:
        exporter.server.socket.close()
    # A pid is reused: what a gone process of this pid left is tidied away before this one writes.
    metrics.tidy(including_own=True)
    metrics.start_tasks_at_zero(celery_app().tasks)
    process.update(force=True)  # an idle pool process's memory is reported from the start


def _stop_exporter(**kwargs: Any) -> None:
    global _exporter
    exporter, _exporter = _exporter, None
    if exporter is not None:
        exporter.stop()


# Connected by call, not as decorators: Celery has no type information, and its decorator would
# leave these functions untyped.
signals.before_task_publish.connect(
    _stamp_published_at, weak=False, dispatch_uid="observability.published_at"
)
signals.task_prerun.connect(_task_started, weak=False, dispatch_uid="observability.task_prerun")
signals.task_postrun.connect(_task_ended, weak=False, dispatch_uid="observability.task_postrun")
signals.task_failure.connect(_task_lost, weak=False, dispatch_uid="observability.task_failure")
signals.worker_ready.connect(_start_exporter, weak=False, dispatch_uid="observability.worker_ready")
signals.worker_process_init.connect(
    _let_go_of_exporter, weak=False, dispatch_uid="observability.worker_process_init"
)
signals.worker_shutdown.connect(
    _stop_exporter, weak=False, dispatch_uid="observability.worker_shutdown"
)
