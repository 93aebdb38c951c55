"""Database calls of long-lived connections (sigma_playground.websocket.closing_database_sync_to_async):
a thread keeps no connection once its last call returns, and calls queued behind one another on it
share one instead of setting one up each.

Thousands of sockets connecting at once (a restart) each make a few calls on the process's one
shared thread; at a connection set up and closed per call, that thread could serve about 60 calls a
second, and a 10,000-socket process took minutes to come back.
"""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from django.db import connection

from sigma_playground.websocket import closing_database_sync_to_async
from tests.faults.test_realtime import server_connections

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CALLS = 20


@closing_database_sync_to_async
def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_calls_queued_on_one_thread_share_a_connection_and_leave_none_open():
    async def run():
        return await asyncio.gather(*(backend_pid() for _ in range(CALLS)))

    pids = async_to_sync(run)()

    assert len(pids) == CALLS
    assert len(set(pids)) <= 2  # before: one connection set up (and closed) per call
    assert server_connections() == 0


def test_a_lone_call_leaves_no_connection_open():
    first = async_to_sync(backend_pid)()
    second = async_to_sync(backend_pid)()

    assert first != second  # the first call's connection was closed when it returned
    assert server_connections() == 0
