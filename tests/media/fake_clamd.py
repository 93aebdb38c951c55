"""A stand-in ClamAV daemon that speaks the real INSTREAM framing, for the scanner tests.

It reassembles the chunks exactly as clamd does and answers like clamd: FOUND for the EICAR test string,
ERROR past its size limit (replying and hanging up mid-stream, as clamd does), OK otherwise. It can also
be told to stay silent or to answer nonsense. The fixtures are in tests/media/conftest.py.
"""

from __future__ import annotations

import socketserver
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

# Built from two halves so this source file is not itself flagged by a virus scanner on a dev machine.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIZE_LIMIT = 100 * 1024


class FakeClamdHandler(socketserver.StreamRequestHandler):
    server: FakeClamdMixin

    def handle(self) -> None:
        self.request.settimeout(5)  # Never leave a handler thread behind if a test goes wrong.
        with suppress(OSError):  # The client hung up; clamd would just carry on.
            self._handle()

    def _handle(self) -> None:
        server = self.server
        if server.silent:
            while self.request.recv(65536):
                pass
            return
        command = bytearray()
        while not command.endswith(b"\0"):
            byte = self.rfile.read(1)
            if not byte:
                return
            command += byte
        if command != b"zINSTREAM\0":
            self.wfile.write(b"UNKNOWN COMMAND\0")
            return
        payload = bytearray()
        chunk_sizes: list[int] = []
        while True:
            header = self.rfile.read(4)
            if len(header) < 4:
                return
            (size,) = struct.unpack(">I", header)
            if size == 0:
                break
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                return
            payload += chunk
            chunk_sizes.append(size)
            if len(payload) > server.size_limit:
                # Like clamd: answer at once and close, without reading the rest of the stream.
                self.wfile.write(b"INSTREAM size limit exceeded. ERROR\0")
                return
        server.scans.append(bytes(payload))
        server.chunk_sizes.append(chunk_sizes)
        if server.canned_reply is not None:
            self.wfile.write(server.canned_reply)
        elif EICAR in payload:
            self.wfile.write(b"stream: Eicar-Test-Signature FOUND\0")
        else:
            self.wfile.write(b"stream: OK\0")


class FakeClamdMixin:
    """What the tests can set on, and read back from, a running stand-in."""

    address: str
    size_limit: int = SIZE_LIMIT
    silent: bool = False
    canned_reply: bytes | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.scans: list[bytes] = []
        self.chunk_sizes: list[list[int]] = []


class UnixFakeClamd(FakeClamdMixin, socketserver.ThreadingUnixStreamServer):
    pass


class TcpFakeClamd(FakeClamdMixin, socketserver.ThreadingTCPServer):
    pass


@contextmanager
def running(server: FakeClamdMixin) -> Iterator[FakeClamdMixin]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()  # Also waits for the handler threads.
        thread.join()
