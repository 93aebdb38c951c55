"""The settings module as a process sees it: production refuses to start half-configured, and a
production configuration passes Django's deployment checklist with no warning."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


# What the process is given by each test alone: the suite's own services (DATABASE_URL, REDIS_URL in
# CI) must not decide what a test of the settings sees.
_OWN_VARIABLES = {
    "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE", "DATABASE_URL",
    "DATABASE_REPLICA_URL", "REDIS_URL", "CACHE_REDIS_URL", "CHANNEL_LAYER_REDIS_URL",
    "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER",
}  # fmt: skip


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {key: value for key, value in os.environ.items() if key not in _OWN_VARIABLES}
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
        ("CACHE_REDIS_URL", "cache.internal:6379"),
        ("CHANNEL_LAYER_REDIS_URL", "sentinel://10.0.0.1:26379"),
        ("CELERY_BROKER_URL", "amqp://rabbit"),
        ("DATABASE_REPLICA_URL", "mysql://replica/db"),
        ("DATABASE_DISABLE_SERVER_SIDE_CURSORS", "sometimes"),
        ("SITE_URL", "playground.example.com"),
        ("SITE_URL", "https://playground.example.com/gallery/"),
    ],
)
def test_a_bad_value_stops_the_start_with_a_message_naming_the_variable(variable, value):
    env = {**PRODUCTION, variable: value}
    if variable in {"DATABASE_CONN_MAX_AGE", "DATABASE_DISABLE_SERVER_SIDE_CURSORS"}:
        env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/unused"
    result = manage("check", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr


def settings_seen(**env: str) -> dict:
    """The settings a process started with `env` (on top of production's) ends up with."""
    script = (
        "import json; from django.conf import settings as s; print(json.dumps({"
        "'cache': s.CACHES['default'], 'layer': s.CHANNEL_LAYERS['default'],"
        "'broker': s.CELERY_BROKER_URL, 'results': s.CELERY_RESULT_BACKEND,"
        "'broker_options': s.CELERY_BROKER_TRANSPORT_OPTIONS, 'eager': s.CELERY_TASK_ALWAYS_EAGER,"
        "'databases': s.DATABASES, 'routers': s.DATABASE_ROUTERS, 'middleware': s.MIDDLEWARE},"
        " default=str))"
    )
    result = manage("shell", "-c", script, **{**PRODUCTION, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])  # after the shell's own messages


def test_each_use_of_redis_may_have_a_server_of_its_own():
    seen = settings_seen(
        REDIS_URL="redis://shared.internal:6379/0",
        CACHE_REDIS_URL="redis://cache.internal:6379/0",
        CHANNEL_LAYER_REDIS_URL="redis://layer.internal:6379/0",
        CELERY_BROKER_URL="redis://broker.internal:6379/0",
    )
    assert seen["cache"]["LOCATION"] == ["redis://cache.internal:6379/0"]
    assert seen["layer"]["CONFIG"]["hosts"][0]["address"] == "redis://layer.internal:6379/0"
    assert seen["broker"] == seen["results"] == "redis://broker.internal:6379/0"


def test_redis_url_serves_every_use_not_given_its_own():
    seen = settings_seen(
        REDIS_URL="redis://shared.internal:6379/0",
        CELERY_BROKER_URL="redis://broker.internal:6379/0",
    )
    assert seen["cache"]["LOCATION"] == ["redis://shared.internal:6379/0"]
    assert seen["layer"]["CONFIG"]["hosts"][0]["address"] == "redis://shared.internal:6379/0"
    assert seen["broker"] == "redis://broker.internal:6379/0"


def test_a_broker_alone_switches_on_workers_and_nothing_else():
    seen = settings_seen(CELERY_BROKER_URL="redis://broker.internal:6379/0")
    assert seen["eager"] is False
    assert seen["cache"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert seen["layer"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"


def test_a_sentinel_redis_url_reaches_cache_channel_layer_and_broker_in_their_spellings():
    seen = settings_seen(REDIS_URL="sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/main/2")
    assert seen["cache"]["LOCATION"] == ["sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/main/2"]
    assert seen["cache"]["OPTIONS"]["pool_class"] == "sigma_playground.sentinel.SentinelCachePool"
    [host] = seen["layer"]["CONFIG"]["hosts"]
    assert (host["master_name"], host["db"], host["password"]) == ("main", 2, "pw")
    assert host["sentinels"] == [["10.0.0.1", 26379], ["10.0.0.2", 26379]]
    assert seen["broker"] == "sentinel://:pw@10.0.0.1:26379/2;sentinel://:pw@10.0.0.2:26379/2"
    assert seen["broker_options"]["master_name"] == "main"


def test_server_side_cursors_can_be_turned_off_for_pgbouncer_in_transaction_mode():
    default = settings_seen(DATABASE_URL="postgres://app@db.internal:6432/playground")
    assert default["databases"]["default"]["DISABLE_SERVER_SIDE_CURSORS"] is False
    seen = settings_seen(
        DATABASE_URL="postgres://app@db.internal:6432/playground",
        DATABASE_REPLICA_URL="postgres://app@replica.internal:6432/playground",
        DATABASE_DISABLE_SERVER_SIDE_CURSORS="true",
    )
    assert seen["databases"]["default"]["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert seen["databases"]["replica"]["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_a_replica_url_adds_the_replica_its_router_and_its_middleware():
    without = settings_seen(DATABASE_URL="postgres://app@db.internal:5432/playground")
    assert set(without["databases"]) == {"default"}
    assert without["routers"] == []
    seen = settings_seen(
        DATABASE_URL="postgres://app@db.internal:5432/playground",
        DATABASE_REPLICA_URL="postgres://reader@replica.internal:5432/playground",
    )
    replica = seen["databases"]["replica"]
    assert (replica["HOST"], replica["USER"]) == ("replica.internal", "reader")
    assert replica["CONN_MAX_AGE"] == seen["databases"]["default"]["CONN_MAX_AGE"]
    assert seen["routers"] == ["sigma_playground.db_router.ReplicaRouter"]
    assert seen["middleware"][-1] == "sigma_playground.db_router.ReplicaReadsMiddleware"


def test_it_refuses_a_replica_of_another_kind_of_database():
    result = manage(
        "check",
        **PRODUCTION,
        DATABASE_URL="postgres://app@db.internal:5432/playground",
        DATABASE_REPLICA_URL="sqlite:///replica.sqlite3",
    )
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL must name the same kind of database" in result.stderr


def _dotted_paths_in_settings() -> list[str]:
    """Every class or view of ours that the settings and the root URLconf name by a dotted path."""
    from django.conf import settings

    from sigma_playground import urls

    named = [settings.CSRF_FAILURE_VIEW]
    named += [getattr(urls, f"handler{status}") for status in (400, 403, 404, 500)]
    for value in settings.REST_FRAMEWORK.values():
        named += value if isinstance(value, list) else [value]
    ours = ("sigma_playground.", "accounts.", "workbooks.", "social.", "media.", "idempotency.")
    return sorted({path for path in named if isinstance(path, str) and path.startswith(ours)})


@pytest.mark.parametrize("path", _dotted_paths_in_settings())
def test_each_dotted_path_the_settings_name_imports_first_in_a_new_process(path):
    # Django runs its system checks in no fixed order; when the CSRF view's check came first, its
    # module imported DRF's views, which read the default parsers from that same half-built module.
    result = manage(
        "shell",
        "-c",
        f"from django.utils.module_loading import import_string; import_string({path!r})",
        DEBUG="true",
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("env", "origin"),
    [
        ({}, "https://playground.example.com"),
        ({"ALLOWED_HOSTS": ".example.com,10.0.0.5"}, "https://10.0.0.5"),
        ({"SITE_URL": "https://gallery.example.com/"}, "https://gallery.example.com"),
    ],
    ids=["first allowed host", "first plain name", "set"],
)
def test_site_url_is_the_origin_shared_pages_link_to(env, origin):
    script = "from django.conf import settings; print(settings.SITE_URL)"
    result = manage("shell", "-c", script, **{**PRODUCTION, **env})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == origin


def test_it_refuses_to_guess_the_site_url_from_wildcard_hosts_only():
    result = manage("check", **{**PRODUCTION, "ALLOWED_HOSTS": ".example.com"})
    assert result.returncode != 0
    assert "SITE_URL must be set" in result.stderr
