"""Fault tests: each starts the servers it breaks (tests/private_services.py), never the machine's own.

Every test here is marked `faults` (by this folder), bounded to seconds, and says what a user sees
while the fault lasts and that nothing is lost after it."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.faults)
