"""The settings module as a process sees it: production refuses to start half-configured, and a
production configuration passes Django's deployment checklist with no warning."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE"}
    }
    environ.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "playground.example.com",
}


def test_production_settings_pass_check_deploy_with_no_warning():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_refuses_to_start_with_debug_off_and_no_secret_key():
    result = manage("check", DEBUG="false", ALLOWED_HOSTS="playground.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_refuses_to_start_with_debug_off_and_a_short_secret_key():
    result = manage(
        "check", DEBUG="false", SECRET_KEY="short", ALLOWED_HOSTS="playground.example.com"
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_refuses_to_start_with_debug_off_and_no_allowed_hosts():
    result = manage("check", DEBUG="false", SECRET_KEY=PRODUCTION["SECRET_KEY"])
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must list" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "sometimes"),
        ("DATABASE_CONN_MAX_AGE", "forever"),
        ("REDIS_URL", "localhost"),
        ("CLAMD_ADDRESS", "tcp://clamd"),
        ("MEDIA_CDN_URL", "http://cdn.example.com/media"),
        ("MEDIA_MAX_UPLOAD_MB", "0"),
    ],
)
def test_a_bad_value_stops_the_start_with_a_message_naming_the_variable(variable, value):
    env = {**PRODUCTION, variable: value}
    if variable == "DATABASE_CONN_MAX_AGE":
        env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/unused"
    result = manage("check", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr
