"""Strict reading of settings from the environment.

Each variable is read once, in settings.py. A value that does not parse stops the process at start with
a message that names the variable, instead of quietly falling back to a default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

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

    def bool(self, name: str, default: bool) -> bool:
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

    def int(self, name: str, default: int, *, minimum: int | None = None) -> int:
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

    def list(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self._raw(name)
        if value is None:
            return list(default or [])
        return [item.strip() for item in value.split(",") if item.strip()]

    def database(self, name: str) -> dict[str, Any] | None:
        value = self._raw(name)
        if value is None:
            return None
        if not value.startswith(("postgres://", "postgresql://", "sqlite://")):
            raise ImproperlyConfigured(
                f"{name} must be a postgres:// (or sqlite://) URL; got a value starting with "
                f"{value.split(':', 1)[0]!r}."
            )
        try:
            return environ.Env.db_url_config(value)
        except Exception as exc:
            raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None

    def redis_url(self, name: str) -> str | None:
        value = self._raw(name)
        if value is None:
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ImproperlyConfigured(
                f"{name} must be a redis://, rediss:// or unix:// URL; got {value.split(':', 1)[0]!r}."
            )
        return value

    def email(self, name: str, default: str) -> dict[str, Any]:
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
