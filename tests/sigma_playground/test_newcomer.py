"""What a newcomer's terminal shows: `make run` installs only what running needs, `make test` the
rest, and the run's output ends with the demo accounts, with no task log lines or broker warning
above them."""

import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

from accounts.demo import DEMO_PASSWORD, DEMO_USERS

ROOT = Path(__file__).resolve().parents[2]

# What each process here is given by the test alone, so that it sees the embedded default (no
# PostgreSQL, no Redis) whatever the suite itself runs on.
_OWN_VARIABLES = {
    "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE", "DATABASE_URL",
    "DATABASE_REPLICA_URL", "REDIS_URL", "CACHE_REDIS_URL", "CHANNEL_LAYER_REDIS_URL",
    "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER", "LOG_LEVEL", "LOG_FORMAT", "SITE_URL",
    "MEDIA_ROOT", "EMAIL_URL", "SENTRY_DSN",
}  # fmt: skip


def embedded_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    environ = {key: value for key, value in os.environ.items() if key not in _OWN_VARIABLES}
    environ.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
        **extra,
    )
    return environ


def make_dry_run(target: str, venv: Path, **variables: str) -> list[str]:
    """The commands `make <target>` would run with its virtualenv at `venv`."""
    assignments = [f"{name}={value}" for name, value in {"VENV": venv, **variables}.items()]
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", target, *assignments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def installs(commands: list[str]) -> list[str]:
    return [command for command in commands if "pip install" in command and " -r " in command]


def stamp_installed(venv: Path, commands: list[str]) -> None:
    """Leave behind what the install commands would: a python, and the stamps they touch."""
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    (venv / "bin" / "python").touch()
    for command in commands:
        if command.startswith("touch "):
            for path in shlex.split(command)[1:]:
                Path(path).touch()


def test_make_run_installs_the_base_requirements_and_make_test_adds_the_dev_ones(tmp_path):
    venv = tmp_path / ".venv"

    run = make_dry_run("run", venv)
    assert installs(run) == [
        f"{venv}/bin/python -m pip install --quiet --no-compile -r requirements/base.txt"
    ]

    stamp_installed(venv, run)
    assert installs(make_dry_run("run", venv)) == []  # a second `make run` installs nothing
    test = make_dry_run("test", venv)
    assert installs(test) == [f"{venv}/bin/python -m pip install --quiet -r requirements/dev.txt"]

    stamp_installed(venv, test)
    assert installs(make_dry_run("run", venv)) == []  # `make run` after `make test` neither
    assert installs(make_dry_run("test", venv)) == []


def test_the_development_server_is_in_the_base_requirements():
    """DEBUG puts daphne in INSTALLED_APPS (websockets under runserver); `make run` installs only
    requirements/base.txt, so it must be there."""
    pins = (ROOT / "requirements" / "base.txt").read_text().splitlines()

    assert any(line.startswith("daphne==") for line in pins)


EAGER_TASK = textwrap.dedent(
    """
    import django
    django.setup()
    from sigma_playground.celery import app

    @app.task(name="newcomer.ping")
    def ping():
        return 1

    ping.delay()
    """
)


def run_a_task_eagerly(tmp_path: Path, **extra: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", EAGER_TASK],
        cwd=ROOT,
        env=embedded_environment(
            tmp_path, DEBUG="true", DJANGO_SETTINGS_MODULE="sigma_playground.settings", **extra
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_an_eager_task_writes_no_broker_warning_and_no_line_at_the_default_level(tmp_path):
    output = run_a_task_eagerly(tmp_path)

    assert "No hostname was supplied" not in output
    assert "newcomer.ping" not in output


def test_an_eager_tasks_line_shows_at_the_debug_level(tmp_path):
    output = run_a_task_eagerly(tmp_path, LOG_LEVEL="DEBUG")

    assert "Task newcomer.ping" in output
    assert "No hostname was supplied" not in output


def test_make_run_prints_the_demo_accounts_last_before_the_server(tmp_path):
    """The run's steps as the Makefile has them, all but the server (the last): what they write
    together ends with the site's address, the demo accounts and their password."""
    python = Path(sys.executable).parent
    commands = [
        command
        for command in make_dry_run("run", tmp_path / ".venv", BIN=str(python), PORT="8123")
        if "manage.py" in command
    ]
    assert "manage.py runserver 127.0.0.1:8123" in commands[-1]

    result = subprocess.run(
        ["bash", "-c", " && ".join(commands[:-1])],
        cwd=ROOT,
        env=embedded_environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout

    output = result.stdout
    assert "No hostname was supplied" not in output
    assert "celery.app.trace" not in output
    last = output.rstrip().splitlines()[-(len(DEMO_USERS) + 4) :]
    assert last[0] == "Sigma Playground: http://127.0.0.1:8123/"
    assert DEMO_PASSWORD in last[1]
    assert [line.split()[0] for line in last[2:-2]] == [user[0] for user in DEMO_USERS]
    assert last[-2:] == [
        "  Admin:    http://127.0.0.1:8123/admin/",
        "  API docs: http://127.0.0.1:8123/api/v1/docs/",
    ]


def install_axe(
    tmp_path: Path, npm_exit: int, **environ: str
) -> tuple[subprocess.CompletedProcess, Path]:
    """`make` installing axe-core into a copy of tests/browser/axe under `tmp_path`, with an `npm` that
    writes down its arguments and exits with `npm_exit` (1: the registry is out of reach)."""
    axe = tmp_path / "axe"
    axe.mkdir()
    for name in ("package.json", "package-lock.json"):
        (axe / name).write_text((ROOT / "tests" / "browser" / "axe" / name).read_text())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "npm-args"}\nexit {npm_exit}\n')
    npm.chmod(0o755)
    stamp = axe / "node_modules" / ".installed"
    (axe / "node_modules").mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("CI", "NODE_ENV")}
    env.update(PATH=f"{bin_dir}:{env['PATH']}", **environ)
    result = subprocess.run(
        ["make", "--no-print-directory", f"AXE={axe}", str(stamp)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result, stamp


def test_axe_core_a_dev_dependency_is_installed_even_under_node_env_production(tmp_path):
    # npm ci leaves devDependencies out when NODE_ENV=production, and the stamp said installed anyway.
    package = json.loads((ROOT / "tests" / "browser" / "axe" / "package.json").read_text())
    assert "axe-core" in package["devDependencies"]

    result, stamp = install_axe(tmp_path, npm_exit=0, NODE_ENV="production")

    assert result.returncode == 0, result.stderr
    assert "--include=dev" in (tmp_path / "npm-args").read_text().split()
    assert stamp.exists()


def test_make_test_goes_on_to_pytest_without_axe_when_npm_cannot_reach_its_registry(tmp_path):
    # As without npm: the accessibility tests skip, and no stamp, so the next run tries again.
    result, stamp = install_axe(tmp_path, npm_exit=1)

    assert result.returncode == 0, result.stderr
    assert "the accessibility tests will skip" in result.stdout + result.stderr
    assert not stamp.exists()


def test_under_ci_a_failed_axe_install_fails_the_run(tmp_path):
    result, stamp = install_axe(tmp_path, npm_exit=1, CI="true")

    assert result.returncode != 0
    assert not stamp.exists()
