"""A real Prometheus scrapes a real worker: the series say what the replay did.

Debian's `prometheus` binary (installed by `make prometheus`) runs on a free loopback port
with a temporary data directory, scraping the worker's metrics endpoint every second and
evaluating the project's alert rules. Everything is asserted through Prometheus' HTTP API,
as a dashboard or an alert would see it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from streams.broker import free_port
from streams.dashboard_report import MAIN_PANELS, PrometheusError, PrometheusServer, write_report
from tests.integration.conftest import read_topic

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules" / "churnwatch.rules.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "churnwatch.json"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)


def z(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class Prometheus(PrometheusServer):
    """The server, with the shapes of answers these assertions want."""

    def scalar(self, promql: str) -> float | None:
        """The value of a query that yields one series, ``None`` when it yields none."""
        result = self.query(promql)
        assert len(result) <= 1, f"{promql}: {len(result)} series"
        return float(result[0]["value"][1]) if result else None

    def by(self, label: str, promql: str) -> dict[str, float]:
        return {r["metric"].get(label, ""): float(r["value"][1]) for r in self.query(promql)}


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator:
    started: list[Prometheus] = []

    def start(target: str) -> Prometheus:
        server = Prometheus([target], tmp_path / "prometheus", rules=[RULES])
        started.append(server)
        try:
            return server.start()
        except PrometheusError as error:
            pytest.fail(str(error), pytrace=False)

    yield start
    for server in started:
        server.stop()


def login(cid: str, at: datetime, n: int) -> dict:
    return {"type": "login", "event_id": f"{cid}-l{n}", "customer_id": cid, "occurred_at": z(at), "channel": "web"}


def order(cid: str, at: datetime, n: int) -> dict:
    return {"type": "order", "event_id": f"{cid}-o{n}", "customer_id": cid, "occurred_at": z(at),
            "order_id": f"{cid}-{n}", "amount": 40.0 + n, "currency": "EUR", "category": "shoes"}


#: (topic attribute, payload, dead-letter reason)
BAD = [
    ("logins_topic", b"not json at all", "malformed_json"),
    ("logins_topic", b"\xff\xfe\x00", "malformed_json"),
    ("orders_topic", b'{"event_id": "b3", "customer_id": "bad-1", "occurred_at": "2025-01-06T09:00:00Z", '
                     b'"order_id": "o", "amount": -5, "currency": "EUR"}', "schema_violation"),
]


def test_prometheus_scraping_a_worker_sees_exactly_what_the_replay_did(
        settings_factory, start_worker, run_cli, produce, prometheus_for, wait_until, tmp_path):
    metrics_port = free_port()
    settings = settings_factory(metrics_port=metrics_port)
    prom = prometheus_for(f"127.0.0.1:{metrics_port}")
    started_at = time.time()
    worker = start_worker(settings)

    # One customer logs in weekly for 12 weeks and goes quiet; one keeps logging in and ordering.
    rows = [login("quiet-1", T0 + timedelta(days=7 * w), w) for w in range(12)]
    rows += [login("steady-1", T0 + timedelta(days=7 * w), w) for w in range(22)]
    rows += [order("steady-1", T0 + timedelta(days=14 * w, hours=2), w) for w in range(11)]
    advance = T0 + timedelta(days=7 * 21 + 3)
    replay_file = tmp_path / "history.jsonl"
    replay_file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    replayed = run_cli(settings, "replay", str(replay_file), "--advance-to", z(advance))
    assert replayed.returncode == 0, replayed.stderr
    for attribute, payload, _ in BAD:
        produce(settings, getattr(settings, attribute), payload, key="bad-1")

    logins = sum(r["type"] == "login" for r in rows)
    orders = sum(r["type"] == "order" for r in rows)
    ticks = settings.partitions  # --advance-to sends one tick per partition
    expected_consumed = {
        settings.logins_topic: logins + 2,
        settings.orders_topic: orders + 1,
        settings.clock_ticks_topic: ticks,
    }
    total = sum(expected_consumed.values())

    def all_consumed_and_scraped():
        return prom.scalar("sum(churnwatch_events_consumed_total)") == total

    wait_until(all_consumed_and_scraped, 45, interval=0.5,
               message=f"{total} messages counted by the worker and scraped (worker log:\n{worker.log_tail()})")

    # Throughput per topic, applied events, dead letters by reason: exactly the replay's.
    assert prom.by("topic", "sum by (topic) (churnwatch_events_consumed_total) > 0") == expected_consumed
    assert prom.scalar("sum(churnwatch_events_applied_total)") == logins + orders + ticks
    assert prom.by("reason", "sum by (reason) (churnwatch_dead_letters_total) > 0") == {
        "malformed_json": 2, "schema_violation": 1}
    assert prom.scalar(f'sum(churnwatch_dead_letters_total{{topic="{settings.orders_topic}"}})') == 1
    # The counters started at 0 for every known label value, so the other reasons and topics
    # read 0, not nothing, and `increase` counts the first dead letters after the start (a
    # series born at 2 would show an increase of 0).
    assert prom.scalar(f'churnwatch_dead_letters_total{{topic="{settings.page_views_topic}", reason="oversize"}}') == 0
    assert prom.scalar(f'sum(increase(churnwatch_dead_letters_total{{reason="malformed_json"}}[10m]))') > 0
    assert prom.scalar("sum(churnwatch_duplicate_events_total)") in (None, 0.0)

    # Event-time lag: one sample per applied customer event (ticks are not events), all
    # from a replay of 2025, so every one is more than a day behind the wall clock.
    events = logins + orders
    assert prom.scalar("churnwatch_event_time_lag_seconds_count") == events
    assert prom.scalar('churnwatch_event_time_lag_seconds_bucket{le="86400.0"}') == 0
    assert prom.scalar("churnwatch_processing_seconds_count") == total  # every message, tick or event, is timed
    assert prom.scalar("churnwatch_stream_time_seconds") == advance.timestamp()

    # Warnings: the counters agree with what the warnings topic holds.
    emitted = [orjson.loads(r.value) for r in read_topic(settings, settings.warnings_topic, min_count=1, idle=1.5)]
    raised = [w for w in emitted if w["state"] == "raised"]
    assert [w["customer_id"] for w in raised] == ["quiet-1"]
    assert prom.scalar("sum(churnwatch_warnings_total)") == len(emitted)
    assert prom.by("segment", 'sum by (segment) (churnwatch_warnings_total{state="raised"}) > 0') == {
        raised[0]["segment"]: 1}
    assert prom.scalar('sum(churnwatch_warning_signals_total{signal="silence", state="raised"})') == sum(
        1 for w in raised for s in w["signals"] if s["kind"] == "silence")

    # The worker is up, says it is replaying, and Faust's own sensor reports under our prefix.
    assert prom.scalar('up{job="churnwatch"}') == 1
    assert prom.scalar('churnwatch_worker_info{mode="replay"}') == 1
    assert prom.scalar("sum(churnwatch_faust_messages_received_total)") >= total

    # Consumer lag: a series per consumed partition, back to 0 once offsets are committed.
    def lag_settled():
        lag = prom.query(f'churnwatch_consumer_lag_messages{{topic="{settings.logins_topic}"}}')
        return lag and all(float(r["value"][1]) == 0 for r in lag)

    wait_until(lag_settled, 20, interval=0.5, message="consumer lag of the logins topic reported and back to 0")

    # The alert rules load and evaluate cleanly against the real series; none fires.
    rules = [r for g in prom.get("/api/v1/rules")["data"]["groups"] for r in g["rules"]]
    assert len(rules) >= 7
    assert all(r["health"] == "ok" for r in rules), [(r["name"], r.get("lastError")) for r in rules]
    assert prom.query('ALERTS{alertstate="firing"}') == []

    # Every dashboard query runs; the throughput and dead-letter panels have data.
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", ()):
            prom.query(target["expr"].replace("$__rate_interval", "1m").replace("$window", "1h"))
    assert prom.query("sum by (topic) (rate(churnwatch_events_consumed_total[1m]))")
    assert prom.query("sum by (reason) (rate(churnwatch_dead_letters_total[1m]))")

    # What the dashboard would show, drawn from the same server: once every counter has a
    # few scrapes behind it, so the rate panels have something to draw.
    wait_until(lambda: prom.scalar("min(count_over_time(churnwatch_events_consumed_total[1m]))") >= 5, 15,
               interval=0.5, message="five scrapes of every throughput counter")
    report = tmp_path / "dashboard.png"
    panels = {p.title: p for p in write_report(prom, report, started_at, time.time(), step=1.0)}
    assert report.read_bytes().startswith(PNG_SIGNATURE)
    assert len(panels) == len(MAIN_PANELS)
    assert {s.label for s in panels["Events consumed per second"].moved()} == set(expected_consumed)
    assert {s.label for s in panels["Dead letters per second by reason"].moved()} == {"malformed_json",
                                                                                      "schema_violation"}
    assert worker.running()
