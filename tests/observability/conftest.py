"""What the metrics tests share: the scrape token, reading this process's figures and a change in
them, and reading a /metrics answer."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from sigma_playground.observability.batch import FIGURES
from sigma_playground.observability.metrics import REGISTRY

# METRICS_TOKEN is refused under 32 characters, as a guessable one would be.
TOKEN = "metrics-token-for-the-tests-5b0c9e7a41d2"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def value(name: str, **labels: str) -> float:
    """A sample of this process's metrics (0 while the series does not exist yet), with the
    requests answered so far written to them."""
    FIGURES.flush()
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Counted:
    """The change of one of this process's samples across a block (the figures are the process's,
    shared by every test, so a test looks at what its block adds)."""

    def __init__(self, name: str, **labels: str) -> None:
        self.name, self.labels = name, labels

    def __enter__(self) -> Counted:
        self.before = value(self.name, **self.labels)
        return self

    def __exit__(self, *exc) -> None:
        self.change = value(self.name, **self.labels) - self.before


def parse(text: str) -> list[Sample]:
    """Every sample of a /metrics answer (Prometheus's text format)."""
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def total(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels`: every process's figure
    (their `pid` label apart) or every series of a family, added up."""
    return sum(
        sample.value
        for sample in samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )
