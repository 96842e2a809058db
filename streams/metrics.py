"""Prometheus metrics of a worker.

Every metric is defined here, once, and listed with its meaning in ``docs/metrics.md``;
the dashboard (``deploy/grafana``) and the alert rules (``deploy/prometheus``) query only
these names. Conventions: names start with ``churnwatch_``, values are in base units
(seconds, messages, customers), counters end in ``_total``, and label values come from
short fixed lists (topic, reason, level, state, signal kind, segment): never a customer id.

The metric objects live in a :class:`Metrics` built against one ``CollectorRegistry``, so a
test builds its own on a fresh registry; :data:`METRICS` is the worker's instance on the
default registry, and the module-level names (``EVENTS``, ``DEAD_LETTERS``...) are aliases
of its members. The helpers take plain values so a call site is one line.

Faust's own Prometheus sensor is reused for Faust's internals (rebalances, send and commit
latency, table operations, committed and end offsets) under the prefix ``churnwatch_faust_``
(see :func:`install_faust_sensor`); its latencies are in milliseconds, as Faust measures
them, and it spells one name ``..._offset_commited``. Consumer lag is derived from the same
offsets as ``churnwatch_consumer_lag_messages``, in our conventions, so alerts and the
dashboard need neither quirk.

Example:
    >>> from prometheus_client import CollectorRegistry
    >>> registry = CollectorRegistry()
    >>> m = Metrics(registry)
    >>> m.customer_churned("core")
    >>> registry.get_sample_value("churnwatch_customers_churned_total", {"segment": "core"})
    1.0
"""

from __future__ import annotations

import math
import re
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from importlib import metadata
from typing import Any, Protocol

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from detectors.segment import SEGMENTS
from detectors.warning import LEVELS

#: Upper bounds of the processing-time buckets (seconds): one event costs ~0.3-1 ms in Faust.
PROCESSING_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

#: Upper bounds of the event-time lag buckets (seconds): from live (seconds behind) to a
#: replay of old history (a year behind). 900 s is the live-mode alert threshold.
EVENT_TIME_LAG_BUCKETS = (1, 5, 30, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400, 365 * 86400)

#: Prefix of the metrics of Faust's own Prometheus sensor.
FAUST_PREFIX = "churnwatch_faust"


class _OutcomeLike(Protocol):
    """What :func:`observe_outcome` reads from a `streams.processing.Outcome`."""

    applied: bool
    duplicate: bool
    dead_letter_reason: str | None
    event_time: int | None
    warnings: list[dict]


def _version() -> str:
    try:
        return metadata.version("churnwatch")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


