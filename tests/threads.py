"""Calls run at the same moment in threads of their own, each with its own database connection: how
the tests make two requests or two jobs race."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import connection


def in_parallel(calls: list[Callable[[], object]]) -> list[object]:
    """Run every call at the same moment, each in its own thread and connection; returns what each
    returned, or the exception it raised, in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> object:
        try:
            barrier.wait()
            return call()
        except Exception as error:  # reported to the test, which asserts on it
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))
