"""A Redis or PostgreSQL server of the test's own, so a fault test can stop, stall or restart it.

The machine's shared servers are never touched: each private server listens on a free port of its own,
keeps its files in a temporary folder, and is removed when the test ends. PostgreSQL refuses to run as
root, so under root the cluster is run by the `postgres` system account.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import IN_CI


def _postgres_bin() -> Path:
    """Debian keeps each PostgreSQL version's programs apart; the newest installed one, unless
    POSTGRES_BIN names a folder."""
    if os.environ.get("POSTGRES_BIN"):
        return Path(os.environ["POSTGRES_BIN"])
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name)
    )
    return versions[-1] if versions else Path(shutil.which("initdb") or "initdb").parent


POSTGRES_BIN = _postgres_bin()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(ready, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up in {seconds:.0f} s")


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _require(binary: str, how: str) -> str:
    path = shutil.which(binary)
    if path is None:
        message = f"{binary} is needed for this fault test: {how}"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


@dataclass
class PrivateRedis:
    """`redis-server` on a free port in `folder`; `appendonly` turns on AOF persistence."""

    folder: Path
    appendonly: bool = False
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = _require("redis-server", "apt-get install redis-server")
        command = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.folder),
        ]
        command += ["--save", "", "--appendonly", "yes" if self.appendonly else "no"]
        command += ["--appendfsync", "always"] if self.appendonly else []
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        _wait(lambda: _answers(self.port), "the private redis-server")

    def stop(self) -> None:
        """A clean shutdown (SIGTERM): with AOF on, what was acknowledged is on disk."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=20)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @contextmanager
    def stalled(self) -> Iterator[None]:
        """The server is frozen (SIGSTOP): connections stay open and nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.process.send_signal(signal.SIGCONT)


@contextmanager
def private_redis(folder: Path, *, appendonly: bool = False) -> Iterator[PrivateRedis]:
    folder.mkdir(parents=True, exist_ok=True)
    server = PrivateRedis(folder=folder, appendonly=appendonly)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster made with initdb in `folder`, trust auth, user `postgres`."""

    folder: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *command: str) -> None:
        as_postgres = os.geteuid() == 0
        user = pwd.getpwnam("postgres") if as_postgres else None

        def demote() -> None:
            if user is not None:
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)

        result = subprocess.run(
            command,
            check=False,
            capture_output=True,
            preexec_fn=demote if as_postgres else None,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {result.stdout!r} {result.stderr!r}")

    def init(self) -> None:
        if not (POSTGRES_BIN / "initdb").exists():
            _require("initdb", "apt-get install postgresql")
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(
            str(POSTGRES_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--no-sync", "-E", "UTF8",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "pg.log"),
            "-o", options, "-w", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """The cluster's folder is made directly in the system's temporary folder: pytest's own temporary
    folders are private to root, and the `postgres` account must be able to reach its files."""
    folder = Path(tempfile.mkdtemp(prefix="sigma-playground-pg-"))
    server = PrivatePostgres(folder=folder)
    try:
        server.init()
        server.start()
        yield server
    finally:
        with suppress(RuntimeError):  # already stopped by the test
            server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