class Metrics:
    """Every Churnwatch metric, registered on ``registry``.

    Parameters:
        registry: where the metrics are registered; a fresh ``CollectorRegistry`` in tests.

    Example:
        >>> from prometheus_client import CollectorRegistry
        >>> registry = CollectorRegistry()
        >>> m = Metrics(registry)
        >>> m.set_model_quality(positive_rate=0.1, roc_auc=0.72, log_loss=None)
        >>> registry.get_sample_value("churnwatch_model_roc_auc")
        0.72
    """

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry
        r = registry
        # ---- the stream
        self.events_consumed = Counter(
            "churnwatch_events_consumed_total", "Messages consumed, per topic", ["topic"], registry=r)
        self.events_applied = Counter(
            "churnwatch_events_applied_total", "Events applied (customer state, market timeline, clock ticks), per topic", ["topic"], registry=r)
        self.duplicates = Counter(
            "churnwatch_duplicate_events_total", "Re-delivered events recognised by event_id and applied once",
            ["topic"], registry=r)
        self.dead_letters = Counter(
            "churnwatch_dead_letters_total", "Messages sent to the dead-letter topic, per source topic and reason",
            ["topic", "reason"], registry=r)
        self.assessment_errors = Counter(
            "churnwatch_assessment_errors_total",
            "Customers whose assessment failed in a sweep (logged with the customer id, tried again a day "
            "later in event time or at their next event); any is a bug", registry=r)
        self.repeat_visits = Counter(
            "churnwatch_repeat_visits_total",
            "Logins and page views of a day already judged, applied to the state without assessing the "
            "customer again (no warning open, nothing due, and for a page view no stronger activity signal: "
            "such a visit cannot raise a level)",
            registry=r)
        self.rekeyed = Counter(
            "churnwatch_rekeyed_events_total",
            "Customer events read without a Kafka key and re-published keyed by customer_id to the partition "
            "holding the customer (CHURNWATCH_UNKEYED_EVENTS=rekey), per topic",
            ["topic"], registry=r)
        self.unkeyed_held = Gauge(
            "churnwatch_unkeyed_events_held",
            "Unkeyed customer events read and not yet re-published: each waits until every partition of its "
            "topic this worker reads has been read past its event time (their originals are unacknowledged "
            "meanwhile)",
            registry=r)
        # One count per warning, and one per signal behind a warning: a warning carries
        # several signals, so a single counter with a signal label would not sum to warnings.
        self.warnings = Counter(
            "churnwatch_warnings_total", "Churn warnings emitted, per level, lifecycle state and value segment",
            ["level", "state", "segment"], registry=r)
        self.warnings_withheld = Counter(
            "churnwatch_warnings_withheld_total",
            "Warning lifecycle steps below CHURNWATCH_PUBLISH_MIN_LEVEL, kept in the customer's state (snapshot, "
            "worklist) but not published on the warnings topic, per level and lifecycle state",
            ["level", "state"], registry=r)
        self.warning_signals = Counter(
            "churnwatch_warning_signals_total",
            "Signals shown in emitted churn warnings, per signal kind and lifecycle state",
            ["signal", "state"], registry=r)
        self.processing_seconds = Histogram(
            "churnwatch_processing_seconds", "Time to process one message (decode, state, detectors)",
            buckets=PROCESSING_BUCKETS, registry=r)
        self.event_time_lag = Histogram(
            "churnwatch_event_time_lag_seconds", "Wall time minus event time when a message is processed",
            buckets=EVENT_TIME_LAG_BUCKETS, registry=r)
        self.stream_time = Gauge(
            "churnwatch_stream_time_seconds", "Largest event time this worker has seen (epoch seconds)", registry=r)
        # ---- the customers on this worker's partitions
        self.partitions_stalled = Gauge(
            "churnwatch_partitions_stalled",
            "Partitions of this worker with input left to read whose offsets, watermark and buffer have not moved "
            "for CHURNWATCH_STALL_REPORT_SECONDS", registry=r)
        self.customers_tracked = Gauge(
            "churnwatch_customers_tracked", "Customers with state on this worker's partitions", registry=r)
        self.customers = Gauge(
            "churnwatch_customers", "Customers on this worker's partitions, per warning level and value segment",
            ["level", "segment"], registry=r)
        self.customers_active = Gauge(
            "churnwatch_customers_active", "Customers whose open warning is not critical (not churned), per segment",
            ["segment"], registry=r)
        self.customers_churned = Counter(
            "churnwatch_customers_churned_total",
            "Customers whose warning reached critical with silence firing (active to churned), per segment",
            ["segment"], registry=r)
        # ---- the online model (progressive validation: predict, then learn)
        self.model_labels = Counter(
            "churnwatch_model_labels_total", "Outcome labels the model has learned from", registry=r)
        self.model_positive_rate = Gauge(
            "churnwatch_model_positive_rate", "Share of churned (positive) labels in the model's rolling window",
            registry=r)
        self.model_roc_auc = Gauge(
            "churnwatch_model_roc_auc", "Rolling ROC AUC of the model's predictions made before learning",
            registry=r)
        self.model_log_loss = Gauge(
            "churnwatch_model_log_loss", "Rolling log loss of the model's predictions made before learning",
            registry=r)
        # Unknown until the model reports: NaN, not a misleading 0 (see set_model_quality).
        self.set_model_quality(positive_rate=None, roc_auc=None, log_loss=None)
        # ---- the worker
        self.worker = Info(
            "churnwatch_worker", "Churnwatch version and mode (live: wall-clock ticks; replay)", registry=r)
        # ---- Kafka: filled in at scrape time from Faust's monitor (see install_faust_sensor)
        self.consumer_lag = ConsumerLagCollector()
        r.register(self.consumer_lag)
        _lag_collectors[r] = self.consumer_lag
        self._stream_time = 0.0
        self._level_keys: set[tuple[str, str]] = set()
        self._per_topic: dict[str, tuple[Any, Any]] = {}

    def start_at_zero(self, topics: Iterable[str], customer_topics: Iterable[str] = ()) -> None:
        """Create every series of the labelled counters at 0, for the label values known in advance.

        A labelled counter has no series until its first increment, and Prometheus's
        ``increase`` and ``rate`` cannot count the step from nothing to 1: the first dead letter
        of a topic after a worker starts would never show in "dead letters per minute", and
        the dashboard's warning panels would say "No data" instead of 0 (Prometheus's
        instrumentation guidelines: avoid missing metrics). Label values come from the event
        contracts: the dead-letter reasons, warning levels, states, segments and signal kinds.

        Parameters:
            topics: every topic the worker reads (per-topic counts and dead letters).
            customer_topics: the customer-event topics (re-keyed unkeyed events).

        Example:
            >>> m = Metrics(CollectorRegistry())
            >>> m.start_at_zero(["logins", "orders"], customer_topics=["logins", "orders"])
            >>> m.registry.get_sample_value("churnwatch_dead_letters_total", {"topic": "orders", "reason": "oversize"})
            0.0
            >>> m.registry.get_sample_value("churnwatch_warnings_total",
            ...                             {"level": "critical", "state": "raised", "segment": "core"})
            0.0
        """
        from schemas.errors import DEAD_LETTER_REASONS
        from schemas.outputs import SEGMENTS, SIGNAL_KINDS, WARNING_LEVELS, WARNING_STATES

        for topic in topics:
            for counter in (self.events_consumed, self.events_applied, self.duplicates):
                counter.labels(topic=topic)
            for reason in DEAD_LETTER_REASONS:
                self.dead_letters.labels(topic=topic, reason=reason)
        for topic in customer_topics:
            self.rekeyed.labels(topic=topic)
        for level in WARNING_LEVELS:
            for state in WARNING_STATES:
                self.warnings_withheld.labels(level=level, state=state)
                for segment in SEGMENTS:
                    self.warnings.labels(level=level, state=state, segment=segment)
        for signal in SIGNAL_KINDS:
            for state in WARNING_STATES:
                self.warning_signals.labels(signal=signal, state=state)
        for segment in SEGMENTS:
            self.customers_churned.labels(segment=segment)

    # ------------------------------------------------------------------ per message

    def observe_stream_time(self, event_time: float) -> None:
        """Raise `churnwatch_stream_time_seconds` to `event_time` if it is later (an event, or
        the watermarks a worker recovered from its clocks table after a restart).

        Example:
            >>> m = Metrics(CollectorRegistry())
            >>> m.observe_stream_time(1_700_000_000); m.observe_stream_time(5)
            >>> m.registry.get_sample_value("churnwatch_stream_time_seconds")
            1700000000.0
        """
        if event_time > self._stream_time:
            self._stream_time = float(event_time)
            self.stream_time.set(self._stream_time)

    def observe_outcome(self, topic: str, outcome: _OutcomeLike, *, tick: bool = False,
                        now: float | None = None) -> None:
        """Count what one message did (`outcome` is a `streams.processing.Outcome`).

        Parameters:
            topic: the topic the message came from.
            outcome: what processing it did.
            tick: the message is a clock tick: it moves stream time, but its event time is
                chosen by its sender (wall time minus the lateness allowance in live mode),
                so it is no sample of event-time lag.
            now: wall time in epoch seconds for the event-time lag; the clock when omitted.

        Example:
            >>> from types import SimpleNamespace
            >>> from prometheus_client import CollectorRegistry
            >>> m = Metrics(CollectorRegistry())
            >>> bad = SimpleNamespace(applied=False, duplicate=False, dead_letter_reason="malformed_json",
            ...                       event_time=None, warnings=[])
            >>> m.observe_outcome("logins", bad)
            >>> m.registry.get_sample_value("churnwatch_dead_letters_total",
            ...                             {"topic": "logins", "reason": "malformed_json"})
            1.0
        """
        # The two per-message counters' children are looked up once per topic (a `labels()`
        # call per message costs more than the increment).
        per_topic = self._per_topic.get(topic)
        if per_topic is None:
            per_topic = self._per_topic[topic] = (self.events_consumed.labels(topic=topic),
                                                  self.events_applied.labels(topic=topic))
        per_topic[0].inc()
        if outcome.applied:
            per_topic[1].inc()
        if outcome.duplicate:
            self.duplicates.labels(topic=topic).inc()
        if outcome.dead_letter_reason:
            self.dead_letters.labels(topic=topic, reason=outcome.dead_letter_reason).inc()
        errors = getattr(outcome, "assessment_errors", 0)
        if errors:
            self.assessment_errors.inc(errors)
        if getattr(outcome, "rekeyed", False):
            self.rekeyed.labels(topic=topic).inc()
        repeats = getattr(outcome, "repeat_visits", 0)
        if repeats:
            self.repeat_visits.inc(repeats)
        if outcome.event_time:
            if not tick:
                wall = time.time() if now is None else now
                self.event_time_lag.observe(max(0.0, wall - outcome.event_time))
            self.observe_stream_time(outcome.event_time)
        for state, level in getattr(outcome, "withheld", ()):
            self.warnings_withheld.labels(level=level, state=state).inc()
        for w in outcome.warnings:
            self.warnings.labels(level=w["level"], state=w["state"], segment=w.get("segment") or "unknown").inc()
            for signal in w.get("signals", ()):
                self.warning_signals.labels(signal=signal["kind"], state=w["state"]).inc()

    # ------------------------------------------------------------------ population (set from table scans)

    def set_customer_counts(self, by_level_segment: Mapping[tuple[str, str], int]) -> None:
        """Set how many customers are at each (level, segment), and the total tracked.

        Every known level and segment is set, missing ones to 0, so a level that empties
        shows 0 instead of its last value; so is any pair set before and absent now.

        Parameters:
            by_level_segment: customer count per ``(level, segment)``, e.g. ``("critical", "core")``.

        Example:
            >>> from prometheus_client import CollectorRegistry
            >>> m = Metrics(CollectorRegistry())
            >>> m.set_customer_counts({("none", "core"): 90, ("critical", "core"): 3})
            >>> m.registry.get_sample_value("churnwatch_customers", {"level": "critical", "segment": "core"})
            3.0
            >>> m.registry.get_sample_value("churnwatch_customers_tracked")
            93.0
        """
        keys = {(level, segment) for level in LEVELS for segment in SEGMENTS} | set(by_level_segment)
        for level, segment in keys | self._level_keys:
            self.customers.labels(level=level, segment=segment).set(by_level_segment.get((level, segment), 0))
        self._level_keys = keys
        self.customers_tracked.set(sum(by_level_segment.values()))

    def set_partitions_stalled(self, n: int) -> None:
        """How many of this worker's partitions are stalled (the stall watch of `streams.app`)."""
        self.partitions_stalled.set(n)

    def set_customers_active(self, by_segment: Mapping[str, int]) -> None:
        """Set how many customers of each segment are active (not churned); others to 0.

        Example:
            >>> from prometheus_client import CollectorRegistry
            >>> m = Metrics(CollectorRegistry())
            >>> m.set_customers_active({"core": 120})
            >>> [m.registry.get_sample_value("churnwatch_customers_active", {"segment": s}) for s in ("core", "new")]
            [120.0, 0.0]
        """
        for segment in set(SEGMENTS) | set(by_segment):
            self.customers_active.labels(segment=segment).set(by_segment.get(segment, 0))

    def set_unkeyed_held(self, held: int) -> None:
        """Unkeyed customer events this worker holds before re-publishing them
        (`Processor.held_copies`)."""
        self.unkeyed_held.set(held)

    def customer_churned(self, segment: str, count: int = 1) -> None:
        """Count customers of `segment` who went from active to churned.

        Example:
            >>> from prometheus_client import CollectorRegistry
            >>> m = Metrics(CollectorRegistry())
            >>> m.customer_churned("growth", 2)
            >>> m.registry.get_sample_value("churnwatch_customers_churned_total", {"segment": "growth"})
            2.0
        """
        self.customers_churned.labels(segment=segment).inc(count)

    # ------------------------------------------------------------------ the model

    def model_labels_seen(self, count: int = 1) -> None:
        """Count outcome labels the model learned from.

        Example:
            >>> from prometheus_client import CollectorRegistry
            >>> m = Metrics(CollectorRegistry())
            >>> m.model_labels_seen(5)
            >>> m.registry.get_sample_value("churnwatch_model_labels_total")
            5.0
        """
        self.model_labels.inc(count)

    def set_model_quality(self, *, positive_rate: float | None, roc_auc: float | None,
                          log_loss: float | None) -> None:
        """Set the model's rolling quality; ``None`` (not known yet) is exported as NaN.

        NaN keeps the series present while comparisons with it are false, so the
        model-quality alert stays quiet until there is a figure to judge.

        Example:
            >>> from prometheus_client import CollectorRegistry
            >>> m = Metrics(CollectorRegistry())
            >>> m.set_model_quality(positive_rate=0.08, roc_auc=None, log_loss=0.31)
            >>> m.registry.get_sample_value("churnwatch_model_log_loss")
            0.31
        """
        for gauge, value in ((self.model_positive_rate, positive_rate), (self.model_roc_auc, roc_auc),
                             (self.model_log_loss, log_loss)):
            gauge.set(math.nan if value is None else float(value))

    # ------------------------------------------------------------------ the worker

    def set_worker_info(self, *, live: bool, version: str | None = None) -> None:
        """Publish ``churnwatch_worker_info{version, mode}`` (mode ``live`` or ``replay``).

        The live-only alerts (event-time lag, warnings spike) join on ``mode="live"``: in a
        replay, old events and bursts of warnings are expected.

        Example:
            >>> from prometheus_client import CollectorRegistry
            >>> m = Metrics(CollectorRegistry())
            >>> m.set_worker_info(live=True, version="1.2.3")
            >>> m.registry.get_sample_value("churnwatch_worker_info", {"version": "1.2.3", "mode": "live"})
            1.0
        """
        self.worker.info({"version": version or _version(), "mode": "live" if live else "replay"})


