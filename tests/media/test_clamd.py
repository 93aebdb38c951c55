"""The clamd client against a stand-in daemon that speaks the real INSTREAM framing.

The stand-in reassembles the chunks exactly as clamd does and answers like clamd: FOUND for the EICAR
test string, ERROR past its size limit (replying and hanging up mid-stream, as clamd does), OK otherwise.
It can also be told to stay silent or to answer nonsense.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from media import clamd

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


@pytest.fixture
def fake_clamd(tmp_path: Path) -> Iterator[UnixFakeClamd]:
    path = str(tmp_path / "clamd.sock")
    with running(UnixFakeClamd(path, FakeClamdHandler)) as server:
        server.address = path
        yield server


@pytest.fixture
def fake_clamd_tcp() -> Iterator[TcpFakeClamd]:
    with running(TcpFakeClamd(("127.0.0.1", 0), FakeClamdHandler)) as server:
        host, port = server.server_address
        server.address = f"{host}:{port}"
        yield server


def test_a_clean_file_passes(fake_clamd):
    assert clamd.scan(b"\x89PNG\r\n\x1a\n just an image", address=fake_clamd.address) is None

    assert fake_clamd.scans == [b"\x89PNG\r\n\x1a\n just an image"]


def test_an_empty_file_is_streamed_as_just_the_terminating_chunk(fake_clamd):
    clamd.scan(b"", address=fake_clamd.address)

    assert fake_clamd.scans == [b""]
    assert fake_clamd.chunk_sizes == [[]]


def test_the_eicar_test_file_raises_virus_found_with_its_signature(fake_clamd):
    with pytest.raises(clamd.VirusFound) as caught:
        clamd.scan(b"some bytes before " + EICAR, address=fake_clamd.address)

    assert caught.value.signature == "Eicar-Test-Signature"


def test_a_multi_chunk_payload_is_reassembled_exactly(fake_clamd):
    data = bytes(i % 251 for i in range(10_007))

    clamd.scan(data, address=fake_clamd.address, chunk_size=1000)

    assert fake_clamd.scans == [data]
    assert fake_clamd.chunk_sizes == [[1000] * 10 + [7]]


def test_scanning_over_tcp_works_like_over_a_unix_socket(fake_clamd_tcp):
    clamd.scan(b"clean", address=fake_clamd_tcp.address)
    with pytest.raises(clamd.VirusFound, match="Eicar-Test-Signature"):
        clamd.scan(EICAR, address=f"tcp://{fake_clamd_tcp.address}", chunk_size=7)

    assert fake_clamd_tcp.scans == [b"clean", EICAR]


@pytest.mark.parametrize("size", [SIZE_LIMIT + 1, 10 * SIZE_LIMIT], ids=["just-over", "far-over"])
def test_an_error_reply_such_as_the_size_limit_raises_scan_error(fake_clamd, size):
    # Far over the limit, clamd hangs up while we are still sending: its reply must still be heard.
    with pytest.raises(clamd.ScanError, match="size limit exceeded"):
        clamd.scan(b"x" * size, address=fake_clamd.address, chunk_size=8 * 1024)

    assert fake_clamd.scans == []


def test_an_error_reply_after_the_whole_stream_raises_scan_error(fake_clamd):
    fake_clamd.canned_reply = b"stream: Can't allocate memory ERROR\0"

    with pytest.raises(clamd.ScanError, match="Can't allocate memory ERROR"):
        clamd.scan(b"data", address=fake_clamd.address)


def test_a_unix_socket_nobody_listens_on_raises_scan_error(tmp_path):
    with pytest.raises(clamd.ScanError, match="could not be used"):
        clamd.scan(b"data", address=str(tmp_path / "no-such.sock"))


def test_a_closed_tcp_port_raises_scan_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(clamd.ScanError, match="could not be used"):
        clamd.scan(b"data", address=f"127.0.0.1:{port}", timeout=2)


def test_a_server_that_never_answers_raises_scan_error_within_the_timeout(fake_clamd):
    fake_clamd.silent = True
    started = time.monotonic()

    with pytest.raises(clamd.ScanError, match="timed out"):
        clamd.scan(b"data", address=fake_clamd.address, timeout=0.5)

    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    "reply",
    [
        b"hello, I am not clamd\0",
        b"stream: FOUND\0",
        b"FOUND\0",
        b"stream: OK but not really",
        b"",
        b"y" * 10_000,
    ],
    ids=[
        "nonsense",
        "found-without-a-name",
        "found-without-stream",
        "ok-plus-more",
        "hang-up",
        "endless",
    ],
)
def test_a_garbage_reply_raises_scan_error(fake_clamd, reply):
    fake_clamd.canned_reply = reply

    with pytest.raises(clamd.ScanError):
        clamd.scan(b"data", address=fake_clamd.address)


def test_a_reply_without_the_terminating_nul_is_read_up_to_the_end(fake_clamd):
    fake_clamd.canned_reply = b"stream: Eicar-Test-Signature FOUND"

    with pytest.raises(clamd.VirusFound):
        clamd.scan(b"data", address=fake_clamd.address)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "nohostport",
        "host:notaport",
        "ftp://x",
        ":3310",
        "host:0",
        "host:70000",
        "::1:3310",
        "tcp://",
    ],
)
def test_a_malformed_address_raises_value_error(address):
    with pytest.raises(ValueError, match="Invalid clamd address"):
        clamd.parse_address(address)
    # Also from scan itself: a misconfiguration is not a ScanError to be retried.
    with pytest.raises(ValueError, match="Invalid clamd address"):
        clamd.scan(b"data", address=address)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("/run/clamav/clamd.ctl", (socket.AF_UNIX, "/run/clamav/clamd.ctl")),
        ("clamav:3310", (socket.AF_INET, ("clamav", 3310))),
        ("tcp://127.0.0.1:3310", (socket.AF_INET, ("127.0.0.1", 3310))),
        ("TCP://clamav:3310", (socket.AF_INET, ("clamav", 3310))),
        ("[::1]:3310", (socket.AF_INET6, ("::1", 3310))),
    ],
)
def test_well_formed_addresses_say_how_to_connect(address, expected):
    assert clamd.parse_address(address) == expected
