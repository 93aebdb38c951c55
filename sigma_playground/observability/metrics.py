"""Every Prometheus metric the site records, in one place (docs/operations.md says what each means).

Several processes serve the site (granian's workers, the ASGI process, Celery's pool), so each kind
of process keeps its figures in files under a directory of its own, PROMETHEUS_MULTIPROC_DIR
(the Procfile sets it), and `/metrics` adds up the files of every process of its kind
(prometheus-client's multiprocess mode). Without the variable (`make run`, the test suite) the
figures are this process's own.

The variable must be set before prometheus_client is first imported: prometheus_client chooses
between memory and files at import. `prepare_directory()` runs first: it makes the directory and
removes what dead processes left of their gauges (their counters stay: a total never goes down).
"""

from __future__ import annotations

import os
from pathlib import Path

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_directory() -> Path | None:
    value = os.environ.get(MULTIPROC_DIR_VARIABLE, "").strip()
    return Path(value) if value else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prepare_directory() -> None:
    """Make the multiprocess directory, and forget the gauges of processes that are gone, this
    process's own pid included (a pid is reused: a new process must not start from an old one's
    gauge)."""
    directory = multiprocess_directory()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("gauge_*.db"):
        try:
            pid = int(path.stem.rsplit("_", 1)[1])
        except (IndexError, ValueError):
            continue
        if pid == os.getpid() or not _alive(pid):
            path.unlink(missing_ok=True)


prepare_directory()

from prometheus_client import CollectorRegistry  # noqa: E402
from prometheus_client import Counter as _Counter  # noqa: E402
from prometheus_client import Gauge as _Gauge  # noqa: E402
from prometheus_client import Histogram as _Histogram  # noqa: E402

# The site's metrics, apart from prometheus_client's default registry (whose process collector
# reads only the scraping process; process.py records every process's own instead).
REGISTRY = CollectorRegistry(auto_describe=True)


def Counter(*args, **kwargs) -> _Counter:  # named as the class it makes
    return _Counter(*args, registry=REGISTRY, **kwargs)


def Gauge(*args, **kwargs) -> _Gauge:
    return _Gauge(*args, registry=REGISTRY, **kwargs)


def Histogram(*args, **kwargs) -> _Histogram:
    return _Histogram(*args, registry=REGISTRY, **kwargs)


# Buckets ---------------------------------------------------------------------------------------

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SIZE_BUCKETS = (256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)
QUERY_COUNT_BUCKETS = (0, 1, 2, 3, 5, 10, 20, 50, 100)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0)
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# HTTP: label `view` is the URL pattern's name (never the path: a path per workbook would make a
# series per workbook), "<unmatched>" for a 404 no pattern matched; `status` is the class ("2xx").

http_requests = Counter("http_requests", "Requests answered.", ["view", "method", "status"])
http_request_duration = Histogram(
    "http_request_duration_seconds",
    "Time from the request reaching Django to its answer leaving it.",
    ["view", "method"],
    buckets=LATENCY_BUCKETS,
)
http_response_size = Histogram(
    "http_response_size_bytes",
    "Size of answers with a known length (streams are not counted).",
    ["view"],
    buckets=SIZE_BUCKETS,
)

# Database --------------------------------------------------------------------------------------

http_request_db_queries = Histogram(
    "http_request_db_queries",
    "Database queries one request made.",
    ["view"],
    buckets=QUERY_COUNT_BUCKETS,
)
http_request_db_duration = Histogram(
    "http_request_db_duration_seconds",
    "Time one request spent waiting on the database.",
    ["view"],
    buckets=LATENCY_BUCKETS,
)
db_connections_open = Gauge(
    "db_connections_open",
    "Database connections this process holds open (a series per process).",
    ["alias"],
    multiprocess_mode="all",
)
cache_requests = Counter("cache_requests", "Cache reads, by whether the key was there.", ["result"])

# Realtime: `kind` is "websocket" or "stream" (the server-sent event stream) ---------------------

realtime_connections = Gauge(
    "realtime_connections",
    "Open websockets and event streams (a series per process).",
    ["kind"],
    multiprocess_mode="all",
)
notifications_pushed = Counter(
    "notifications_pushed", "Notifications delivered to an open socket or stream.", ["kind"]
)
notification_push_failures = Counter(
    "notification_push_failures",
    "Notifications that could not be handed to the channel layer (the member reads them on the "
    "next page or resume instead).",
)
notification_push_lag = Histogram(
    "notification_push_lag_seconds",
    "Time from a notification's creation to its delivery to an open socket or stream.",
    ["kind"],
    buckets=LAG_BUCKETS,
)
realtime_resumes = Counter(
    "realtime_resumes", "Reconnections served what was missed since the client's last id.", ["kind"]
)

# Celery: `outcome` is "succeeded", "failed" or "retried" ----------------------------------------

celery_tasks = Counter("celery_tasks", "Task runs, by how they ended.", ["task", "outcome"])
celery_task_duration = Histogram(
    "celery_task_duration_seconds", "Time a task ran.", ["task"], buckets=TASK_BUCKETS
)
# Read from the broker when /metrics is scraped (sigma_playground.observability.collectors), not
# recorded: celery_queue_length{queue} and celery_queue_oldest_task_age_seconds{queue}.

# The site's own events --------------------------------------------------------------------------

signups = Counter("signups", "Accounts created.")
signins = Counter("signins", "Successful sign-ins, by how.", ["method"])
lockouts = Counter(
    "lockouts", "Requests refused 429 by a sign-in, sign-up or code guard.", ["guard"]
)
uploads = Counter("uploads", "Image uploads, accepted or refused by reason.", ["outcome", "reason"])
images_processed = Counter(
    "images_processed", "Image processing runs, by how they ended.", ["outcome"]
)
image_processing_duration = Histogram(
    "image_processing_duration_seconds",
    "Time one image took to process.",
    buckets=TASK_BUCKETS,
)
workbooks_published = Counter("workbooks_published", "Workbooks published.")
workbook_views = Counter("workbook_views", "Workbook views counted.")

# The process (a series per process; updated by each process now and then, see process.py) -------

process_resident_memory = Gauge(
    "process_resident_memory_bytes", "Resident memory.", multiprocess_mode="all"
)
process_cpu_seconds = Gauge(
    "process_cpu_seconds_total", "User and system CPU time spent.", multiprocess_mode="all"
)
process_open_fds = Gauge("process_open_fds", "Open file descriptors.", multiprocess_mode="all")
