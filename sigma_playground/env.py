"""Strict reading of settings from the environment.

Each variable is read once, in settings.py. A value that does not parse stops the process at start with
a message that names the variable, instead of quietly falling back to a default.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Env:
    def __init__(self, environ_: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ_ is None else environ_

    def _raw(self, name: str) -> str | None:
        value = self._environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def is_set(self, name: str) -> bool:
        return self._raw(name) is not None

    def str(self, name: str, default: str = "") -> str:
        value = self._raw(name)
        return default if value is None else value

    def bool(self, name: builtins.str, default: builtins.bool) -> builtins.bool:
        value = self._raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfigured(
            f"{name} must be one of true/false, yes/no, on/off, 1/0; got {value!r}."
        )

    def int(
        self, name: builtins.str, default: builtins.int, *, minimum: builtins.int | None = None
    ) -> builtins.int:
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a whole number; got {value!r}.") from None
        if minimum is not None and number < minimum:
            raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {number}.")
        return number

    def list(
        self, name: builtins.str, default: builtins.list[builtins.str] | None = None
    ) -> builtins.list[builtins.str]:
        value = self._raw(name)
        if value is None:
            return list(default or [])
        return [item.strip() for item in value.split(",") if item.strip()]

    def database(self, name: builtins.str) -> dict[builtins.str, Any] | None:
        value = self._raw(name)
        if value is None:
            return None
        if not value.startswith(("postgres://", "postgresql://", "sqlite://")):
            raise ImproperlyConfigured(
                f"{name} must be a postgres:// (or sqlite://) URL; got a value starting with "
                f"{value.split(':', 1)[0]!r}."
            )
        try:
            config: dict[builtins.str, Any] = environ.Env.db_url_config(value)
            return config
        except Exception as exc:
            raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None

    def redis_url(self, name: builtins.str) -> builtins.str | None:
        """A redis://, rediss:// or unix:// URL, or a Sentinel URL (`RedisLocation.parse`)."""
        value = self._raw(name)
        if value is None:
            return None
        if value.startswith("sentinel://"):
            try:
                RedisLocation.parse(value)
            except ValueError as error:
                raise ImproperlyConfigured(f"{name}: {error}") from None
            return value
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ImproperlyConfigured(
                f"{name} must be a redis://, rediss://, unix:// or sentinel:// URL; got "
                f"{value.split(':', 1)[0]!r}."
            )
        return value

    def email(self, name: builtins.str, default: builtins.str) -> dict[builtins.str, Any]:
        value = self._raw(name) or default
        try:
            config = environ.Env.email_url_config(value)
        except ImproperlyConfigured as exc:
            raise ImproperlyConfigured(f"{name}: {exc}") from None
        if value.startswith("filemail://"):
            # django-environ drops the leading slash of an absolute path.
            config["EMAIL_FILE_PATH"] = value.removeprefix("filemail://")
        # Unset parts keep Django's defaults instead of becoming None.
        return {key: val for key, val in config.items() if val is not None}


@dataclass(frozen=True)
class RedisLocation:
    """Where one use of Redis (cache, channel layer, broker) finds its server.

    Either a plain URL (redis://, rediss://, unix://), or a Sentinel URL naming the sentinels and the
    master they watch, in the form most Redis clients document:

        sentinel://[:password@]host:26379[,host:26379...]/<master name>[/<db>]

    The password is the master's. Each backend spells Sentinel differently (or not at all), so the
    settings turn one of these into what each expects.
    """

    url: str
    sentinels: tuple[tuple[str, int], ...] = ()
    master_name: str = ""
    db: int = 0
    password: str | None = None

    @property
    def is_sentinel(self) -> bool:
        return bool(self.sentinels)

    @classmethod
    def parse(cls, url: str) -> RedisLocation:
        if not url.startswith("sentinel://"):
            return cls(url=url)
        parts = urlsplit(url)
        credentials, _, hosts = parts.netloc.rpartition("@")
        password = unquote(credentials.partition(":")[2]) or None
        sentinels = []
        for host in hosts.split(","):
            name, _, port = host.strip().rpartition(":")
            if not name or not port.isdigit():
                raise ValueError(
                    f"a Sentinel URL lists sentinels as host:port separated by commas; got {host!r}."
                )
            sentinels.append((name.strip("[]"), int(port)))
        path = [segment for segment in parts.path.split("/") if segment]
        if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
            raise ValueError(
                "a Sentinel URL ends with the master's name and an optional database number:"
                " sentinel://host:26379,host:26380/mymaster/0."
            )
        return cls(
            url=url,
            sentinels=tuple(sentinels),
            master_name=unquote(path[0]),
            db=int(path[1]) if len(path) == 2 else 0,
            password=password,
        )

    def kombu_url(self) -> str:
        """Celery's spelling: one sentinel:// URL per sentinel, joined by `;` (the master's name
        goes in the transport options)."""
        if not self.is_sentinel:
            return self.url
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return ";".join(
            f"sentinel://{auth}{host}:{port}/{self.db}" for host, port in self.sentinels
        )

    def channels_host(self, **options: Any) -> dict[str, Any]:
        """An entry of channels-redis's `hosts`: its own Sentinel pool, or the URL."""
        if not self.is_sentinel:
            return {"address": self.url, **options}
        timeouts = {
            key: options[key]
            for key in ("socket_timeout", "socket_connect_timeout")
            if key in options
        }
        return {
            "sentinels": list(self.sentinels),
            "master_name": self.master_name,
            "sentinel_kwargs": {"socket_connect_timeout": 2, **timeouts},
            "db": self.db,
            "password": self.password,
            **options,
        }
