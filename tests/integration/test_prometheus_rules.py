"""Alert rules, their unit tests and the example Prometheus config, through Debian's promtool.

`make test` installs promtool first (`make prometheus`); without it these tests fail and say so.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from streams.metrics import EVENT_TIME_LAG_BUCKETS, Metrics, metric_names, metrics_in_promql

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "rules" / "churnwatch.rules.yml"
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.test.yml"))
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "churnwatch.json"


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed: run `make prometheus` (Debian package prometheus)", pytrace=False)
    return path


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)


def alerts() -> dict[str, dict]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


def test_the_alert_rules_pass_promtool_check(promtool):
    result = run(promtool, "check", "rules", str(RULES))

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in result.stdout


def test_every_alert_rule_unit_test_passes(promtool):
    assert RULE_TESTS, "no promtool unit tests in deploy/prometheus/tests"
    result = run(promtool, "test", "rules", *map(str, RULE_TESTS))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS), result.stdout


def test_a_broken_expectation_makes_promtool_test_fail(promtool, tmp_path):
    # The suite above would be worthless if promtool passed whatever it is given.
    source = (PROMETHEUS / "tests" / "worker_down.test.yml").read_text()
    broken = source.replace("summary: \"Churnwatch worker worker-1:9108 is down\"",
                            "summary: \"Churnwatch worker worker-9:9108 is down\"")
    assert broken != source
    (tmp_path / "rules").mkdir()
    shutil.copy(RULES, tmp_path / "rules" / RULES.name)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "broken.test.yml").write_text(broken)

    result = run(promtool, "test", "rules", "tests/broken.test.yml", cwd=tmp_path)

    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


def test_every_alert_has_a_case_that_fires_it_and_one_that_does_not():
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", ()):
                (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = set(alerts())

    assert len(names) >= 6
    assert names - fired == set(), "alerts never shown to fire"
    assert names - quiet == set(), "alerts never shown to stay quiet"


def test_the_alert_rules_read_only_metrics_defined_in_streams_metrics():
    defined = metric_names(Metrics(CollectorRegistry()).registry) | {"up"}
    for name, rule in alerts().items():
        named = metrics_in_promql(rule["expr"])
        assert named, name
        assert named <= defined, f"{name}: {sorted(named - defined)} not defined in streams/metrics.py"


def test_the_event_time_lag_threshold_is_a_bucket_bound_of_the_histogram():
    threshold = float(re.search(r"\)\s*>\s*(\d+)", alerts()["ChurnwatchEventTimeLagHigh"]["expr"]).group(1))

    assert threshold in EVENT_TIME_LAG_BUCKETS


def test_every_dashboard_query_is_valid_promql(promtool, tmp_path):
    # promtool parses recording rules without a server: each query becomes one.
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", ())]
    rules = [{"record": f"churnwatch:dashboard_query_{i}",
              "expr": e.replace("$__rate_interval", "1m").replace("$window", "7d")} for i, e in enumerate(exprs)]
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))

    result = run(promtool, "check", "rules", str(path))

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_example_prometheus_config_is_valid_and_loads_the_rules(promtool):
    result = run(promtool, "check", "config", str(PROMETHEUS / "prometheus.yml"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "churnwatch.rules.yml" in result.stdout


@pytest.mark.parametrize("metric", ["churnwatch_model_roc_auc", "churnwatch_model_log_loss",
                                    "churnwatch_model_positive_rate"])
def test_the_model_panels_average_only_workers_whose_model_has_a_figure(promtool, tmp_path, metric):
    # A worker whose model has not judged yet exports NaN (see Metrics.set_model_quality); the
    # panel must show the other workers' figure, not NaN.
    dashboard = json.loads(DASHBOARD.read_text())
    (expr,) = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", ()) if metric in t["expr"]]
    case = {"rule_files": [], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [{"series": f'{metric}{{instance="worker-1:9108"}}', "values": "NaN NaN"},
                         {"series": f'{metric}{{instance="worker-2:9108"}}', "values": "0.5 0.5"},
                         {"series": f'{metric}{{instance="worker-3:9108"}}', "values": "0.7 0.7"}],
        "promql_expr_test": [{"expr": expr, "eval_time": "1m", "exp_samples": [{"labels": "{}", "value": 0.6}]}],
    }]}
    path = tmp_path / "model_panel.test.yml"
    path.write_text(yaml.safe_dump(case))

    result = run(promtool, "test", "rules", str(path))

    assert result.returncode == 0, expr + "\n" + result.stdout + result.stderr