# ---------------------------------------------------------------------- consumer lag


def consumer_lag(end_offsets: Mapping[Any, int], committed_offsets: Mapping[Any, int]) -> dict[tuple[str, int], int]:
    """Messages behind per (topic, partition): end offset minus committed offset, at least 0.

    Only partitions with both figures are reported. Keys are Faust ``TP`` tuples (or any
    ``(topic, partition)`` pair). The embedded broker reports end offsets too low after
    multi-record batches, hence the floor at 0.

    Example:
        >>> consumer_lag({("logins", 0): 120, ("logins", 1): 7}, {("logins", 0): 100})
        {('logins', 0): 20}
    """
    lag = {}
    for tp, end in end_offsets.items():
        committed = committed_offsets.get(tp)
        if committed is not None:
            topic, partition = tp
            lag[(topic, int(partition))] = max(0, int(end) - int(committed))
    return lag


def forget_partitions(monitor: Any, assigned: set) -> None:
    """Drop from a Faust monitor's offset maps the partitions not in `assigned` (after a
    rebalance), so that `churnwatch_consumer_lag_messages` covers this worker's own only.

    Example:
        >>> from types import SimpleNamespace
        >>> m = SimpleNamespace(tp_end_offsets={("logins", 0): 9, ("logins", 1): 7},
        ...                     tp_committed_offsets={("logins", 1): 5})
        >>> forget_partitions(m, {("logins", 0)})
        >>> m.tp_end_offsets, m.tp_committed_offsets
        ({('logins', 0): 9}, {})
    """
    for name in ("tp_end_offsets", "tp_committed_offsets"):
        offsets = getattr(monitor, name, None)
        if offsets:
            for tp in [tp for tp in offsets if tp not in assigned]:
                offsets.pop(tp, None)


