"""How many PostgreSQL connections the site's processes can hold at once, and the check that they fit.

Every process type of the Procfile has a bound that follows from its own settings (docs/scaling.md):

- `web`: a WSGI request holds one of its worker's blocking threads, and at most one connection per
  database, from its first query to its end. Each worker has a pool of `WEB_THREADS` connections
  (`DATABASE_POOL_SIZE` in the Procfile), the same variable as its threads.
- `ws`: an ASGI process runs each event stream's queries on a thread of its own, so its threads are
  not bounded; its pool is (`WS_DATABASE_CONNECTIONS`), and a burst waits for it.
- Celery workers: a prefork pool process runs one task at a time on one thread: one connection each.
- `beat` and `release` (migrate): one each.
- Headroom for people and tools (psql, `manage.py shell`, backups, monitoring).

The total, times the copies of each process type (`PROCFILE_SCALE`), must fit the budget
(`DATABASE_MAX_CONNECTIONS`, or PostgreSQL's `max_connections` less its reserved connections). The
settings refuse to start any process when it does not (`check_budget`), and the release's `migrate`
refuses when PostgreSQL itself has too few (`sigma_playground.checks`).

Standard library and env.py only: the settings import this.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from .env import Env


@dataclass(frozen=True)
class ProcessType:
    """One line of the Procfile: how many processes of it run, and what each may hold."""

    name: str
    copies: int  # PROCFILE_SCALE: how many times this line runs across the deployment
    processes: int  # per copy: granian workers, Celery pool processes
    connections_each: int
    why: str

    @property
    def connections(self) -> int:
        return self.copies * self.processes * self.connections_each


@dataclass(frozen=True)
class Plan:
    types: tuple[ProcessType, ...]
    headroom: int

    @property
    def total(self) -> int:
        return sum(kind.connections for kind in self.types) + self.headroom

    def describe(self) -> str:
        lines = [
            f"  {kind.name}: {kind.copies} x {kind.processes} x {kind.connections_each}"
            f" = {kind.connections} ({kind.why})"
            for kind in self.types
        ]
        lines.append(f"  headroom: {self.headroom} (DATABASE_RESERVED_CONNECTIONS)")
        return "\n".join([*lines, f"  total: {self.total}"])


# The defaults are the Procfile's `${NAME:-default}` (a test holds the two together).
WEB_CONCURRENCY = 2
WEB_THREADS = 8
WS_CONCURRENCY = 1
WS_DATABASE_CONNECTIONS = 4
CELERY_CONCURRENCY = {"images": 2, "notify": 2, "worker": 1}
CELERY_VARIABLES = {
    "images": "CELERY_IMAGES_CONCURRENCY",
    "notify": "CELERY_NOTIFY_CONCURRENCY",
    "worker": "CELERY_CONCURRENCY",
}
PROCESS_TYPES = ("web", "ws", "images", "notify", "worker", "beat", "release")


def scale(env: Env) -> dict[str, int]:
    """`PROCFILE_SCALE=web=3,ws=2`: copies of each process type across every host (1 if unnamed)."""
    copies = dict.fromkeys(PROCESS_TYPES, 1)
    for item in env.list("PROCFILE_SCALE"):
        name, _, count = item.partition("=")
        name = name.strip()
        if name not in copies or not count.strip().isdigit():
            raise ImproperlyConfigured(
                "PROCFILE_SCALE lists process types and how many of each run, e.g. web=3,ws=2"
                f" (types: {', '.join(PROCESS_TYPES)}); got {item!r}."
            )
        copies[name] = int(count)
    return copies


def plan(env: Env) -> Plan:
    copies = scale(env)
    web_threads = env.int("WEB_THREADS", default=WEB_THREADS, minimum=1)
    types = [
        ProcessType(
            "web",
            copies["web"],
            env.int("WEB_CONCURRENCY", default=WEB_CONCURRENCY, minimum=1),
            web_threads,
            "WEB_CONCURRENCY workers x a pool of WEB_THREADS",
        ),
        ProcessType(
            "ws",
            copies["ws"],
            env.int("WS_CONCURRENCY", default=WS_CONCURRENCY, minimum=1),
            env.int("WS_DATABASE_CONNECTIONS", default=WS_DATABASE_CONNECTIONS, minimum=1),
            "WS_CONCURRENCY processes x a pool of WS_DATABASE_CONNECTIONS",
        ),
    ]
    for name, variable in CELERY_VARIABLES.items():
        types.append(
            ProcessType(
                name,
                copies[name],
                env.int(variable, default=CELERY_CONCURRENCY[name], minimum=1),
                1,
                f"{variable} pool processes, one task at a time",
            )
        )
    types.append(ProcessType("beat", copies["beat"], 1, 1, "one process"))
    types.append(ProcessType("release", copies["release"], 1, 1, "migrate"))
    headroom = env.int("DATABASE_RESERVED_CONNECTIONS", default=3, minimum=0)
    return Plan(types=tuple(types), headroom=headroom)


def check_budget(connection_plan: Plan, budget: int, source: str) -> None:
    """Refuse to go on when the processes could open more connections than `budget`."""
    if connection_plan.total > budget:
        raise ImproperlyConfigured(
            f"The processes could hold {connection_plan.total} database connections, more than"
            f" the {budget} of {source}:\n{connection_plan.describe()}\n"
            "Lower WEB_CONCURRENCY, WEB_THREADS, WS_DATABASE_CONNECTIONS or a Celery concurrency,"
            " or raise PostgreSQL's max_connections (or put PgBouncer in front); docs/scaling.md."
        )
