"""`churnwatch demo` (what `make run` runs): the whole pipeline on the embedded broker.

1. start the embedded broker and create the topics;
2. simulate a small population with known outcomes (steady buyers, drifters, silent
   leavers, complainers, trade-downs, competitor-lured customers...);
3. start a worker, replay the history at accelerated event time and show warnings live;
4. move event time to the end of the period, take a snapshot, score the warnings against
   the ground truth, print a summary;
5. stop everything it started.

Everything it writes goes to `--out` (default `out/demo`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

from streams.broker import EmbeddedBroker, ensure_topics, free_port
from streams.settings import Settings


def _say(text: str = "") -> None:
    print(text, flush=True)


def run_demo(base: Settings, out_dir: Path, *, customers: int, days: int, seed: int, replay_seconds: float) -> int:
    from streams import evaluate as ev, worklist
    from streams.replay import advance_event_time, load_replay_lines, publish, read_lines
    from streams.simulate import write_simulation
    from streams.snapshot import write_snapshot
    from streams.tail import follow
    from streams.truth import read_truth_csv

    out_dir.mkdir(parents=True, exist_ok=True)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    end = start + timedelta(days=days)
    events_path, truth_path = out_dir / "events.jsonl", out_dir / "truth.csv"
    _say(f"1/5 simulating {customers} customers over {days} days (seed {seed}) ...")
    stats = write_simulation(events_path, truth_path, customers, start, days, seed)
    _say(f"    {stats.events} events -> {events_path}")

    broker = EmbeddedBroker(log_path=out_dir / "broker.log").start()
    worker = None
    try:
        settings = base.with_overrides(
            broker=broker.address, app_id=f"churnwatch-demo-{seed}", web_port=free_port(),
            metrics_port=free_port(), session_timeout_seconds=10, rebalance_timeout_seconds=10,
            heartbeat_interval_seconds=1,
        )
        ensure_topics(settings)
        _say(f"2/5 embedded broker on {broker.address}; topics created ({settings.partitions} partitions)")
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("CHURNWATCH_")}, **settings.to_env()}
        log = open(out_dir / "worker.log", "wb")
        worker = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker"], env=env,
                                  stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _say(f"3/5 worker started (log: {out_dir / 'worker.log'}, metrics: "
             f"http://{settings.metrics_host}:{settings.metrics_port}/metrics); live warnings at levels >= "
             f"{settings.publish_min_level} (each partition keeps its own event-time order; between partitions "
             f"they interleave):")

        shown = {"n": 0}

        def show(line: str) -> None:
            shown["n"] += 1
            if shown["n"] <= 40 or shown["n"] % 25 == 0:
                _say("    " + line)

        prom = _start_prometheus(settings, out_dir)
        report_from = time.time()

        tailer = threading.Thread(target=follow, args=(settings, show),
                                  kwargs={"from_beginning": True, "idle_timeout": None}, daemon=True)
        tailer.start()

        loaded = load_replay_lines(read_lines(events_path), settings)
        rate = max(200.0, len(loaded.records) / replay_seconds)
        result = publish(settings, loaded.records, rate=rate)
        advance_event_time(settings, end)
        per_topic = ", ".join(f"{topic} {count:,}" for topic, count in sorted(result.published.items()))
        _say(f"4/5 replayed {sum(result.published.values()):,} events ({per_topic}) in {result.seconds:.1f} s "
             f"(~{timedelta(days=days) / timedelta(seconds=max(result.seconds, 1e-3)):.0f}x real time); "
             f"event time moved to {end:%Y-%m-%d}")

        snap_path = out_dir / "snapshot.jsonl"
        write_snapshot(settings, str(snap_path), timeout=180)
        time.sleep(2.0)  # let the last warnings reach the topic
        warnings = [orjson.loads(v) for v in _all_values(settings, settings.warnings_topic)]
        (out_dir / "warnings.jsonl").write_bytes(b"".join(orjson.dumps(w) + b"\n" for w in warnings))
        dead = len(_all_values(settings, settings.dead_letters_topic))
        if shown["n"] > 40:
            _say(f"    ... {shown['n']} warnings in all (every 25th shown after the first 40)")

        snapshot_rows = [orjson.loads(line) for line in snap_path.read_bytes().splitlines()]
        truth = read_truth_csv(truth_path)
        report = ev.evaluate(warnings, truth, snapshot=snapshot_rows, period_start=start, period_end=end)
        ev.compare_baselines(report, events_path, truth, snapshot_rows)   # the same customers under rules of thumb
        (out_dir / "evaluation.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2, default=str))
        _say("5/5 summary")
        log.flush()
        errors = sum(1 for line in (out_dir / "worker.log").read_bytes().splitlines() if b"ERROR" in line)
        _say(f"    warnings emitted: {len(warnings)}  dead letters: {dead}  customers tracked: {len(snapshot_rows)}  "
             f"errors in worker.log: {errors}")
        _say(ev.format_report(report))
        _say(f"\n    operating point: CHURNWATCH_FALSE_ALARM_SCALE={settings.false_alarm_scale:g} (the statistical "
             "signals' false-alarm budget: above 1 reaches more leavers, sooner, for more false warnings; below 1 "
             "fewer and later; try `CHURNWATCH_FALSE_ALARM_SCALE=4 make run`; docs/quality.md, \"One setting for "
             "the alarm budget\", measures 0.25 to 16)")
        ranked = worklist.rank(snapshot_rows)
        _say(f"\n    who to call first ({len(ranked)} open warnings at level >= warning, core customers first; "
             f"`churnwatch worklist {snap_path}` lists them all):")
        _say("\n".join("    " + line for line in worklist.format_worklist(ranked, top=5).splitlines()))
        if prom is not None:
            from streams.dashboard_report import REPLAY_PANELS, write_report

            time.sleep(3.0)  # two more scrapes after the last warning
            png = out_dir / "dashboard.png"
            try:
                # a simulated past year: its event-time lag is the time since that year
                write_report(prom, png, report_from, time.time(), step=2.0, titles=REPLAY_PANELS,
                             title="Churnwatch dashboard, make run: a simulated year replayed in seconds, so "
                                   "rates are per second (or hour) of the replay's wall-clock time")
                _say(f"    dashboard panels as Prometheus saw them: {png}")
            except Exception as err:  # the report is a view; the demo's result stands without it
                _say(f"    (dashboard report not written: {err})")
            finally:
                prom.stop()
        _say(f"\nFiles: {out_dir}/ (events.jsonl, truth.csv, warnings.jsonl, snapshot.jsonl, evaluation.json, "
             "dashboard.png, worker.log, broker.log, prometheus/)")
        return 0
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
        broker.stop()


def _start_prometheus(settings: Settings, out_dir: Path):
    """A Prometheus server scraping the demo worker, when Debian's `prometheus` is installed."""
    import shutil

    if shutil.which("prometheus") is None:
        _say("    (Prometheus is not installed: no dashboard report; `make prometheus` installs it)")
        return None
    from streams.dashboard_report import PrometheusServer

    rules = sorted((Path(__file__).resolve().parents[1] / "deploy" / "prometheus" / "rules").glob("*.yml"))
    work = out_dir / "prometheus"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        return PrometheusServer([f"{settings.metrics_host}:{settings.metrics_port}"], work, rules=rules,
                                interval="2s").start()
    except Exception as err:
        _say(f"    (Prometheus did not start: {err}; no dashboard report)")
        return None


def _all_values(settings: Settings, topic: str) -> list[bytes]:
    from kafka import TopicPartition

    from streams.kafka_clients import consumer

    reader = consumer(settings)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic) or [])]
        reader.assign(parts)
        reader.seek_to_beginning(*parts)
        values: list[bytes] = []
        last = time.monotonic()
        while time.monotonic() - last < 1.5:
            for recs in reader.poll(timeout_ms=200).values():
                values.extend(r.value for r in recs)
                last = time.monotonic()
        return values
    finally:
        reader.close()
