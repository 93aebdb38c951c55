"""A minimal client for ClamAV's clamd, for the optional virus scan of uploaded images.

Standard library only: the `clamd` package on PyPI is unmaintained, and the one command we need is a
few lines of socket code.

We stream the bytes with INSTREAM rather than asking clamd to SCAN a path, because clamd usually runs
in a container of its own that cannot see our files (and an upload may not be on disk at all).

The two outcomes that are not "clean" must stay apart: `VirusFound` means reject the upload, while
`ScanError` means we do not know yet and the caller should retry later. Anything we cannot make sense
of is a `ScanError`, never a pass.
"""

from __future__ import annotations

import socket
import struct

__all__ = ["ScanError", "VirusFound", "parse_address", "scan"]

# The null-terminated ("z") form of the command: every reply then ends at a NUL byte.
_INSTREAM = b"zINSTREAM\0"
_CHUNK_LENGTH = struct.Struct(">I")
_END_OF_STREAM = _CHUNK_LENGTH.pack(0)
_MAX_CHUNK = 2**32 - 1
# clamd's replies are one short line; a longer one is not clamd, and must not fill our memory.
_MAX_REPLY = 4096

Target = str | tuple[str, int]


class ScanError(Exception):
    """The scanner could not be reached or gave no usable answer: the file is neither clean nor
    infected yet, so the caller should try again later rather than accept or reject it."""


class VirusFound(Exception):
    """clamd recognised malware: the upload must be rejected, and retrying will not change that.

    `signature` is clamd's name for what it found (e.g. "Eicar-Test-Signature"), for logs and moderators.
    """

    def __init__(self, signature: str) -> None:
        super().__init__(f"clamd found {signature}")
        self.signature = signature


def parse_address(address: str) -> tuple[socket.AddressFamily, Target]:
    """Check a clamd address and say how to connect to it: (AF_UNIX, path) or (AF_INET/AF_INET6,
    (host, port)).

    Separate from `scan` so that settings can reject a malformed address at start-up with a ValueError;
    a typo must not surface later as a `ScanError` that gets retried forever.

    Accepted: a unix socket path ("/run/clamav/clamd.ctl"), "host:port", "tcp://host:port", and IPv6
    literals in brackets ("[::1]:3310"). For TCP the family only reflects how the host is written:
    `scan` connects with socket.create_connection, which tries whatever a host name resolves to.
    """

    def invalid(why: str) -> ValueError:
        return ValueError(
            f"Invalid clamd address {address!r}: {why}. Expected a unix socket path starting with '/', "
            "or host:port (optionally written tcp://host:port)."
        )

    if not isinstance(address, str) or not address:
        raise invalid("it is empty")
    if "\0" in address:
        raise invalid("it contains a NUL byte")
    if address.startswith("/"):
        return socket.AF_UNIX, address

    rest = address
    if "://" in address:
        scheme, _, rest = address.partition("://")
        if scheme.lower() != "tcp":
            raise invalid(f"the scheme {scheme!r} is not supported, only tcp://")
    host, colon, port_text = rest.rpartition(":")
    if not colon:
        raise invalid("there is no port")
    family = socket.AF_INET
    if host.startswith("[") and host.endswith("]"):
        host, family = host[1:-1], socket.AF_INET6
    elif ":" in host:
        raise invalid("an IPv6 address must be written in brackets, as [::1]:3310")
    if not host or any(char.isspace() or char in "/[]@" for char in host):
        raise invalid("the host name is missing or malformed")
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
        raise invalid(f"{port_text!r} is not a port number (1-65535)")
    return family, (host, int(port_text))


def scan(
    data: bytes,
    *,
    address: str,
    timeout: float = 10.0,
    chunk_size: int = 64 * 1024,
) -> None:
    """Have clamd at `address` scan `data`; return quietly only if clamd says it is clean.

    Raises VirusFound when clamd names a signature, ScanError when there is no trustworthy verdict
    (unreachable, timed out, clamd's own ERROR such as the stream size limit, or a reply we cannot
    parse), and ValueError for a malformed address or arguments, which retrying would not fix.

    `timeout` bounds each connect, send and receive rather than the whole scan, so that a large file
    on a slow but working link is not cut off, while a daemon that stops responding is given up on.
    """
    _, target = parse_address(address)  # a path (AF_UNIX) or (host, port): its type says how
    if not 0 < chunk_size <= _MAX_CHUNK:
        raise ValueError(f"chunk_size must be between 1 and {_MAX_CHUNK}, not {chunk_size}")
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout}")

    try:
        with _connect(target, timeout) as sock:
            interrupted = _send(sock, data, chunk_size)
            reply = _receive(sock)
    except OSError as exc:  # Refused, missing socket file, unresolvable host, TimeoutError, resets.
        raise ScanError(f"clamd at {address} could not be used: {exc}") from exc
    _judge(reply, interrupted=interrupted, address=address)


def _connect(target: Target, timeout: float) -> socket.socket:
    # (host, port): AF_INET or AF_INET6, whichever the host resolves to; otherwise a socket path.
    if isinstance(target, tuple):
        return socket.create_connection(target, timeout=timeout)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(target)
    except BaseException:
        sock.close()
        raise
    return sock


def _send(sock: socket.socket, data: bytes, chunk_size: int) -> OSError | None:
    """Send the INSTREAM command and the data; return the error if clamd hung up part-way.

    clamd stops reading, answers and closes as soon as a stream passes its StreamMaxLength, so a
    broken pipe here usually has an explanation waiting in the reply: the caller still reads it.
    """
    view = memoryview(data)
    try:
        sock.sendall(_INSTREAM)
        for start in range(0, len(view), chunk_size):
            chunk = view[start : start + chunk_size]
            sock.sendall(_CHUNK_LENGTH.pack(len(chunk)))
            sock.sendall(chunk)
        sock.sendall(_END_OF_STREAM)
    except (BrokenPipeError, ConnectionResetError) as exc:
        return exc
    return None


def _receive(sock: socket.socket) -> bytes:
    reply = bytearray()
    while b"\0" not in reply:
        received = sock.recv(1024)
        if not received:
            break
        reply += received
        if len(reply) > _MAX_REPLY:
            raise ScanError(f"clamd's reply went on for more than {_MAX_REPLY} bytes")
    return bytes(reply.partition(b"\0")[0])


def _judge(reply: bytes, *, interrupted: OSError | None, address: str) -> None:
    text = reply.decode("utf-8", errors="replace").strip()
    if interrupted is not None:
        # Whatever clamd said, it did not see the whole file: never take that as clean.
        raise ScanError(f"clamd at {address} stopped reading the stream: {text or interrupted}")
    if text == "stream: OK":
        return
    if text.endswith(" ERROR"):
        raise ScanError(f"clamd at {address} answered: {text}")
    prefix, suffix = "stream: ", " FOUND"
    if text.startswith(prefix) and text.endswith(suffix):
        signature = text[len(prefix) : -len(suffix)].strip()
        if signature:
            raise VirusFound(signature)
    raise ScanError(f"clamd at {address} answered something unexpected: {text!r}")
