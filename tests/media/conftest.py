"""Fixtures shared by the media tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rest_framework.throttling import ScopedRateThrottle

from tests.media.fake_clamd import FakeClamdHandler, TcpFakeClamd, UnixFakeClamd, running


@pytest.fixture
def upload_rate():
    """Set the hourly upload limit for one test: `upload_rate("2/hour")`."""
    original = ScopedRateThrottle.THROTTLE_RATES

    def set_rate(rate: str) -> None:
        ScopedRateThrottle.THROTTLE_RATES = {**original, "uploads": rate}

    yield set_rate
    ScopedRateThrottle.THROTTLE_RATES = original


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
