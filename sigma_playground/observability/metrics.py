"""Every Prometheus metric the site records, in one place (docs/operations.md says what each means).

Several processes serve the site (granian's workers, the ASGI process, Celery's pool), so each kind
of process keeps its figures in files under a directory of its own, PROMETHEUS_MULTIPROC_DIR
(the Procfile sets it), and `/metrics` adds up the files of every process of its kind
(prometheus-client's multiprocess mode). Without the variable (`make run`, the test suite) the
figures are this process's own.

The variable must be set before prometheus_client is first imported: prometheus_client chooses
between memory and files at import. `prepare_directory()` runs first: it makes the directory and
tidies what dead processes left (`tidy`).

What a dead process leaves: its gauges are dropped (its memory is nobody's now); its counters and
histograms are folded into one archive file per type, `counter_archive.db` and
`histogram_archive.db`, so totals never go down and the number of files read by a scrape stays
that of the live processes. Folding happens under an exclusive lock on a file in the directory; a
scrape reads under the shared lock (`read_directory`), so it never sees a figure both in a dead
process's file and in the archive.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
LOCK_FILE = "tidy.lock"  # not *.db: prometheus_client reads every *.db file as figures
ARCHIVE = (
    "archive"  # `<type>_archive.db`: prometheus_client takes the type from the name's first part
)
_FOLDED_TYPES = ("counter", "histogram")


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


# Lock files this process holds open. A flock belongs to the open file, which a fork shares: a pool
# process forked while the exporter thread holds the lock would keep it held for ever, so the child
# closes its copies at once.
_held: set[int] = set()


def _close_inherited_locks() -> None:
    for fd in list(_held):
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_close_inherited_locks)


@contextlib.contextmanager
def _locked(directory: Path, *, exclusive: bool) -> Iterator[None]:
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    _held.add(fd)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        _held.discard(fd)
        os.close(fd)  # lets go of the lock too


def _files_of_gone_processes(directory: Path, *, including_own: bool) -> list[Path]:
    """Gauge, counter and histogram files whose process is gone (and this process's own, when
    asked: a pid is reused, and a new process must not start from an old one's figures)."""
    gone = []
    for path in directory.glob("*.db"):
        try:
            pid = int(path.stem.rsplit("_", 1)[1])
        except (IndexError, ValueError):
            continue  # an archive, or a file that is not prometheus_client's
        if (including_own and pid == os.getpid()) or (pid != os.getpid() and not _alive(pid)):
            gone.append(path)
    return gone


def tidy(directory: Path | str | None = None, *, including_own: bool = False) -> None:
    """Drop the gauges of processes that are gone and fold their counters and histograms into the
    archive files. Cheap when there is nothing to do (a directory listing, a signal 0 per pid)."""
    directory = Path(directory) if directory is not None else multiprocess_directory()
    if directory is None or not _files_of_gone_processes(directory, including_own=including_own):
        return
    with _locked(directory, exclusive=True):
        # Again under the lock: another process may have tidied them meanwhile.
        gone = _files_of_gone_processes(directory, including_own=including_own)
        for kind in _FOLDED_TYPES:
            files = [path for path in gone if path.name.startswith(f"{kind}_")]
            if files:
                _fold(directory, kind, files)
        for path in gone:
            path.unlink(missing_ok=True)  # gauges, and files of any other type


def _fold(directory: Path, kind: str, files: list[Path]) -> None:
    """Add `files` into `<kind>_archive.db`: the new archive is written aside and put in place in
    one rename, and only then are the files removed (the caller holds the exclusive lock)."""
    from prometheus_client.mmap_dict import MmapedDict, mmap_key
    from prometheus_client.multiprocess import MultiProcessCollector

    archive = directory / f"{kind}_{ARCHIVE}.db"
    sources = [str(path) for path in files]
    if archive.exists():
        sources.append(str(archive))
    # accumulate=False: each histogram bucket's own count, as the files keep them (a scrape adds
    # them up into cumulative buckets), and no _count sample, which the files do not have either.
    families = MultiProcessCollector.merge(sources, accumulate=False)
    new = directory / f"{kind}_{ARCHIVE}.db.new"  # not *.db: no scrape reads it half written
    new.unlink(missing_ok=True)
    table = MmapedDict(str(new))
    try:
        for family in families:
            for sample in family.samples:
                names, values = list(sample.labels), list(sample.labels.values())
                key = mmap_key(family.name, sample.name, names, values, family.documentation)
                table.write_value(key, sample.value, 0.0)
    finally:
        table.close()
    os.replace(new, archive)


def read_directory(directory: Path | str) -> list[Metric]:
    """The metric families of every process of the directory's kind, added up, as a scrape
    answers them: read under the shared lock, so no folding happens halfway through."""
    from prometheus_client.multiprocess import MultiProcessCollector

    directory = Path(directory)
    with _locked(directory, exclusive=False):
        return list(MultiProcessCollector(None, path=str(directory)).collect())


class DirectoryCollector:
    """A collector (prometheus_client's sense) of a multiprocess directory: tidied, then read."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def collect(self) -> list[Metric]:
        tidy(self.directory)
        return read_directory(self.directory)


def prepare_directory() -> None:
    """Make the multiprocess directory and tidy it, this process's own pid included."""
    directory = multiprocess_directory()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    tidy(directory, including_own=True)


prepare_directory()

from prometheus_client import CollectorRegistry  # noqa: E402
from prometheus_client import Counter as _Counter  # noqa: E402
from prometheus_client import Gauge as _Gauge  # noqa: E402
from prometheus_client import Histogram as _Histogram  # noqa: E402

# The site's metrics, apart from prometheus_client's default registry (whose process collector
# reads only the scraping process; process.py records every process's own instead).
REGISTRY = CollectorRegistry(auto_describe=True)


def Counter(
    name: str, documentation: str, labelnames: Iterable[str] = (), **kwargs: Any
) -> _Counter:  # named as the class it makes
    return _Counter(name, documentation, labelnames, registry=REGISTRY, **kwargs)


def Gauge(name: str, documentation: str, labelnames: Iterable[str] = (), **kwargs: Any) -> _Gauge:
    return _Gauge(name, documentation, labelnames, registry=REGISTRY, **kwargs)


def Histogram(
    name: str, documentation: str, labelnames: Iterable[str] = (), **kwargs: Any
) -> _Histogram:
    return _Histogram(name, documentation, labelnames, registry=REGISTRY, **kwargs)


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

# Every label set the code can record, made at import at 0: a counter's series otherwise first
# appears at its first increment, at 1, and increase()/rate() never see that first step (a first
# failure after a deploy would be invisible to the alerts).

TASK_OUTCOMES = ("succeeded", "failed", "retried")
IMAGE_OUTCOMES = ("succeeded", "failed")
LOCKOUT_GUARDS = ("signin", "signup", "code")  # accounts.services
SIGNIN_METHODS = ("web", "api")
REALTIME_KINDS = ("websocket", "stream")
CACHE_RESULTS = ("hit", "miss")
# media.validation's reasons (the docstring there lists them), media.storage's and processing's.
UPLOAD_REFUSALS = (
    "too_large",
    "empty",
    "bad_type",
    "damaged",
    "too_many_pixels",
    "unusual_jpeg",
    "storage_unavailable",
    "storage_full",
    "expired",
    "malware",
)


def _start_at_zero() -> None:
    for outcome in IMAGE_OUTCOMES:
        images_processed.labels(outcome=outcome)
    for guard in LOCKOUT_GUARDS:
        lockouts.labels(guard=guard)
    for method in SIGNIN_METHODS:
        signins.labels(method=method)
    for kind in REALTIME_KINDS:
        notifications_pushed.labels(kind=kind)
        realtime_resumes.labels(kind=kind)
    for result in CACHE_RESULTS:
        cache_requests.labels(result=result)
    uploads.labels(outcome="accepted", reason="")
    for reason in UPLOAD_REFUSALS:
        uploads.labels(outcome="refused", reason=reason)


_start_at_zero()


def start_tasks_at_zero(task_names: Iterable[str]) -> None:
    """celery_tasks_total at 0 for every task and outcome (a worker calls it with its app's tasks
    when it starts, and in each pool process)."""
    for name in task_names:
        for outcome in TASK_OUTCOMES:
            celery_tasks.labels(task=name, outcome=outcome)
