"""Counting round trips to the default cache."""

from django.core.cache import caches


def count_cache_reads(monkeypatch) -> list[str]:
    """Each read of the default cache (get, get_many) from now on, by anyone, not counting what a
    backend's get_many makes of its own gets."""
    real = caches["default"]
    reads: list[str] = []
    depth = [0]

    def counted(name):
        method = getattr(real, name)

        def call(*args, **kwargs):
            if depth[0] == 0:
                reads.append(name)
            depth[0] += 1
            try:
                return method(*args, **kwargs)
            finally:
                depth[0] -= 1

        return call

    for name in ("get", "get_many"):
        monkeypatch.setattr(real, name, counted(name))
    return reads
