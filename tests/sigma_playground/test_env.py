import pytest
from django.core.exceptions import ImproperlyConfigured

from sigma_playground.env import Env, RedisLocation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("YES", True),
        ("1", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("Off", False),
    ],
)
def test_it_reads_booleans_in_the_usual_spellings(raw, expected):
    assert Env({"DEBUG": raw}).bool("DEBUG", default=not expected) is expected


def test_it_uses_the_default_for_a_missing_or_empty_variable():
    assert Env({}).bool("DEBUG", default=True) is True
    assert Env({"DEBUG": "  "}).bool("DEBUG", default=False) is False
    assert Env({}).int("PORT", default=8000) == 8000


@pytest.mark.parametrize(
    ("method", "raw"),
    [("bool", "maybe"), ("bool", "tru"), ("int", "ten"), ("int", "1.5")],
)
def test_it_refuses_a_bad_value_and_names_the_variable(method, raw):
    with pytest.raises(ImproperlyConfigured, match="SOME_SETTING"):
        getattr(Env({"SOME_SETTING": raw}), method)(
            "SOME_SETTING", default=0 if method == "int" else True
        )


def test_it_refuses_a_number_below_the_minimum():
    with pytest.raises(ImproperlyConfigured, match="NUM_PROXIES must be at least 0"):
        Env({"NUM_PROXIES": "-1"}).int("NUM_PROXIES", default=0, minimum=0)


def test_it_splits_lists_on_commas_and_drops_blanks():
    assert Env({"ALLOWED_HOSTS": "a.example, b.example,,"}).list("ALLOWED_HOSTS") == [
        "a.example",
        "b.example",
    ]


def test_it_parses_a_postgres_url_into_django_database_settings():
    config = Env({"DATABASE_URL": "postgres://app:pw@db.internal:6432/playground"}).database(
        "DATABASE_URL"
    )
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"], config["USER"]) == (
        "db.internal",
        6432,
        "playground",
        "app",
    )


@pytest.mark.parametrize("raw", ["mysql://root@localhost/db", "localhost:5432", "postgres"])
def test_it_refuses_a_database_url_it_cannot_use(raw):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        Env({"DATABASE_URL": raw}).database("DATABASE_URL")


def test_it_refuses_a_redis_url_without_a_redis_scheme():
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        Env({"REDIS_URL": "127.0.0.1:6379"}).redis_url("REDIS_URL")


def test_it_refuses_an_unknown_email_scheme():
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        Env({"EMAIL_URL": "carrier-pigeon://coop"}).email("EMAIL_URL", default="consolemail://")


def test_it_keeps_an_absolute_path_for_file_based_email():
    config = Env({"EMAIL_URL": "filemail:///var/mail/outbox"}).email(
        "EMAIL_URL", default="consolemail://"
    )
    assert config["EMAIL_FILE_PATH"] == "/var/mail/outbox"
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"


def test_it_reads_a_sentinel_url_into_sentinels_master_database_and_password():
    location = RedisLocation.parse("sentinel://:s%40cret@10.0.0.1:26379,10.0.0.2:26380/main/2")
    assert location.is_sentinel
    assert location.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26380))
    assert (location.master_name, location.db, location.password) == ("main", 2, "s@cret")


def test_it_spells_a_sentinel_url_as_celery_and_channels_redis_expect():
    location = RedisLocation.parse("sentinel://:pw@a.internal:26379,b.internal:26379/main/1")
    assert location.kombu_url() == (
        "sentinel://:pw@a.internal:26379/1;sentinel://:pw@b.internal:26379/1"
    )
    host = location.channels_host(max_connections=10)
    assert host["sentinels"] == [("a.internal", 26379), ("b.internal", 26379)]
    assert (host["master_name"], host["db"], host["password"]) == ("main", 1, "pw")
    assert host["max_connections"] == 10


def test_it_leaves_a_plain_redis_url_as_it_is():
    location = RedisLocation.parse("redis://cache.internal:6379/3")
    assert not location.is_sentinel
    assert location.kombu_url() == "redis://cache.internal:6379/3"
    assert location.channels_host(socket_timeout=30) == {
        "address": "redis://cache.internal:6379/3",
        "socket_timeout": 30,
    }


@pytest.mark.parametrize(
    "raw",
    [
        "sentinel://10.0.0.1:26379",  # no master name
        "sentinel://10.0.0.1:26379/main/zero",
        "sentinel://10.0.0.1/main",  # no port
    ],
)
def test_it_refuses_a_sentinel_url_it_cannot_use(raw):
    with pytest.raises(ImproperlyConfigured, match="CELERY_BROKER_URL: a Sentinel URL"):
        Env({"CELERY_BROKER_URL": raw}).redis_url("CELERY_BROKER_URL")