class ConsumerLagCollector(Collector):
    """``churnwatch_consumer_lag_messages{topic, partition}`` at scrape time from a Faust monitor.

    The monitor records the end offset (highwater) of a partition each time a record is
    fetched from it and the committed offset at each commit. The scrape runs on the HTTP
    server's thread, so the mappings are copied first (an atomic step for a dict).
    """

    def __init__(self, monitor: Any = None) -> None:
        self.monitor = monitor

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "churnwatch_consumer_lag_messages",
            "Messages behind the end of each assigned partition (end offset minus committed offset)",
            labels=["topic", "partition"],
        )
        monitor = self.monitor
        if monitor is not None:
            end = dict((getattr(monitor, "tp_end_offsets", None) or {}).copy())
            committed = dict((getattr(monitor, "tp_committed_offsets", None) or {}).copy())
            for (topic, partition), lag in sorted(consumer_lag(end, committed).items()):
                family.add_metric([topic, str(partition)], float(lag))
        yield family


# One Faust metric set and one lag collector per registry: Faust's `setup_prometheus_sensors`
# would register its metrics again for every app built in the same process (tests build many).
_faust_metrics: weakref.WeakKeyDictionary[CollectorRegistry, Any] = weakref.WeakKeyDictionary()
_lag_collectors: weakref.WeakKeyDictionary[CollectorRegistry, ConsumerLagCollector] = weakref.WeakKeyDictionary()


