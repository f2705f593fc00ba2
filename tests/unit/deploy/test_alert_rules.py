"""deploy/prometheus/alerts.yml: promtool accepts the rules and passes their unit tests
(alerts_test.yml), every alert is tested firing and quiet, documented in docs/operating.md's Alerts
table and labelled for routing, and every metric a rule reads is one the code exports.

promtool comes with Debian's `prometheus` package; without it these tests fail (they do not skip)."""

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
RULES = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
RULE_TESTS = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())
ALERTS = {rule["alert"]: rule for group in RULES["groups"] for rule in group["rules"] if "alert" in rule}
DOCS = (REPO / "docs" / "operating.md").read_text()

# Exported by something other than this repository's code: Prometheus itself (a target's `up`) and
# kafka-exporter, which only a Kafka cluster's deployment runs (the rule says so).
EXTERNAL_METRICS = {"up", "kafka_topic_partition_under_replicated_partition"}


def promtool() -> str:
    path = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)
    if path is None:
        pytest.fail("promtool not found: install Debian's `prometheus` package (apt-get install prometheus)")
    return path


def run_promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [promtool(), *args], cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=120, check=False
    )


def test_promtool_accepts_the_rules():
    result = run_promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_pass_their_unit_tests():
    result = run_promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_loads_the_rules_and_compose_mounts_them_next_to_its_config():
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    volumes = compose["services"]["prometheus"]["volumes"]
    assert "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in volumes
    assert "--config.file=/etc/prometheus/prometheus.yml" in compose["services"]["prometheus"]["command"]


def test_every_alert_is_labelled_and_annotated_for_routing():
    assert ALERTS
    for name, rule in ALERTS.items():
        assert rule["labels"]["severity"] in ("page", "ticket"), name
        assert rule["annotations"]["summary"].strip(), name
        assert rule["annotations"]["runbook"] == "docs/operating.md#alerts", name
    assert re.search(r"^## Alerts$", DOCS, re.M), "the runbook's anchor"


def test_every_alert_is_tested_firing_and_quiet():
    cases = [case for test in RULE_TESTS["tests"] for case in test.get("alert_rule_test", [])]
    firing = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert set(ALERTS) - firing == set(), "alerts never tested firing"
    assert set(ALERTS) - quiet == set(), "alerts never tested quiet"
    assert (firing | quiet) - set(ALERTS) == set(), "tests of alerts that do not exist"


def test_every_alert_has_a_row_in_the_docs_table():
    section = DOCS.split("\n## Alerts\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)` \|", section, re.M))
    assert documented == set(ALERTS)


def metric_definitions(source: str) -> set[str]:
    """Names given to prometheus_client's metrics (and to a collector's metric families) in `source`."""
    pattern = r'\b(?:Counter|Gauge|Histogram|Summary|Info|Enum|\w+MetricFamily)\b\s*[(,]\s*"([a-zA-Z_:][\w:]*)"'
    return set(re.findall(pattern, source))


def exported_names(base: str) -> set[str]:
    """The series names prometheus_client may export for a metric called `base`."""
    base = base.removesuffix("_total")
    return {base, f"{base}_total", f"{base}_bucket", f"{base}_sum", f"{base}_count"}


def exported_metrics() -> set[str]:
    sources = [path.read_text() for folder in ("backend", "bridge") for path in (REPO / folder).rglob("*.py")]
    spec = importlib.util.find_spec("django_prometheus")
    assert spec and spec.origin, "django_prometheus is not installed"
    sources += [path.read_text() for path in Path(spec.origin).parent.glob("*.py")]
    names = set().union(*(metric_definitions(source) for source in sources))
    return set().union(*(exported_names(name) for name in names))


PROMQL_WORDS = {"and", "or", "unless", "offset", "bool", "by", "without", "on", "ignoring", "inf", "nan"}


def metrics_in(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are not functions, keywords,
    label names of a grouping, label matchers, strings or durations."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set(re.findall(r"(?<![\w.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", expr))
    return {name for name in names if name.lower() not in PROMQL_WORDS}


def test_the_expression_parser_finds_metric_names():
    expr = 'sum by (le) (rate(a_bucket{job="x", le=~"1|2"}[5m])) > 5 and on (job) b offset 30m unless c'
    assert metrics_in(expr) == {"a_bucket", "b", "c"}


def test_every_metric_a_rule_reads_is_exported_by_the_code():
    exported = exported_metrics() | EXTERNAL_METRICS
    for name, rule in ALERTS.items():
        used = metrics_in(rule["expr"])
        assert used, name
        assert used <= exported, f"{name} reads {sorted(used - exported)}, which nothing exports"
