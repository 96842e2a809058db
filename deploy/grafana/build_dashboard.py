"""Build the Churnwatch Grafana dashboard as code and write it to `dashboards/churnwatch.json`.

    python deploy/grafana/build_dashboard.py           # regenerate the committed JSON
    python deploy/grafana/build_dashboard.py --check   # exit 1 if the committed JSON is stale

The dashboard is built with the `grafana-foundation-sdk` builders (pinned in pyproject's
`observability` group; the JSON it emits depends on the version). Every query names only
metrics defined in `streams/metrics.py` (and Prometheus' own `up`); `tests/unit/test_dashboard.py`
checks that, and that regenerating changes nothing. Grafana loads the file through
`provisioning/dashboards/churnwatch.yml`, with the Prometheus datasource of
`provisioning/datasources/prometheus.yml` (uid `churnwatch-prometheus`).

Queries sum over workers: each worker reports its own partitions, so `sum` gives the
deployment. Rates of rare events (warnings, churn, labels) are shown per hour.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from grafana_foundation_sdk.builders import common as gc
from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import stat, timeseries
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as gm

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "dashboards" / "churnwatch.json"

#: Fixed, so the provisioned datasource and the dashboard always find each other.
DATASOURCE_UID = "churnwatch-prometheus"
DASHBOARD_UID = "churnwatch-overview"
DATASOURCE = gm.DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)

#: Windows offered for the churn-rate panel (the `window` dashboard variable).
CHURN_WINDOWS = ("1d", "7d", "30d")
DEFAULT_CHURN_WINDOW = "7d"

#: Churned customers of a segment over the window, per customer of that segment at stake in
#: it: the average active ones, plus those who churned (a customer is counted under the
#: segment they had when they churned, and one quiet for half a year turns `lapsed` then, so
#: over the active `lapsed` customers alone, who are few, the rate read 15 × 100 %). Counters
#: are per worker; `increase` absorbs restarts, and partitions that move between workers
#: keep being counted by whichever worker owns them.
CHURN_RATE = (
    "sum by (segment) (increase(churnwatch_customers_churned_total[$window]))\n"
    "/ (sum by (segment) (avg_over_time(churnwatch_customers_active[$window]))"
    " + sum by (segment) (increase(churnwatch_customers_churned_total[$window])))"
)


@dataclass(frozen=True)
class Query:
    """One panel target: a PromQL expression and its legend."""

    expr: str
    legend: str


def _q(expr: str, legend: str) -> Query:
    return Query(expr, legend)


def _quantiles(metric: str, by: str = "") -> list[Query]:
    group = f"{by}, le" if by else "le"
    return [
        _q(f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket[$__rate_interval])))",
           f"p{int(q * 100)}" + (f" {{{{{by}}}}}" if by else ""))
        for q in (0.5, 0.99)
    ]


def _targets(panel, queries: list[Query]):
    for i, query in enumerate(queries):
        panel = panel.with_target(
            Dataquery().expr(query.expr).legend_format(query.legend).ref_id(chr(ord("A") + i)).datasource(DATASOURCE)
        )
    return panel


def graph(title: str, description: str, unit: str, queries: list[Query], *, width: int = 12,
          stacked: bool = False, min_val: float | None = 0) -> timeseries.Panel:
    """A time-series panel on the Churnwatch datasource."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(8)
        .fill_opacity(10 if not stacked else 40)
        .legend(gc.VizLegendOptions().display_mode(cm.LegendDisplayMode.LIST)
                .placement(cm.LegendPlacement.BOTTOM).show_legend(True))
        .tooltip(gc.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING))
    )
    if min_val is not None:
        panel = panel.min(min_val)
    if stacked:
        panel = panel.stacking(gc.StackingConfig().mode(cm.StackingMode.NORMAL))
    return _targets(panel, queries)


def single(title: str, description: str, unit: str, query: Query, *, width: int = 6) -> stat.Panel:
    """A single-figure panel."""
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(4)
        .reduce_options(gc.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .graph_mode(cm.BigValueGraphMode.AREA)
    )
    return _targets(panel, [query])


