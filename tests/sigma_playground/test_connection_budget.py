"""The processes' database connections are planned from the Procfile's own variables, and no process
starts when the plan exceeds the budget (docs/scaling.md)."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connection
from django.test import RequestFactory
from psycopg_pool import PoolTimeout

from sigma_playground import connections, errors
from sigma_playground.env import Env
from tests.private_services import free_port
from tests.processes import procfile_command, stop, test_database_url
from tests.sigma_playground.test_startup import _OWN_VARIABLES, PRODUCTION, settings_seen

ROOT = Path(__file__).resolve().parents[2]

# Every variable the plan reads: the suite's environment must not decide what these tests see.
PLAN_VARIABLES = {
    "WEB_CONCURRENCY", "WEB_THREADS", "WS_CONCURRENCY", "WS_DATABASE_CONNECTIONS",
    "CELERY_IMAGES_CONCURRENCY", "CELERY_NOTIFY_CONCURRENCY", "CELERY_CONCURRENCY",
    "PROCFILE_SCALE", "DATABASE_RESERVED_CONNECTIONS", "DATABASE_MAX_CONNECTIONS",
    "DATABASE_POOL_SIZE", "DATABASE_POOL_TIMEOUT",
}  # fmt: skip

# The Procfile's defaults: web 2 x 8, ws 1 x 4, Celery 2 + 2 + 1, beat 1, release 1, headroom 3.
DEFAULT_TOTAL = 2 * 8 + 1 * 4 + 2 + 2 + 1 + 1 + 1 + 3


def clean_environment(**env: str) -> dict[str, str]:
    drop = _OWN_VARIABLES | PLAN_VARIABLES
    return {**{key: value for key, value in os.environ.items() if key not in drop}, **env}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean_environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def procfile_lines() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def test_the_plan_counts_every_procfile_process_from_the_variables_and_defaults_it_uses():
    lines = procfile_lines()
    assert set(lines) == set(connections.PROCESS_TYPES)
    # Each kind's metrics directory comes first (sigma_playground/observability/metrics.py).
    web, ws = (re.sub(r"^PROMETHEUS_MULTIPROC_DIR=\S+ ", "", lines[kind]) for kind in ("web", "ws"))
    # A web worker's pool and its blocking threads are one variable, by construction.
    threads = f"${{WEB_THREADS:-{connections.WEB_THREADS}}}"
    assert web.startswith(f"DATABASE_POOL_SIZE={threads} granian --interface wsgi ")
    assert f"--blocking-threads {threads} " in web
    assert f"--workers ${{WEB_CONCURRENCY:-{connections.WEB_CONCURRENCY}}} " in web
    pool = f"${{WS_DATABASE_CONNECTIONS:-{connections.WS_DATABASE_CONNECTIONS}}}"
    assert ws.startswith(f"DATABASE_POOL_SIZE={pool} granian --interface asgi ")
    assert f"--workers ${{WS_CONCURRENCY:-{connections.WS_CONCURRENCY}}} " in ws
    for name, variable in connections.CELERY_VARIABLES.items():
        default = connections.CELERY_CONCURRENCY[name]
        assert lines[name].endswith(f"--concurrency ${{{variable}:-{default}}}")
    # Nothing else in the Procfile sizes a process.
    named = set(re.findall(r"\$\{(\w+):-", " ".join(lines.values())))
    # Ports (the site's, the workers' metrics) and where metrics are kept size nothing either.
    named -= {name for name in named if name.endswith("PORT") or name == "METRICS_DIR"}
    assert named <= PLAN_VARIABLES

    plan = connections.plan(Env({}))
    assert plan.total == DEFAULT_TOTAL == 30
    assert {kind.name: kind.connections for kind in plan.types} == {
        "web": 16, "ws": 4, "images": 2, "notify": 2, "worker": 1, "beat": 1, "release": 1,
    }  # fmt: skip


def test_the_plan_follows_each_variable_and_the_copies_of_each_process_type():
    plan = connections.plan(
        Env(
            {
                "WEB_CONCURRENCY": "4",
                "WEB_THREADS": "6",
                "WS_CONCURRENCY": "2",
                "WS_DATABASE_CONNECTIONS": "3",
                "CELERY_IMAGES_CONCURRENCY": "3",
                "CELERY_NOTIFY_CONCURRENCY": "5",
                "CELERY_CONCURRENCY": "2",
                "DATABASE_RESERVED_CONNECTIONS": "10",
                "PROCFILE_SCALE": "web=3, ws=2,images=0",
            }
        )
    )
    connections_of = {kind.name: kind.connections for kind in plan.types}
    assert connections_of == {
        "web": 3 * 4 * 6, "ws": 2 * 2 * 3, "images": 0, "notify": 5, "worker": 2, "beat": 1,
        "release": 1,
    }  # fmt: skip
    assert plan.total == 72 + 12 + 0 + 5 + 2 + 1 + 1 + 10
    assert "web: 3 x 4 x 6 = 72" in plan.describe()


@pytest.mark.parametrize("scale", ["web", "web=many", "www=2", "web=-1"])
def test_a_malformed_procfile_scale_names_the_variable(scale):
    with pytest.raises(ImproperlyConfigured, match="PROCFILE_SCALE"):
        connections.plan(Env({"PROCFILE_SCALE": scale}))


def test_no_process_starts_when_its_plan_exceeds_the_budget():
    refused = manage("check", **PRODUCTION, DATABASE_MAX_CONNECTIONS=str(DEFAULT_TOTAL - 1))
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr
    assert (
        f"could hold {DEFAULT_TOTAL} database connections, more than the {DEFAULT_TOTAL - 1}"
        " of DATABASE_MAX_CONNECTIONS" in refused.stderr
    )
    assert "web: 1 x 2 x 8 = 16" in refused.stderr

    fits = manage("check", **PRODUCTION, DATABASE_MAX_CONNECTIONS=str(DEFAULT_TOTAL))
    assert fits.returncode == 0, fits.stderr

    # The same threads on more workers, or more threads, no longer fit.
    for variable, value in (("WEB_CONCURRENCY", "3"), ("WEB_THREADS", "9")):
        result = manage(
            "check", **PRODUCTION, DATABASE_MAX_CONNECTIONS=str(DEFAULT_TOTAL), **{variable: value}
        )
        assert result.returncode != 0, variable
        assert "DATABASE_MAX_CONNECTIONS" in result.stderr


def test_the_procfiles_web_process_exits_at_start_when_over_budget(tmp_path):
    """granian, as the Procfile runs it: its workers cannot load the site, and it stops."""
    log = tmp_path / "web.log"
    # As in production, the Procfile's variables are the processes' environment.
    variables = {"WEB_THREADS": "20"}
    command = procfile_command("web", free_port(), **variables)
    env = clean_environment(DEBUG="true", DATABASE_MAX_CONNECTIONS="40", **variables)
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None:
            assert time.monotonic() < deadline, f"granian did not stop:\n{log.read_text()}"
            time.sleep(0.1)
    finally:
        stop(process)
    assert process.returncode != 0
    assert "could hold 54 database connections, more than the 40" in log.read_text()


def test_a_pool_size_gives_each_database_a_bounded_pool_and_no_persistent_connections():
    without = settings_seen(DATABASE_URL="postgres://app@db.internal:5432/playground")
    assert "pool" not in without["databases"]["default"]["OPTIONS"]
    assert without["databases"]["default"]["CONN_MAX_AGE"] == 60

    seen = settings_seen(
        DATABASE_URL="postgres://app@db.internal:5432/playground",
        DATABASE_REPLICA_URL="postgres://reader@replica.internal:5432/playground",
        DATABASE_POOL_SIZE="6",
        DATABASE_POOL_TIMEOUT="2",
    )
    for alias in ("default", "replica"):
        database = seen["databases"][alias]
        assert database["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 6, "timeout": 2}
        assert database["CONN_MAX_AGE"] == 0  # Django refuses a pool with persistent connections


def test_a_pool_size_leaves_a_sqlite_database_as_it_is():
    """The Procfile's lines set a pool size; a server started by them on a SQLite file (the tests'
    own servers on the embedded default) must start, and SQLite takes no pool."""
    seen = settings_seen(DATABASE_URL="sqlite:///playground.sqlite3", DATABASE_POOL_SIZE="6")
    assert "pool" not in seen["databases"]["default"].get("OPTIONS", {})


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_release_migrate_check_refuses_a_plan_larger_than_the_servers_max_connections():
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        max_connections = int(cursor.fetchone()[0])
    database = {"DEBUG": "true", "DATABASE_URL": test_database_url()}

    # Two workers of as many threads as the server has connections: twice too many. The release's
    # migrate stops before migrating anything.
    refused = manage("migrate", "--noinput", **database, WEB_THREADS=str(max_connections))
    assert refused.returncode != 0
    assert "sigma_playground.E001" in refused.stderr
    assert f"max_connections {max_connections} less" in refused.stderr
    assert "Operations to perform" not in refused.stdout

    fits = manage("check", "--database", "default", **database)
    assert fits.returncode == 0, fits.stderr

    # Behind PgBouncer the budget given is PgBouncer's clients, and the server's is not asked.
    pgbouncer = manage(
        "check", "--database", "default", **database, WEB_THREADS=str(max_connections),
        DATABASE_MAX_CONNECTIONS=str(4 * max_connections),
    )  # fmt: skip
    assert pgbouncer.returncode == 0, pgbouncer.stderr


def busy_answer(path: str):
    request = RequestFactory().get(path)
    try:
        raise OperationalError("pool exhausted") from PoolTimeout("couldn't get a connection")
    except OperationalError:
        return errors.server_error(request)


def test_the_500_handler_answers_503_when_no_connection_could_be_had():
    """Raised outside a view (the middleware answers those), say in another middleware."""
    api = busy_answer("/api/v1/workbooks/")
    assert api.status_code == 503
    assert api["Retry-After"] == "5"
    assert api["Content-Type"] == "application/json"
    assert b'"code": "database_busy"' in api.content
    page = busy_answer("/explore/")
    assert page.status_code == 503
    assert b"The site is busy" in page.content

    request = RequestFactory().get("/api/v1/workbooks/")
    try:
        raise OperationalError("something else")
    except OperationalError:
        assert errors.server_error(request).status_code == 500


@pytest.mark.django_db
def test_every_api_operation_documents_the_503_with_the_shared_error_body():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            busy = operation["responses"]["503"]  # a view's own 503 (storage) keeps its words
            body = busy["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/Error"}, (method, path)
