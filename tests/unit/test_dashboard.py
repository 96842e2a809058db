"""The Grafana dashboard as code: committed JSON is current, and every query reads real metrics."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from streams.metrics import Metrics, metric_names, metrics_in_promql

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
COMMITTED = GRAFANA / "dashboards" / "churnwatch.json"

#: Series Prometheus makes itself, which a dashboard may query beside ours.
PROMETHEUS_OWN = {"up"}


def load_builder():
    spec = importlib.util.spec_from_file_location("build_dashboard", GRAFANA / "build_dashboard.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def builder():
    return load_builder()


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads(COMMITTED.read_text())


def queries(dashboard: dict) -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel.get("targets", ())]


def test_regenerating_the_dashboard_changes_nothing(builder):
    assert builder.render() == COMMITTED.read_text(), (
        "deploy/grafana/dashboards/churnwatch.json is stale: run python deploy/grafana/build_dashboard.py")


def test_the_check_mode_reports_a_stale_file(builder, tmp_path, capsys):
    stale = tmp_path / "churnwatch.json"
    stale.write_text("{}\n")

    assert builder.main(["--check", "--output", str(stale)]) == 1
    assert "stale" in capsys.readouterr().err
    assert builder.main(["--output", str(stale)]) == 0
    assert builder.main(["--check", "--output", str(stale)]) == 0


def test_every_panel_query_names_only_metrics_defined_in_streams_metrics(dashboard):
    defined = metric_names(Metrics(CollectorRegistry()).registry) | PROMETHEUS_OWN
    found = queries(dashboard)
    assert len(found) >= 20
    for title, expr in found:
        named = metrics_in_promql(expr)
        assert named, f"{title}: no metric found in {expr!r}"
        assert named <= defined, f"{title}: {sorted(named - defined)} not defined in streams/metrics.py"


def test_every_panel_and_query_uses_the_provisioned_datasource(dashboard):
    provisioned = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (source,) = provisioned["datasources"]
    assert source["type"] == "prometheus"
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": source["uid"]}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == source["uid"], panel["title"]


def test_the_dashboard_provider_loads_the_generated_file_by_uid(dashboard):
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "churnwatch.yml").read_text())
    (entry,) = provider["providers"]
    assert entry["type"] == "file"
    assert entry["options"]["path"].endswith("/churnwatch")
    assert dashboard["uid"] == "churnwatch-overview"


@pytest.mark.parametrize(("needed", "pattern"), [
    ("throughput per topic", r"sum by \(topic\) \(rate\(churnwatch_events_consumed_total"),
    ("processing time p99", r"histogram_quantile\(0\.99, .*churnwatch_processing_seconds_bucket"),
    ("event-time lag p99", r"histogram_quantile\(0\.99, .*churnwatch_event_time_lag_seconds_bucket"),
    ("consumer lag per partition", r"by \(topic, partition\) \(churnwatch_consumer_lag_messages"),
    ("dead letters by reason", r"by \(reason\) \(rate\(churnwatch_dead_letters_total"),
    ("warnings by level", r"by \(level\) \(rate\(churnwatch_warnings_total"),
    ("warnings by state", r"by \(state\) \(rate\(churnwatch_warnings_total"),
    ("warnings by signal", r"by \(signal\) \(rate\(churnwatch_warning_signals_total"),
    ("warnings by segment", r"by \(segment\) \(rate\(churnwatch_warnings_total"),
    ("customers per level and segment", r"by \(segment, level\) \(churnwatch_customers\{"),
    ("churn rate per segment", r"increase\(churnwatch_customers_churned_total\[\$window\]\)"),
    ("model ROC AUC", r"churnwatch_model_roc_auc"),
    ("model log loss", r"churnwatch_model_log_loss"),
])
def test_the_dashboard_shows(dashboard, needed, pattern):
    assert any(re.search(pattern, expr) for _, expr in queries(dashboard)), f"no panel shows {needed}"


def test_churn_rate_is_churned_over_the_segments_customers_at_stake_in_the_same_window(builder):
    numerator, denominator = builder.CHURN_RATE.split("\n/ ")

    assert numerator == "sum by (segment) (increase(churnwatch_customers_churned_total[$window]))"
    # the churned join the average active ones: a share, at most 1 even for a segment that
    # customers enter as they churn (`lapsed`)
    assert denominator == ("(sum by (segment) (avg_over_time(churnwatch_customers_active[$window]))"
                           " + sum by (segment) (increase(churnwatch_customers_churned_total[$window])))")


def test_the_churn_window_variable_offers_its_windows_with_a_default(dashboard, builder):
    (variable,) = [v for v in dashboard["templating"]["list"] if v["name"] == "window"]

    assert [o["value"] for o in variable["options"]] == list(builder.CHURN_WINDOWS)
    assert variable["current"]["value"] == builder.DEFAULT_CHURN_WINDOW


def test_panels_have_unique_ids_and_do_not_overlap(dashboard):
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for p in panels:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & mine, f"{p['title']} overlaps another panel"
        cells |= mine
