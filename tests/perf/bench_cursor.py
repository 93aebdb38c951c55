"""What a cursor costs to make and read back: encrypted (Fernet, as paging does now) against only
signed (Django's Signer, as it did before), measured alternately in one run. No database is read:
the page's query is the same either way.

    python tests/perf/bench_cursor.py
"""

from __future__ import annotations

import datetime
import os
import sys
import timeit
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.core import signing  # noqa: E402

from sigma_playground import paging  # noqa: E402

# A favorites list's boundary row: its order is (favorited_at desc, favorite_pk desc).
ROW = SimpleNamespace(favorited_at=datetime.datetime.now(datetime.UTC), favorite_pk=123_456)
ORDER = [("favorited_at", True), ("favorite_pk", True)]
ROUNDS = 20_000


def signed() -> str:
    payload = {
        "o": paging._signature(ORDER),
        "d": paging.FORWARD,
        "v": [paging._dump(getattr(ROW, name)) for name, _ in ORDER],
    }
    cursor = signing.Signer(salt=paging._SALT).sign_object(payload, compress=True)
    signing.Signer(salt=paging._SALT).unsign_object(cursor)
    return cursor


def encrypted() -> str:
    cursor = paging.encode_cursor(ROW, ORDER, paging.FORWARD)
    paging.decode_cursor(cursor, ORDER)
    return cursor


def main() -> None:
    results: dict[str, list[float]] = {"signed": [], "encrypted": []}
    for _ in range(2):
        for name, made in (("signed", signed), ("encrypted", encrypted)):
            results[name].append(timeit.timeit(made, number=ROUNDS) / ROUNDS * 1e6)
    for name, made in (("signed", signed), ("encrypted", encrypted)):
        runs = ", ".join(f"{us:.1f}" for us in results[name])
        print(f"{name:>9}: {runs} us per cursor made and read; {len(made())} characters")
    ratio = [e / s for e, s in zip(results["encrypted"], results["signed"], strict=True)]
    print("encrypted / signed: " + ", ".join(f"{r:.2f}x" for r in ratio))


if __name__ == "__main__":
    main()