def build_dashboard() -> gd.Dashboard:
    """The whole dashboard, as a foundation-SDK builder."""
    window = (
        gd.CustomVariable("window")
        .label("Churn window")
        .description("Window of the churn-rate panel")
        .values(",".join(CHURN_WINDOWS))
        .current(gm.VariableOption(selected=True, text=DEFAULT_CHURN_WINDOW, value=DEFAULT_CHURN_WINDOW))
        .options([gm.VariableOption(selected=w == DEFAULT_CHURN_WINDOW, text=w, value=w) for w in CHURN_WINDOWS])
    )
    board = (
        gd.Dashboard("Churnwatch")
        .uid(DASHBOARD_UID)
        .description("Throughput, lag, bad input, churn warnings, customers and model quality of Churnwatch workers")
        .tags(["churnwatch", "generated"])
        .editable()
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("utc")
        .with_variable(window)
    )

    board = board.with_row(gd.Row("Workers"))
    for panel in [
        single("Workers up", "Churnwatch targets Prometheus scraped successfully", "none",
               _q('sum(up{job="churnwatch"})', "up")),
        single("Customers tracked", "Customers with state, over all workers", "short",
               _q("sum(churnwatch_customers_tracked)", "customers")),
        single("Event time behind wall clock", "Wall time minus the newest event time any worker has seen", "s",
               _q("time() - max(churnwatch_stream_time_seconds)", "behind")),
        single("Warnings in the last 24 h", "New warnings (raised or escalated)", "short",
               _q('sum(increase(churnwatch_warnings_total{state=~"raised|escalated"}[1d]))', "warnings")),
    ]:
        board = board.with_panel(panel)

    board = board.with_row(gd.Row("Throughput and lag"))
    for panel in [
        graph("Events consumed per second", "Messages consumed per topic, all workers", "ops",
              [_q("sum by (topic) (rate(churnwatch_events_consumed_total[$__rate_interval]))", "{{topic}}")]),
        graph("Processing time", "Time to process one message: decode, state update, detectors", "s",
              _quantiles("churnwatch_processing_seconds")),
        graph("Event-time lag", "Wall time minus event time when an event is processed (large during a replay)", "s",
              _quantiles("churnwatch_event_time_lag_seconds")),
        graph("Consumer lag per partition", "Messages between the committed offset and the end of each partition",
              "short", [_q("sum by (topic, partition) (churnwatch_consumer_lag_messages)", "{{topic}}[{{partition}}]")]),
        graph("Events applied without a new assessment",
              "Share of the events applied that were further logins and page views of a day already judged "
              "(no warning open, nothing due, no stronger activity signal): they cost a state update but no "
              "assessment, so a higher share "
              "means more events per second for the same CPU",
              "percentunit",
              [_q("sum by (instance) (rate(churnwatch_repeat_visits_total[$__rate_interval]))\n"
                  "/ sum by (instance) (rate(churnwatch_events_applied_total[$__rate_interval]))", "{{instance}}")],
              width=24),
    ]:
        board = board.with_panel(panel)

    board = board.with_row(gd.Row("Bad input and failures"))
    for panel in [
        graph("Dead letters per second by reason", "Messages sent to the dead-letter topic", "ops",
              [_q("sum by (reason) (rate(churnwatch_dead_letters_total[$__rate_interval]))", "{{reason}}")],
              stacked=True),
        graph("Dead-letter share per topic", "Dead letters as a share of the messages consumed (alert above 1%)",
              "percentunit",
              [_q("sum by (topic) (rate(churnwatch_dead_letters_total[$__rate_interval]))\n"
                  "/ sum by (topic) (rate(churnwatch_events_consumed_total[$__rate_interval]))", "{{topic}}")]),
        graph("Failed customer assessments per hour",
              "Customers whose assessment failed in a sweep (a bug, not bad input; each is in the worker's log "
              "with its traceback and judged again a day later). Should stay at 0 (alert ChurnwatchAssessmentErrors)",
              "short", [_q("3600 * sum by (instance) (rate(churnwatch_assessment_errors_total[$__rate_interval]))",
                           "{{instance}}")]),
        graph("Unkeyed events re-published per second",
              "Customer events that arrived without a Kafka key, re-published keyed by customer_id to the "
              "partition holding the customer (CHURNWATCH_UNKEYED_EVENTS). Should stay at 0: ask the producer "
              "to key its events (alert ChurnwatchUnkeyedEvents)",
              "ops", [_q("sum by (topic) (rate(churnwatch_rekeyed_events_total[$__rate_interval]))", "{{topic}}")]),
        graph("Unkeyed events held before re-publishing",
              "Unkeyed events a worker holds until every partition of their topic has been read past their "
              "event time, so their copies go out in event-time order. Rises while a backlog is read, back to 0 "
              "once it is",
              "short", [_q("sum by (instance) (churnwatch_unkeyed_events_held)", "{{instance}}")]),
    ]:
        board = board.with_panel(panel)

    board = board.with_row(gd.Row("Churn warnings"))
    def per_hour(by: str, metric: str, sel: str = "") -> str:
        return f"3600 * sum by ({by}) (rate({metric}{{{sel}}}[$__rate_interval]))" if sel else \
            f"3600 * sum by ({by}) (rate({metric}[$__rate_interval]))"

    for panel in [
        graph("Warnings per hour by level",
              "New and escalated warnings on the topic, and steps below CHURNWATCH_PUBLISH_MIN_LEVEL kept "
              "in the state only (not published)", "short",
              [_q(per_hour(by="level", metric="churnwatch_warnings_total", sel='state=~"raised|escalated"'),
                  "{{level}}"),
               _q(per_hour(by="level", metric="churnwatch_warnings_withheld_total", sel='state=~"raised|escalated"'),
                  "{{level}} (not published)")], stacked=True),
        graph("Warnings per hour by lifecycle state", "Raised, escalated and cleared warnings", "short",
              [_q(per_hour(by="state", metric="churnwatch_warnings_total"), "{{state}}")],
              stacked=True),
        graph("Warning signals per hour by kind", "Signals shown as evidence in new and escalated warnings",
              "short",
              [_q(per_hour(by="signal", metric="churnwatch_warning_signals_total",
                                  sel='state=~"raised|escalated"'), "{{signal}}")], stacked=True),
        graph("Warnings per hour by segment", "New and escalated warnings per value segment", "short",
              [_q(per_hour(by="segment", metric="churnwatch_warnings_total", sel='state=~"raised|escalated"'),
                  "{{segment}}")], stacked=True),
    ]:
        board = board.with_panel(panel)

    board = board.with_row(gd.Row("Customers"))
    for panel in [
        graph("Customers at risk per level and segment", "Customers whose open warning is at each level", "short",
              [_q('sum by (segment, level) (churnwatch_customers{level!="none"})', "{{segment}} {{level}}")],
              stacked=True),
        graph("Churn rate per segment over $window",
              "Customers who went from active to churned during the window, per average active customer",
              "percentunit", [_q(CHURN_RATE, "{{segment}}")]),
    ]:
        board = board.with_panel(panel)

    board = board.with_row(gd.Row("Model quality"))
    for panel in [
        graph("Model ROC AUC and positive rate", "Rolling progressive-validation figures (alert below 0.6 AUC)",
              "percentunit",
              # A worker whose model has no figure yet exports NaN, which would make the average
              # NaN: `>= 0` keeps only the workers with a figure (a comparison with NaN is false).
              [_q("avg(churnwatch_model_roc_auc >= 0)", "ROC AUC"),
               _q("avg(churnwatch_model_positive_rate >= 0)", "positive rate")],
              width=8),
        graph("Model log loss", "Rolling log loss of predictions made before learning", "none",
              [_q("avg(churnwatch_model_log_loss >= 0)", "log loss")], width=8),
        graph("Labels learned per hour", "Outcomes the model learned from", "short",
              [_q("3600 * sum(rate(churnwatch_model_labels_total[$__rate_interval]))", "labels")], width=8),
    ]:
        board = board.with_panel(panel)
    return board


def render() -> str:
    """The dashboard JSON exactly as committed (sorted keys, two-space indent, final newline)."""
    built = build_dashboard().build()
    # Grafana keys panel links and edits by id; number them in layout order, once.
    for number, panel in enumerate(built.panels or [], start=1):
        panel.id_val = number
    return JSONEncoder(sort_keys=True, indent=2).encode(built) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed JSON differs from a rebuild")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"where to write (default {OUTPUT})")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run python deploy/grafana/build_dashboard.py", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
