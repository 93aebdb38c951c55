"""The alert rules, the scrape configuration and the Grafana dashboard are valid, tested, and speak of
metrics the site records.

promtool (Debian's `prometheus` package) checks the scrape configuration and the rules and runs the
rules' unit tests (deploy/prometheus/alerts_test.yml). Every metric name in an alert or a dashboard
panel must be one the catalog (sigma_playground/observability/metrics.py) or a scrape-time collector
exposes: a renamed metric would otherwise leave an alert silent for ever.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from prometheus_client.metrics_core import Metric

from sigma_playground.observability import metrics
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "sigma-playground.json"
OPERATIONS = ROOT / "docs" / "operations.md"

# Read at scrape time by sigma_playground.observability.collectors (not in the catalog's registry),
# and Prometheus's own `up`.
SCRAPE_TIME_NAMES = {
    "celery_queue_length",
    "celery_queue_oldest_task_age_seconds",
    "pg_connections",
    "pg_max_connections",
    "up",
}

# Words of PromQL that look like metric names.
PROMQL_WORDS = {
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
}


def _exposed_names(family: Metric) -> set[str]:
    """The sample names a metric family is exposed with (a family without samples yet, a labelled
    one no request has touched, still has its names)."""
    if family.type == "counter":
        return {f"{family.name}_total"}
    if family.type == "histogram":
        return {f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count")}
    if family.type == "summary":
        return {family.name, f"{family.name}_sum", f"{family.name}_count"}
    return {family.name}


def known_metric_names() -> set[str]:
    names = set(SCRAPE_TIME_NAMES)
    for family in metrics.REGISTRY.collect():
        names |= _exposed_names(family)
    return names


def metric_names_in(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (label matchers, grouping labels, ranges,
    functions and Grafana's variables left out)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges and subqueries
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\$\{?\w+\}?", "", expr)  # Grafana variables
    names = set(re.findall(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()", expr))
    return {name for name in names if name.lower() not in PROMQL_WORDS}


def alert_rules() -> list[dict]:
    groups = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def dashboard_targets() -> list[tuple[str, str]]:
    """(panel title, expression) for every query of every panel, rows' panels included."""
    dashboard = json.loads(DASHBOARD.read_text())
    panels = list(dashboard["panels"])
    for panel in list(panels):
        panels.extend(panel.get("panels", []))
    return [
        (panel["title"], target["expr"]) for panel in panels for target in panel.get("targets", [])
    ]


def promtool(*args: str, cwd: Path) -> None:
    path = shutil.which("promtool")
    require("promtool", path is not None, "apt-get install prometheus")
    done = subprocess.run(
        [path, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}\n{done.stderr}"


def test_the_scrape_configuration_is_valid(tmp_path):
    # promtool opens the bearer token's file, which a deployment keeps next to the configuration.
    for name in ("prometheus.yml", "alerts.yml"):
        shutil.copy(PROMETHEUS_DIR / name, tmp_path / name)
    (tmp_path / "metrics-token").write_text("a-token\n")
    promtool("check", "config", "prometheus.yml", cwd=tmp_path)


def test_the_scrape_configuration_sends_the_metrics_token_to_every_job():
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"web", "ws", "worker"}
    for job in jobs.values():
        assert job["authorization"]["type"] == "Bearer"
        assert job["authorization"]["credentials_file"]
    assert config["rule_files"] == ["alerts.yml"]


def test_the_alert_rules_are_valid():
    promtool("check", "rules", "alerts.yml", cwd=PROMETHEUS_DIR)


def test_the_alert_rules_pass_their_unit_tests():
    promtool("test", "rules", "alerts_test.yml", cwd=PROMETHEUS_DIR)


def test_every_alert_is_tested_firing_and_staying_quiet():
    cases = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())["tests"]
    fires, quiet = set(), set()
    for case in cases:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
    alerts = {rule["alert"] for rule in alert_rules()}
    assert alerts - fires == set(), "alerts never tested firing"
    assert alerts - quiet == set(), "alerts never tested staying quiet"


def test_every_alert_has_a_severity_a_summary_and_a_runbook_section():
    operations = OPERATIONS.read_text()
    # GitHub's anchors of the doc's headings: lower case, punctuation dropped, spaces to hyphens.
    anchors = {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", operations, flags=re.MULTILINE)
    }
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page == "docs/operations.md", rule["alert"]
        assert anchor in anchors, f"{rule['alert']}: no heading for #{anchor} in {page}"


def test_alerts_use_only_metrics_the_site_exposes():
    known = known_metric_names()
    for rule in alert_rules():
        used = metric_names_in(rule["expr"])
        assert used, rule["alert"]
        assert used <= known, f"{rule['alert']}: unknown {sorted(used - known)}"


def test_the_dashboard_uses_only_metrics_the_site_exposes():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["title"]
    # The Prometheus data source is chosen when importing, not fixed to one installation's.
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    targets = dashboard_targets()
    assert len(targets) >= 15
    known = known_metric_names()
    for title, expr in targets:
        used = metric_names_in(expr)
        assert used, f"{title}: {expr}"
        assert used <= known, f"{title}: unknown {sorted(used - known)}"


def test_the_dashboard_queries_are_valid_promql(tmp_path):
    # promtool parses rule expressions: each panel's query becomes a recording rule, with Grafana's
    # rate window replaced by a duration.
    rules = [
        {"record": f"dashboard:query_{n}", "expr": expr.replace("$__rate_interval", "5m")}
        for n, (_, expr) in enumerate(dashboard_targets())
    ]
    (tmp_path / "dashboard.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]})
    )
    promtool("check", "rules", "dashboard.yml", cwd=tmp_path)