def _lean_monitor_class(prometheus_monitor: type) -> type:
    """Faust's `PrometheusMonitor` with the label look-ups of its per-message hooks cached.

    Its hooks run several times per message; each `labels(...)` call builds and looks up a
    label tuple, and the stream label goes through a regular expression every event. The
    metrics and their values are the same; only the look-ups are remembered, per label set.
    (The monitor is a `mode.Service`: its own `_children` are the services it stops.)
    """
    from faust.sensors.monitor import Monitor

    class LeanPrometheusMonitor(prometheus_monitor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._label_children: dict[tuple, Any] = {}

        def _child(self, metric: Any, *values: Any) -> Any:
            key = (id(metric), *values)
            child = self._label_children.get(key)
            if child is None:
                child = self._label_children[key] = metric.labels(*values)
            return child

        def on_message_in(self, tp, offset, message) -> None:
            Monitor.on_message_in(self, tp, offset, message)
            m = self._metrics
            m.messages_received.inc()
            m.active_messages.inc()
            self._child(m.messages_received_per_topics, tp.topic).inc()
            self._child(m.messages_received_per_topics_partition, tp.topic, tp.partition).set(offset)

        def on_stream_event_in(self, tp, offset, stream, event):
            state = Monitor.on_stream_event_in(self, tp, offset, stream, event)
            m = self._metrics
            m.total_events.inc()
            m.total_active_events.inc()
            child = self._label_children.get(id(stream))
            if child is None:
                child = self._label_children[id(stream)] = m.total_events_per_stream.labels(
                    stream=f"stream.{self._stream_label(stream)}.events")
            child.inc()
            return state

        def on_table_get(self, table, key) -> None:
            Monitor.on_table_get(self, table, key)
            self._child(self._metrics.table_operations, f"table.{table.name}", self.KEYS_RETRIEVED).inc()

        def on_table_set(self, table, key, value) -> None:
            Monitor.on_table_set(self, table, key, value)
            self._child(self._metrics.table_operations, f"table.{table.name}", self.KEYS_UPDATED).inc()

        def on_send_initiated(self, producer, topic, message, keysize, valsize):
            self._child(self._metrics.topic_messages_sent, f"topic.{topic}").inc()
            return Monitor.on_send_initiated(self, producer, topic, message, keysize, valsize)

    return LeanPrometheusMonitor


def install_faust_sensor(app: Any, registry: CollectorRegistry = REGISTRY) -> Any:
    """Make Faust's Prometheus monitor `app`'s monitor, and export consumer lag from it.

    Call once per app, before the worker starts. Faust's metrics (prefix
    ``churnwatch_faust_``) and ``churnwatch_consumer_lag_messages`` go to `registry`, which
    the worker's metrics endpoint serves. Returns the installed monitor.

    Example:
        >>> import faust
        >>> from faust.types import TP
        >>> from prometheus_client import CollectorRegistry
        >>> registry = CollectorRegistry()
        >>> app = faust.App("doc-example", broker="kafka://127.0.0.1:1")
        >>> monitor = install_faust_sensor(app, registry)
        >>> monitor.track_tp_end_offset(TP("logins", 0), 42)
        >>> monitor.on_tp_commit({TP("logins", 0): 40})
        >>> registry.get_sample_value("churnwatch_consumer_lag_messages", {"topic": "logins", "partition": "0"})
        2.0
    """
    from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor

    faust_metrics = _faust_metrics.get(registry)
    if faust_metrics is None:
        faust_metrics = _faust_metrics[registry] = FaustMetrics.create(registry, FAUST_PREFIX)
    collector = _lag_collectors.get(registry)
    if collector is None:  # a registry without our Metrics: export the lag all the same
        collector = _lag_collectors[registry] = ConsumerLagCollector()
        registry.register(collector)
    monitor = _lean_monitor_class(PrometheusMonitor)(metrics=faust_metrics)
    app.monitor = monitor
    collector.monitor = monitor
    return monitor


# ---------------------------------------------------------------------- the worker's instance

#: The worker's metrics, on the default registry that its metrics endpoint serves.
METRICS = Metrics(REGISTRY)

EVENTS = METRICS.events_consumed
APPLIED = METRICS.events_applied
DUPLICATES = METRICS.duplicates
DEAD_LETTERS = METRICS.dead_letters
WARNINGS = METRICS.warnings
WARNING_SIGNALS = METRICS.warning_signals
PROCESSING_SECONDS = METRICS.processing_seconds
EVENT_TIME_LAG = METRICS.event_time_lag
STREAM_TIME = METRICS.stream_time

observe_outcome = METRICS.observe_outcome
observe_stream_time = METRICS.observe_stream_time
set_customer_counts = METRICS.set_customer_counts
set_customers_active = METRICS.set_customers_active
set_partitions_stalled = METRICS.set_partitions_stalled
set_unkeyed_held = METRICS.set_unkeyed_held
customer_churned = METRICS.customer_churned
model_labels_seen = METRICS.model_labels_seen
set_model_quality = METRICS.set_model_quality
set_worker_info = METRICS.set_worker_info
start_at_zero = METRICS.start_at_zero


def metric_names(registry: CollectorRegistry = REGISTRY) -> set[str]:
    """Every sample name `registry` exposes, e.g. ``churnwatch_processing_seconds_bucket``.

    The dashboard test uses it to check that each panel query names a real metric.

    Example:
        >>> "churnwatch_events_consumed_total" in metric_names()
        True
    """
    names: set[str] = set()
    for family in registry.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_sum", "_count"))
        elif family.type == "info":
            names.add(family.name + "_info")
    return names


_PROMQL_WORDS = {"and", "or", "unless", "offset", "bool", "by", "without", "on", "ignoring", "group_left",
                 "group_right", "inf", "nan"}


def metrics_in_promql(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (functions, keywords, labels and variables left out).

    The dashboard and alert-rule tests use it to check every query against :func:`metric_names`.

    Example:
        >>> sorted(metrics_in_promql('sum by (le) (rate(a_bucket{x="y"}[$__rate_interval])) / on () b offset 1d'))
        ['a_bucket', 'b']
    """
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)  # label lists
    text = re.sub(r"\$\w+", "", text)  # dashboard variables
    text = re.sub(r"\b\d+(\.\d+)?([eE][+-]?\d+)?[smhdwy]?\b", "", text)  # numbers and durations
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        called = re.match(r"\s*\(", text[match.end():])
        if not called and match.group().lower() not in _PROMQL_WORDS:
            names.add(match.group())
    return names
