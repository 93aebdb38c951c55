"""Clients that send their body at a byte a second do not starve the web tier.

The Procfile's `web` process (granian, WSGI) runs here as production runs it, with one worker: a
request holds one of the worker's blocking threads while its body arrives, so with a single thread
four slow clients left every other request waiting. In production the proxy buffers bodies first
(deploy/nginx.conf); this is what the app's own tier withstands when a slow client reaches it.
"""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests

from tests.factories import WorkbookFactory
from tests.private_services import free_port
from tests.processes import web_server

pytestmark = pytest.mark.django_db(transaction=True)

SLOW_CLIENTS = 6
BODY = b'{"username": "someone", "password": "slowly"}'


@contextmanager
def slow_bodies(base: str, clients: int) -> Iterator[list[socket.socket]]:
    """`clients` connections that each announce a JSON body and send it a byte a second."""
    port = int(base.rsplit(":", 1)[1])
    sockets: list[socket.socket] = []
    stop = threading.Event()

    def drip(sock: socket.socket) -> None:
        for byte in BODY:
            if stop.wait(1):
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return

    threads = []
    for _ in range(clients):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(
            b"POST /api/v1/auth/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n"
        )
        sockets.append(sock)
        threads.append(threading.Thread(target=drip, args=(sock,), daemon=True))
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)  # every slow request has reached the app and is waiting on its body
        yield sockets
    finally:
        stop.set()
        for sock in sockets:
            sock.close()


def test_six_clients_sending_a_body_at_a_byte_a_second_leave_pages_and_health_answering(
    tmp_path,
):
    workbook = WorkbookFactory()
    port = free_port()
    with (
        web_server(tmp_path, port, variables={"WEB_CONCURRENCY": "1"}) as base,
        slow_bodies(base, SLOW_CLIENTS),
    ):
        for path in ("/healthz", "/", f"/w/{workbook.slug}/", "/api/v1/workbooks/"):
            started = time.monotonic()
            response = requests.get(base + path, timeout=5)
            elapsed = time.monotonic() - started

            assert response.status_code == 200, path
            assert elapsed < 2, f"{path} took {elapsed:.1f} s behind the slow clients"
