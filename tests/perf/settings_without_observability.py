"""The site without any of its metrics and request-id logging: the baseline of
bench_observability.py's "without" arm (DJANGO_SETTINGS_MODULE=tests.perf.settings_without_observability).

Production's settings, less:
- the metrics middleware (and the scrape middleware that stands in for it), and the request-id
  middleware;
- the request-id log filter, and the id in the log format;
- every metric's recording: each counter, gauge and histogram value is a no-op, so the counters that
  do not depend on METRICS_ENABLED (cache hits and misses, the site's own events, the process gauges)
  cost nothing either. prometheus-client makes each value with `values.ValueClass` when the metric or
  its labelled child is made, so it is replaced before the site's metrics exist.
"""

from prometheus_client import values


class _NoValue:
    """A metric value that records nothing."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def inc(self, amount: float) -> None:
        pass

    def set(self, value: float, timestamp: float | None = None) -> None:
        pass

    def set_exemplar(self, exemplar) -> None:
        pass

    def get(self) -> float:
        return 0.0

    def get_exemplar(self):
        return None


values.ValueClass = _NoValue

from sigma_playground.settings import *  # noqa: E402, F403
from sigma_playground.settings import LOGGING, MIDDLEWARE  # noqa: E402

_OBSERVABILITY = (
    "sigma_playground.observability.middleware.MetricsMiddleware",
    "sigma_playground.observability.middleware.ScrapeMiddleware",
    "sigma_playground.observability.logs.RequestIdMiddleware",
)
MIDDLEWARE = [name for name in MIDDLEWARE if name not in _OBSERVABILITY]
METRICS_ENABLED = False

LOGGING["filters"].pop("request_id")
for _handler in LOGGING["handlers"].values():
    _handler["filters"] = [name for name in _handler.get("filters", []) if name != "request_id"]
LOGGING["formatters"]["plain"]["format"] = "%(asctime)s %(levelname)s %(name)s %(message)s"
