"""Worker metrics: what each helper exports, checked on a fresh registry."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import faust
import pytest
from faust.types import TP
from prometheus_client import CollectorRegistry
from prometheus_client.utils import floatToGoString

from schemas.errors import DEAD_LETTER_REASONS
from streams import metrics
from streams.metrics import Metrics, consumer_lag, install_faust_sensor, metric_names

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
EVENT_TIME = 1_735_689_600  # 2025-01-01T00:00:00Z
T = "t.logins"


@dataclass
class Outcome:
    """The fields of `streams.processing.Outcome` the metrics read."""

    applied: bool = False
    duplicate: bool = False
    dead_letter_reason: str | None = None
    event_time: int | None = None
    warnings: list[dict] = field(default_factory=list)
    assessment_errors: int = 0


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def m(registry: CollectorRegistry) -> Metrics:
    return Metrics(registry)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def warning(level: str = "warning", state: str = "raised", segment: str = "core", kinds=("silence",)) -> dict:
    return {"level": level, "state": state, "segment": segment, "signals": [{"kind": k} for k in kinds]}


# ---------------------------------------------------------------------- per message


def test_every_message_is_counted_as_consumed_and_only_applied_ones_as_applied(m, registry):
    m.observe_outcome(T, Outcome(applied=True, event_time=EVENT_TIME), now=EVENT_TIME)
    m.observe_outcome(T, Outcome(dead_letter_reason="malformed_json"), now=EVENT_TIME)
    m.observe_outcome(T, Outcome(duplicate=True, event_time=EVENT_TIME), now=EVENT_TIME)

    assert value(registry, "churnwatch_events_consumed_total", topic=T) == 3
    assert value(registry, "churnwatch_events_applied_total", topic=T) == 1
    assert value(registry, "churnwatch_duplicate_events_total", topic=T) == 1


@pytest.mark.parametrize("reason", DEAD_LETTER_REASONS)
def test_a_dead_letter_is_counted_under_its_topic_and_reason(m, registry, reason):
    m.observe_outcome("t.orders", Outcome(dead_letter_reason=reason))

    assert value(registry, "churnwatch_dead_letters_total", topic="t.orders", reason=reason) == 1
    assert value(registry, "churnwatch_dead_letters_total", topic=T, reason=reason) is None


def test_failed_assessments_are_counted(m, registry):
    assert value(registry, "churnwatch_assessment_errors_total") == 0
    m.observe_outcome(T, Outcome(applied=True, event_time=EVENT_TIME, assessment_errors=2), now=EVENT_TIME)

    assert value(registry, "churnwatch_assessment_errors_total") == 2


@pytest.mark.parametrize(("behind", "bucket", "bucket_below"), [
    (45, 60, 30), (900, 900, 300), (901, 3600, 900), (40 * 86400, 365 * 86400, 30 * 86400),
])
def test_event_time_lag_is_wall_time_minus_event_time_in_seconds(m, registry, behind, bucket, bucket_below):
    m.observe_outcome(T, Outcome(applied=True, event_time=EVENT_TIME), now=EVENT_TIME + behind)

    assert value(registry, "churnwatch_event_time_lag_seconds_sum") == behind
    assert value(registry, "churnwatch_event_time_lag_seconds_bucket", le=floatToGoString(bucket)) == 1
    assert value(registry, "churnwatch_event_time_lag_seconds_bucket", le=floatToGoString(bucket_below)) == 0


def test_an_event_from_the_future_counts_as_no_lag_rather_than_negative(m, registry):
    m.observe_outcome(T, Outcome(applied=True, event_time=EVENT_TIME + 30), now=EVENT_TIME)

    assert value(registry, "churnwatch_event_time_lag_seconds_sum") == 0


def test_a_clock_tick_moves_stream_time_but_is_no_event_time_lag_sample(m, registry):
    m.observe_outcome("t.clock-ticks", Outcome(applied=True, event_time=EVENT_TIME), tick=True, now=EVENT_TIME + 86400)

    assert value(registry, "churnwatch_stream_time_seconds") == EVENT_TIME
    assert value(registry, "churnwatch_event_time_lag_seconds_count") == 0


def test_stream_time_is_the_largest_event_time_seen_not_the_latest(m, registry):
    for t in (EVENT_TIME, EVENT_TIME + 3600, EVENT_TIME + 60):
        m.observe_outcome(T, Outcome(applied=True, event_time=t), now=EVENT_TIME + 7200)

    assert value(registry, "churnwatch_stream_time_seconds") == EVENT_TIME + 3600


def test_a_warning_counts_once_and_each_signal_behind_it_once(m, registry):
    both = warning(level="critical", state="escalated", segment="growth", kinds=("silence", "activity_drop"))
    m.observe_outcome(T, Outcome(applied=True, event_time=EVENT_TIME, warnings=[both]), now=EVENT_TIME)

    assert value(registry, "churnwatch_warnings_total", level="critical", state="escalated", segment="growth") == 1
    assert value(registry, "churnwatch_warning_signals_total", signal="silence", state="escalated") == 1
    assert value(registry, "churnwatch_warning_signals_total", signal="activity_drop", state="escalated") == 1


def test_a_cleared_warning_without_signals_is_still_counted(m, registry):
    m.observe_outcome(T, Outcome(applied=True, warnings=[warning(state="cleared", kinds=())]))

    assert value(registry, "churnwatch_warnings_total", level="warning", state="cleared", segment="core") == 1


def test_the_module_level_names_still_point_at_the_workers_metrics():
    assert metrics.EVENTS is metrics.METRICS.events_consumed
    assert metrics.DEAD_LETTERS is metrics.METRICS.dead_letters
    assert metrics.PROCESSING_SECONDS is metrics.METRICS.processing_seconds
    assert metrics.observe_outcome.__self__ is metrics.METRICS


def test_processing_time_is_observed_in_seconds_through_the_alias_timer(registry):
    m = Metrics(registry)
    m.processing_seconds.observe(0.0004)

    assert value(registry, "churnwatch_processing_seconds_bucket", le="0.0005") == 1
    assert value(registry, "churnwatch_processing_seconds_bucket", le="0.00025") == 0


# ---------------------------------------------------------------------- population


def test_customer_counts_set_every_level_and_segment_and_the_total(m, registry):
    m.set_customer_counts({("none", "core"): 90, ("critical", "core"): 3, ("watch", "new"): 7})

    assert value(registry, "churnwatch_customers", level="critical", segment="core") == 3
    assert value(registry, "churnwatch_customers", level="watch", segment="new") == 7
    assert value(registry, "churnwatch_customers", level="warning", segment="lapsed") == 0
    assert value(registry, "churnwatch_customers_tracked") == 100


def test_a_level_that_empties_reads_zero_not_its_last_count(m, registry):
    m.set_customer_counts({("critical", "core"): 3, ("critical", "vip-test"): 1})
    m.set_customer_counts({("none", "core"): 3})

    assert value(registry, "churnwatch_customers", level="critical", segment="core") == 0
    assert value(registry, "churnwatch_customers", level="critical", segment="vip-test") == 0
    assert value(registry, "churnwatch_customers_tracked") == 3


def test_active_customers_are_set_per_segment_with_missing_segments_at_zero(m, registry):
    m.set_customers_active({"core": 120, "growth": 40})
    m.set_customers_active({"core": 118})

    assert value(registry, "churnwatch_customers_active", segment="core") == 118
    assert value(registry, "churnwatch_customers_active", segment="growth") == 0


def test_churned_customers_accumulate_per_segment(m, registry):
    m.customer_churned("core")
    m.customer_churned("core", 2)
    m.customer_churned("new")

    assert value(registry, "churnwatch_customers_churned_total", segment="core") == 3
    assert value(registry, "churnwatch_customers_churned_total", segment="new") == 1


# ---------------------------------------------------------------------- the model


def test_model_labels_accumulate_and_quality_figures_are_set(m, registry):
    m.model_labels_seen(150)
    m.model_labels_seen()
    m.set_model_quality(positive_rate=0.12, roc_auc=0.71, log_loss=0.35)

    assert value(registry, "churnwatch_model_labels_total") == 151
    assert value(registry, "churnwatch_model_positive_rate") == 0.12
    assert value(registry, "churnwatch_model_roc_auc") == 0.71
    assert value(registry, "churnwatch_model_log_loss") == 0.35


def test_model_figures_read_nan_until_the_model_reports_them(m, registry):
    for name in ("churnwatch_model_roc_auc", "churnwatch_model_log_loss", "churnwatch_model_positive_rate"):
        assert math.isnan(value(registry, name)), name


def test_an_unknown_model_figure_is_exported_as_nan_so_threshold_alerts_stay_quiet(m, registry):
    m.set_model_quality(positive_rate=0.12, roc_auc=0.71, log_loss=0.35)
    m.set_model_quality(positive_rate=None, roc_auc=None, log_loss=None)

    assert math.isnan(value(registry, "churnwatch_model_roc_auc"))
    assert math.isnan(value(registry, "churnwatch_model_log_loss"))


@pytest.mark.parametrize(("live", "mode"), [(True, "live"), (False, "replay")])
def test_worker_info_tells_live_from_replay(m, registry, live, mode):
    m.set_worker_info(live=live, version="9.9.9")

    assert value(registry, "churnwatch_worker_info", version="9.9.9", mode=mode) == 1


# ---------------------------------------------------------------------- consumer lag and Faust's sensor


def test_consumer_lag_is_end_minus_committed_for_partitions_with_both():
    lag = consumer_lag({TP("o", 0): 500, TP("o", 1): 90, TP("o", 2): 7}, {TP("o", 0): 480, TP("o", 1): 90})

    assert lag == {("o", 0): 20, ("o", 1): 0}


def test_consumer_lag_never_goes_negative_when_the_broker_under_reports_the_end():
    assert consumer_lag({TP("o", 0): 10}, {TP("o", 0): 12}) == {("o", 0): 0}


def make_app(name: str) -> faust.App:
    return faust.App(name, broker="kafka://127.0.0.1:1", store="memory://")


def test_faust_sensor_becomes_the_apps_monitor_and_lag_is_exported_per_partition(m, registry):
    app = make_app("metrics-test-1")
    monitor = install_faust_sensor(app, registry)
    monitor.track_tp_end_offset(TP(T, 1), 1200)
    monitor.on_tp_commit({TP(T, 1): 200})

    assert app.monitor is monitor
    assert value(registry, "churnwatch_consumer_lag_messages", topic=T, partition="1") == 1000
    # Faust's own figures come with our prefix, in its own names.
    assert value(registry, "churnwatch_faust_topic_partition_end_offset", topic=T, partition="1") == 1200
    assert value(registry, "churnwatch_faust_topic_partition_offset_commited", topic=T, partition="1") == 200


def test_a_second_app_on_the_same_registry_reuses_the_metrics_and_reports_its_own_lag(m, registry):
    first = install_faust_sensor(make_app("metrics-test-2"), registry)
    first.track_tp_end_offset(TP(T, 0), 50)
    first.on_tp_commit({TP(T, 0): 10})
    second = install_faust_sensor(make_app("metrics-test-3"), registry)
    second.track_tp_end_offset(TP(T, 0), 70)
    second.on_tp_commit({TP(T, 0): 65})

    assert value(registry, "churnwatch_consumer_lag_messages", topic=T, partition="0") == 5


def test_no_lag_series_before_a_partition_has_been_fetched_and_committed(m, registry):
    install_faust_sensor(make_app("metrics-test-4"), registry).track_tp_end_offset(TP(T, 0), 50)

    assert value(registry, "churnwatch_consumer_lag_messages", topic=T, partition="0") is None


# ---------------------------------------------------------------------- conventions and documentation


def families(registry: CollectorRegistry):
    return [f for f in registry.collect() if f.name.startswith("churnwatch_") and not f.name.startswith("churnwatch_faust")]


def test_every_metric_follows_the_naming_conventions(m, registry):
    found = families(registry)
    assert len(found) >= 19
    for family in found:
        assert re.fullmatch(r"churnwatch_[a-z0-9_]+", family.name), family.name
        if family.type == "histogram":
            assert family.name.endswith("_seconds"), family.name
        if family.type == "gauge":
            assert not family.name.endswith("_total"), family.name


def test_no_metric_has_a_customer_id_label(m, registry):
    m.observe_outcome(T, Outcome(applied=True, event_time=EVENT_TIME, warnings=[warning()]), now=EVENT_TIME)
    for family in registry.collect():
        for sample in family.samples:
            assert not {"customer", "customer_id", "key"} & set(sample.labels), (family.name, sample.labels)


def test_every_metric_is_listed_with_its_type_in_docs_metrics_md(m, registry):
    documented = DOCS.read_text()
    for family in families(registry):
        exposed = {"counter": family.name + "_total", "info": family.name + "_info"}.get(family.type, family.name)
        assert f"`{exposed}`" in documented, f"{exposed} is missing from docs/metrics.md"


def test_metric_names_lists_the_sample_names_a_query_can_use(m, registry):
    names = metric_names(registry)

    assert {"churnwatch_events_consumed_total", "churnwatch_processing_seconds_bucket",
            "churnwatch_worker_info", "churnwatch_consumer_lag_messages", "churnwatch_customers"} <= names
    assert "churnwatch_no_such_metric" not in names


@pytest.mark.parametrize(("expr", "names"), [
    ("time() - max(churnwatch_stream_time_seconds)", {"churnwatch_stream_time_seconds"}),
    ('absent(up{job="churnwatch"} == 1)', {"up"}),
    ('histogram_quantile(0.99, sum by (job, instance, le) (rate(x_bucket[1h]))) > 900\n'
     'and on (job, instance) y{mode="live"}', {"x_bucket", "y"}),
    ('sum(rate(a_total{state=~"raised|escalated"}[1d] offset 15m)) > 4 * 1e3', {"a_total"}),
])
def test_metrics_in_promql_finds_the_series_a_query_reads(expr, names):
    assert metrics.metrics_in_promql(expr) == names


def test_the_lean_faust_monitor_exports_the_same_samples_as_faust_prometheus_monitor():
    from types import SimpleNamespace

    from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor

    class FakeStream:   # the monitor keeps weak references to streams and their tasks
        def __init__(self, label: str) -> None:
            self.shortlabel, self.task_owner = label, self

    def drive(monitor) -> None:
        stream_a, stream_b = FakeStream("Stream: process"), FakeStream("Stream: check_market")
        customers, clocks = SimpleNamespace(name="customers"), SimpleNamespace(name="clocks")
        for i in range(5):
            tp = TP("logins" if i % 2 else "orders", i % 3)
            monitor.on_message_in(tp, 100 + i, SimpleNamespace())
            monitor.on_stream_event_in(tp, 100 + i, stream_a if i < 4 else stream_b, None)
            monitor.on_table_get(customers, b"c1")
            monitor.on_table_set(customers if i % 2 else clocks, b"c1", b"v")
            monitor.on_send_initiated(None, "churn-warnings" if i % 2 else "dead", None, 1, 1)

    samples = []
    for monitor_class in (PrometheusMonitor, metrics._lean_monitor_class(PrometheusMonitor)):
        registry = CollectorRegistry()
        drive(monitor_class(metrics=FaustMetrics.create(registry, "x")))
        samples.append(sorted((s.name, tuple(sorted(s.labels.items())), s.value)
                              for family in registry.collect() for s in family.samples
                              if not s.name.endswith("_created")))
    assert samples[0] == samples[1]
    assert ("x_table_operations_total", (("operation", "keys_updated"), ("table", "table.clocks")), 3.0) in samples[1]


def test_the_faust_monitor_stops_without_errors(caplog):
    import asyncio
    import logging

    monitor = install_faust_sensor(faust.App("stop-example", broker="kafka://127.0.0.1:1"), CollectorRegistry())
    # Faust's monitor is a service: its label cache must not take the name of the services it stops.
    monitor.on_table_set(type("T", (), {"name": "customers"})(), b"k", b"v")

    async def start_and_stop() -> None:
        await monitor.start()
        await monitor.stop()

    with caplog.at_level(logging.ERROR):
        asyncio.run(start_and_stop())
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_unkeyed_events_held_is_a_gauge_that_falls_back_to_zero(m, registry):
    m.set_unkeyed_held(120)
    assert registry.get_sample_value("churnwatch_unkeyed_events_held") == 120
    m.set_unkeyed_held(0)
    assert registry.get_sample_value("churnwatch_unkeyed_events_held") == 0
