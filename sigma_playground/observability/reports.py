"""What an error report may say about a request (the ADMINS mail, Sentry, the log lines).

A URL's path can be a credential: a password-reset link carries its one-shot token as a path
segment. `filtered_path` puts `[Filtered]` in place of every segment the URL pattern names with a
sensitive word (`token`). The 500 mail (DEFAULT_EXCEPTION_REPORTER and _FILTER) shows no settings
(they hold the Redis and broker URLs with their passwords), and no POST, GET or META value whose
name is sensitive, and names the request by its filtered path without the query string.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, QueryDict
from django.urls import Resolver404, resolve
from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from .logs import FILTERED, SENSITIVE_NAME

# The parts of a request's META that hold its path or query string.
_URL_META = ("PATH_INFO", "REQUEST_URI", "RAW_URI", "QUERY_STRING")


def filtered_path(path: str) -> str:
    """`path` with the values of its URL pattern's sensitive arguments replaced."""
    try:
        kwargs = resolve(path).kwargs
    except Resolver404:
        return path
    except Exception:  # a report must not fail over its URL
        return path
    secrets = {
        str(value) for name, value in kwargs.items() if SENSITIVE_NAME.search(name) and value
    }
    if not secrets:
        return path
    return "/".join(FILTERED if segment in secrets else segment for segment in path.split("/"))


class PathFilter(logging.Filter):
    """Filters the path in a request's log line ("Internal Server Error: /accounts/reset/...").

    Django logs a 4xx or 5xx with the request's path among the record's arguments and the request
    as an extra; the line, and the 500 mail's subject made from it, then name the path filtered."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        path = getattr(request, "path", None)
        if isinstance(path, str) and isinstance(record.args, tuple) and path in record.args:
            safe = filtered_path(path)
            if safe != path:
                record.args = tuple(safe if arg == path else arg for arg in record.args)
        return True


class ReportFilter(SafeExceptionReporterFilter):
    """Hides every setting, and any POST or META value whose name is sensitive."""

    def get_safe_settings(self) -> dict[str, Any]:
        # The settings hold the Redis, broker and database URLs, passwords included; their names
        # (REDIS_URL, CACHES) say nothing a name check could catch. Nobody needs them in a report.
        return {}

    def get_safe_request_meta(self, request: HttpRequest) -> dict[str, Any]:
        meta = super().get_safe_request_meta(request)
        for name in _URL_META:
            if name in meta:
                meta[name] = self.cleansed_substitute
        return meta

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        post = super().get_post_parameters(request)
        if request is None or not self.is_active(request) or not isinstance(post, QueryDict):
            return post
        cleansed = post.copy()
        for name in cleansed:
            if SENSITIVE_NAME.search(name):
                cleansed[name] = self.cleansed_substitute
        return cleansed


class Reporter(ExceptionReporter):
    """The 500 mail's report: the request's URL with its path filtered and without its query
    string, and only the GET parameters whose names are not sensitive."""

    def _get_raw_insecure_uri(self) -> str:
        # Django calls this only with a request; _get_raw_host is what the method replaced uses.
        request = self.request
        assert request is not None  # noqa: S101
        host = request._get_raw_host()  # type: ignore[attr-defined]  # private, not in the stubs
        return f"{request.scheme}://{host}{filtered_path(request.path)}"

    def get_traceback_text(self) -> SafeString:
        return mark_safe(self._filter_path(super().get_traceback_text()))  # noqa: S308

    def get_traceback_html(self) -> SafeString:
        return mark_safe(self._filter_path(super().get_traceback_html()))  # noqa: S308

    def _filter_path(self, text: str) -> str:
        # The report also names the request by its path ("TypeError at /accounts/reset/...").
        path = getattr(self.request, "path", None)
        if not path:
            return text
        safe = filtered_path(path)
        return text if safe == path else text.replace(path, safe)

    def get_traceback_data(self) -> dict[str, Any]:
        data = super().get_traceback_data()
        if "request_GET_items" in data:
            data["request_GET_items"] = [
                (name, FILTERED if SENSITIVE_NAME.search(name) else value)
                for name, value in data["request_GET_items"]
            ]
        return data
