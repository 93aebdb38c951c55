"""The clamd client against a stand-in daemon that speaks the real INSTREAM framing
(tests/media/fake_clamd.py)."""

from __future__ import annotations

import socket
import time

import pytest

from media import clamd
from tests.media.fake_clamd import EICAR, SIZE_LIMIT


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
