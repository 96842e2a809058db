"""`make bench`: how fast Churnwatch is on this machine, on the embedded broker.

``python -m streams.bench [--quick] [--runs N] [--only a,b,...] [--out docs/benchmarks.md]``

Every run starts a fresh embedded broker and measures, one after the other so the ratios
of one run hold on a noisy machine:

a. **ceiling**: a Faust app that only counts (`streams.bench_procs.count_app`), same topics
   and Faust settings as the worker, on a pre-filled topic set; events/s.
b. **pipeline**: a real ``churnwatch worker`` on the same pre-filled topics (a simulated
   population, one year; published with `streams.replay.publish` before it starts); events/s
   from the first consumed event to the last (``churnwatch_events_consumed_total`` polled
   on its metrics endpoint), with its CPU share.
c. **b / a**.
d. **produce-to-warning latency** at a steady rate (500 events/s): live-like events stamped
   with the wall clock for a background population, and probe customers
   (`streams.bench_stats.latency_probe`) whose trigger order raises a warning at once;
   wall time from producing the trigger to the warning arriving at a consumer, p50/p99,
   and the part up to the worker emitting it (the warning's ``emitted_at``). The same load
   through the count-only app, which forwards the probe messages to the warnings topic,
   gives the floor: what Faust and the broker alone take.
e. **memory per customer**: RSS growth of a process holding N state records as the worker's
   table does (and with the processor's indexes), and the size of a state record on the
   changelog, from the population of (b) after its year.
f. **replay**: a worker running, ``churnwatch replay FILE --advance-to END`` of a
   100,000-event file; wall time from the start of the replay until the group has committed
   everything and the last warning has arrived.
g. **bootstrap**: ``streams.bootstrap.bootstrap`` of a simulated year into a fresh app id:
   events/s of the bulk run (CPU seconds of the one process) and the produce time.

The figures go between the markers ``<!-- bench:begin -->`` and ``<!-- bench:end -->`` of
the output file (created when missing), so the analysis written around them stays; raw
figures and logs go to ``out/bench/``. Only a full run updates docs/benchmarks.md by default;
``--quick`` and ``--only`` some figures write to ``out/bench/`` (`default_report`).
``make test`` does not run this.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path

import orjson
from kafka import KafkaConsumer, TopicPartition

from streams.bench_procs import COUNTED, Child, memory_probe, poll_counter, run_count_worker, scrape
from streams.bench_report import QUICK, RunFigures, Sizes, load_average, machine, render, write_report
from streams.bench_stats import latency_probe, percentile, rfc3339, throughput
from streams.broker import EmbeddedBroker, changelog_topic_names, ensure_topics, free_port
from streams.kafka_clients import producer
from streams.replay import ReplayFile, load_replay_lines, publish, read_lines
from streams.settings import Settings

FIGURES = "abcdefg"
SIM_START = "2024-01-01"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- set-up ----------------------------------------------------------------------------------


class Workspace:
    """Where one bench keeps its files, and the simulated inputs (made once, reused by every run)."""

    def __init__(self, root: Path, sizes: Sizes) -> None:
        from streams.simulate import write_simulation

        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.sizes = sizes
        self.pipeline_file = root / "pipeline.jsonl"
        write_simulation(self.pipeline_file, root / "pipeline-truth.csv", sizes.pipeline_customers, SIM_START,
                         365, seed=21)
        self.bootstrap_file = root / "bootstrap.jsonl"
        write_simulation(self.bootstrap_file, root / "bootstrap-truth.csv", sizes.bootstrap_customers, SIM_START,
                         365, seed=23)
        # ~99 events per simulated customer-year; cut to exactly the wanted count (the file
        # is in event-time order, so the cut ends the year a little early).
        self.replay_file = root / "replay.jsonl"
        full = root / "replay-full.jsonl"
        write_simulation(full, root / "replay-truth.csv", max(10, sizes.replay_events // 90), SIM_START, 365,
                         seed=22)
        with open(full, "rb") as src, open(self.replay_file, "wb") as dst:
            for i, line in enumerate(src):
                if i >= sizes.replay_events:
                    break
                dst.write(line)
        full.unlink()
        self.replay_end = max(orjson.loads(line)["occurred_at"] for line in open(self.replay_file, "rb"))

    def settings(self, broker: EmbeddedBroker, name: str) -> Settings:
        """Settings of one figure of one run: own topics, app id, ports and data dir."""
        return Settings(
            broker=broker.address, app_id=f"bench-{name}", topic_prefix=f"{name}.",
            partitions=self.sizes.partitions,
            # Short group timeouts: a worker joins in seconds instead of ~33 s (seen on the embedded broker).
            session_timeout_seconds=8, rebalance_timeout_seconds=8, heartbeat_interval_seconds=1,
            web_port=free_port(), metrics_port=free_port(), data_dir=self.root / "data" / name,
            shutdown_timeout_seconds=10,
        )


def start_worker(settings: Settings, log_path: Path) -> Child:
    worker = Child.python(settings, ["streams.cli", "worker"], log_path)
    worker.wait_for_log("Worker ready", timeout=120)
    return worker


# --- (a)(b)(e) ---------------------------------------------------------------------------------


def measure_pipeline(ws: Workspace, broker: EmbeddedBroker, run: int, fig: RunFigures, only: str) -> None:
    s = ws.settings(broker, f"r{run}-pipeline")
    ensure_topics(s)
    records = load_replay_lines(read_lines(ws.pipeline_file), s).records
    publish(s, records)
    topics = s.customer_topics
    total = sum(1 for r in records if r.topic in topics)
    fig.pipeline_events = total
    log(f"run {run}: {total} events on {len(topics)} topics x {s.partitions} partitions")

    if "a" in only:
        cs = s.with_overrides(app_id=f"{s.app_id}-count", web_port=free_port(), metrics_port=free_port())
        counter = Child.python(cs, ["streams.bench", "count-worker"], ws.root / f"r{run}-count.log")
        try:
            samples, cpu = poll_counter(counter, cs.metrics_port, COUNTED, topics, total, timeout=600)
        finally:
            counter.stop()
        fig.ceiling_eps, fig.ceiling_cpu = throughput(samples, total).per_second, cpu
        log(f"run {run}: (a) count-only {fig.ceiling_eps:,.0f} events/s at {cpu:.0%} CPU")

    if "b" in only or "e" in only:
        worker = Child.python(s, ["streams.cli", "worker"], ws.root / f"r{run}-pipeline.log")
        try:
            samples, cpu = poll_counter(worker, s.metrics_port, "churnwatch_events_consumed_total", topics, total,
                                        timeout=3600)
            fig.worker_rss = worker.rss_bytes()
            fig.worker_rss_mib = fig.worker_rss / 2**20
            # Mean time in the processor per message (the worker's own histogram, around
            # `Processor.handle`): the rest of a message's cost is Faust, tables, sends, metrics.
            seconds = scrape(s.metrics_port, "churnwatch_processing_seconds_sum")
            count = scrape(s.metrics_port, "churnwatch_processing_seconds_count")
            if seconds and count:
                fig.processing_us = 1e6 * seconds / count
        finally:
            worker.stop()
        fig.pipeline_eps, fig.pipeline_cpu = throughput(samples, total).per_second, cpu
        log(f"run {run}: (b) pipeline {fig.pipeline_eps:,.0f} events/s at {cpu:.0%} CPU; "
            f"{fig.processing_us or 0:,.0f} µs per message in the processor")

    if "e" in only:
        measure_memory(ws, s, run, fig)


def measure_memory(ws: Workspace, s: Settings, run: int, fig: RunFigures) -> None:
    from streams.snapshot import read_changelog

    states = list(read_changelog(s, changelog_topic_names(s)[0]).values())
    sizes = [len(v) for v in states]
    fig.record_p50, fig.record_p90, fig.record_max = percentile(sizes, 50), percentile(sizes, 90), max(sizes)
    sample = ws.root / f"r{run}-states.bin"
    sample.write_bytes(b"\n".join(states) + b"\n")
    n = ws.sizes.memory_customers
    out = subprocess.run([sys.executable, "-m", "streams.bench", "memory-probe", str(sample), str(n),
                          str(s.partitions)], capture_output=True, text=True, timeout=1800, check=True)
    probe = json.loads(out.stdout)
    fig.table_bytes_per_customer = (probe["rss_table"] - probe["rss_before"]) / n
    fig.indexed_bytes_per_customer = (probe["rss_indexed"] - probe["rss_before"]) / n
    fig.table_live_per_customer = probe["live_table"] / n
    fig.index_live_per_customer = probe["live_indexes"] / n
    fig.index_live_marginal = probe["live_index_per_customer"]
    fig.index_live_fixed_mib = probe["live_index_fixed"] / 2**20
    log(f"run {run}: (e) {len(states)} states, record p50 {fig.record_p50:,.0f} B p90 {fig.record_p90:,.0f} B; "
        f"RSS {fig.table_bytes_per_customer:,.0f} B/customer with the table, {fig.indexed_bytes_per_customer:,.0f} "
        f"with the processor's indexes (live objects: {fig.table_live_per_customer:,.0f} + "
        f"{fig.index_live_per_customer:,.0f} B; indexes {fig.index_live_marginal:,.0f} B per further customer "
        f"and {fig.index_live_fixed_mib:,.1f} MiB fixed)")


# --- (d) -------------------------------------------------------------------------------------


class WarningWatcher(threading.Thread):
    """Reads the warnings topic from its current end and notes when each warning arrives."""

    def __init__(self, settings: Settings, wanted: set[bytes] | None = None) -> None:
        super().__init__(daemon=True)
        self.wanted = wanted
        self.arrivals: list[tuple[float, bytes, dict]] = []
        self.stopping = threading.Event()
        self.ready = threading.Event()
        self.consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id=None,
                                      enable_auto_commit=False, fetch_max_wait_ms=5)
        parts = [TopicPartition(settings.warnings_topic, p) for p in range(settings.partitions)]
        self.consumer.assign(parts)
        self.consumer.seek_to_end(*parts)
        for tp in parts:
            self.consumer.position(tp)  # resolve "end" now, before anything is produced

    def run(self) -> None:
        try:
            self.ready.set()
            while not self.stopping.is_set():
                for records in self.consumer.poll(timeout_ms=50).values():
                    now = time.monotonic()
                    for r in records:
                        if self.wanted is None or r.key in self.wanted:
                            self.arrivals.append((now, r.key, orjson.loads(r.value)))
        finally:
            self.consumer.close()

    def last_arrival(self) -> float | None:
        return self.arrivals[-1][0] if self.arrivals else None


def background_events(ws: Workspace, run: int) -> list[dict]:
    """Realistic event mix for the latency load: the pipeline population's events, re-keyed."""
    out = []
    for line in open(ws.pipeline_file, "rb"):
        event = orjson.loads(line)
        if event["type"] == "market_event":
            continue
        event["customer_id"] = f"bg{run}-{event['customer_id']}"
        out.append(event)
    return out


def measure_latency(ws: Workspace, broker: EmbeddedBroker, run: int, fig: RunFigures, *, floor: bool) -> None:
    """(d) through a real worker, or (`floor`) through the count-only app forwarding the probes."""
    name = f"r{run}-latency-floor" if floor else f"r{run}-latency"
    s = ws.settings(broker, name)
    ensure_topics(s)
    sz = ws.sizes
    if floor:
        worker = Child.python(s, ["streams.bench", "count-worker"], ws.root / f"{name}.log")
        worker.wait_for_log("Worker ready", timeout=120)
        metric = COUNTED
    else:
        worker = start_worker(s, ws.root / f"{name}.log")
        metric = "churnwatch_events_consumed_total"
    client = producer(s, batch_size=16384, linger_seconds=0)
    try:
        now = int(time.time())
        probes = [f"probe{run}-{i:03d}" for i in range(sz.latency_probes)]
        history = sorted((e for p in probes for e in latency_probe(p, now)[0]), key=lambda e: e["occurred_at"])
        for event in history:
            _send(client, s, event)
        client.flush()
        # The probes' history is applied before the measured load starts.
        poll_counter(worker, s.metrics_port, metric, s.customer_topics, len(history), timeout=300)
        watcher = WarningWatcher(s, {p.encode() for p in probes})
        watcher.start()
        watcher.ready.wait(10)
        background = background_events(ws, run)
        warmup = 3.0
        slots = int((warmup + sz.latency_seconds) * sz.latency_rate)
        # Probe triggers replace evenly spaced background slots inside the measured window.
        first = int(warmup * sz.latency_rate)
        step = (slots - first) / sz.latency_probes
        trigger_slot = {first + int((i + 0.5) * step): probes[i] for i in range(sz.latency_probes)}
        sent: dict[bytes, float] = {}
        sent_wall: dict[bytes, float] = {}
        start = time.monotonic()
        cpu_start = worker.cpu_seconds()
        for i in range(slots):
            delay = start + i / sz.latency_rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            wall = time.time()
            if i in trigger_slot:
                cid = trigger_slot[i]
                trigger = latency_probe(cid, int(wall))[1]
                sent[cid.encode()], sent_wall[cid.encode()] = time.monotonic(), time.time()
                _send(client, s, trigger)
            else:
                event = dict(background[i % len(background)], occurred_at=rfc3339(wall), event_id=f"r{run}-bg-{i}")
                _send(client, s, event)
        client.flush()
        elapsed = time.monotonic() - start
        rate, cpu = slots / elapsed, (worker.cpu_seconds() - cpu_start) / elapsed
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len({k for _, k, _ in watcher.arrivals}) < len(sent):
            time.sleep(0.2)
        watcher.stopping.set()
        watcher.join(5)
    finally:
        client.close(timeout=5)
        worker.stop()
    arrived: dict[bytes, float] = {}
    emitted: dict[bytes, float] = {}
    for at, key, message in watcher.arrivals:
        # The first arrival after the trigger (the floor also forwards the probes' history).
        if key in sent and key not in arrived and at >= sent[key]:
            arrived[key] = at
            if "emitted_at" in message:
                emitted[key] = datetime.fromisoformat(message["emitted_at"].replace("Z", "+00:00")).timestamp()
    latencies = [arrived[k] - t for k, t in sent.items() if k in arrived]
    if not latencies:
        fig.notes.append(f"run {run}: no probe {'message' if floor else 'warning'} arrived in {name}")
        return
    p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
    if floor:
        fig.floor_p50, fig.floor_p99, fig.floor_cpu = p50, p99, cpu
        log(f"run {run}: (d) floor, a Faust agent forwarding the probes at {rate:,.0f} events/s: p50 {p50:,.0f} ms, "
            f"p99 {p99:,.0f} ms; its CPU {cpu:.0%}")
        return
    fig.latency_p50, fig.latency_p99, fig.latency_rate, fig.latency_cpu = p50, p99, rate, cpu
    fig.latency_samples, fig.latency_missing = len(latencies), len(sent) - len(latencies)
    # Where the time goes: produce -> the worker emits the warning (its wall clock, same host),
    # then the warning's way out (worker producer, broker, this consumer).
    to_emit = [emitted[k] - sent_wall[k] for k in sent if k in emitted]
    if to_emit:
        fig.latency_to_emit_p50 = percentile(to_emit, 50) * 1000
        fig.latency_to_emit_p99 = percentile(to_emit, 99) * 1000
    log(f"run {run}: (d) {len(latencies)} warnings ({fig.latency_missing} missing) at {rate:,.0f} events/s: "
        f"p50 {p50:,.0f} ms, p99 {p99:,.0f} ms (produce to the worker emitting it: {fig.latency_to_emit_p50:,.0f} / "
        f"{fig.latency_to_emit_p99:,.0f} ms); worker CPU {cpu:.0%}")


def _send(client, s: Settings, event: dict) -> None:
    body = {k: v for k, v in event.items() if k != "type"}
    client.send(s.topic_for_event_type(event["type"]), key=event["customer_id"].encode(), value=orjson.dumps(body))


# --- (f) -------------------------------------------------------------------------------------


def measure_replay(ws: Workspace, broker: EmbeddedBroker, run: int, fig: RunFigures, workers: int = 1) -> None:
    """(f): one worker, or `workers` in one group (one per core), each started and holding its
    share of the partitions before the replay starts."""
    from streams.snapshot import wait_until_processed

    name = f"r{run}-replay" if workers == 1 else f"r{run}-replay-{workers}w"
    s = ws.settings(broker, name)
    ensure_topics(s)
    procs = [start_worker(s, ws.root / f"{name}.log")]
    watcher = WarningWatcher(s)
    try:
        for i in range(1, workers):
            procs.append(start_worker(s.with_overrides(web_port=free_port(), metrics_port=free_port()),
                                      ws.root / f"{name}-{i}.log"))
        if workers > 1:
            _wait_for_split(procs, s.logins_topic, workers, s.partitions)
        watcher.start()
        watcher.ready.wait(10)
        start = time.monotonic()
        replay = Child.python(s, ["streams.cli", "replay", str(ws.replay_file), "--advance-to", ws.replay_end],
                              ws.root / f"{name}-cli.log")
        if replay.process.wait(3600) != 0:
            raise RuntimeError(f"churnwatch replay failed:\n{replay.log_tail()}")
        publish_seconds = time.monotonic() - start
        wait_until_processed(s, timeout=3600)
        committed = time.monotonic()
        # The last warnings are sent before the offsets that produced them are committed;
        # allow a moment for them to arrive, then take the latest arrival.
        time.sleep(2.0)
        seconds = max(committed, watcher.last_arrival() or committed) - start
    finally:
        watcher.stopping.set()
        watcher.join(5)
        for proc in procs:
            proc.stop()
    if workers == 1:
        fig.replay_seconds, fig.replay_publish_seconds = seconds, publish_seconds
        fig.replay_events = ws.sizes.replay_events
        fig.replay_warnings = len(watcher.arrivals)
    else:
        fig.replay_parallel_seconds, fig.replay_workers = seconds, workers
        fig.replay_parallel_warnings = len(watcher.arrivals)
    log(f"run {run}: (f) replay of {ws.sizes.replay_events} events, {workers} worker(s): {seconds:.1f} s "
        f"(published in {publish_seconds:.1f} s), {len(watcher.arrivals)} warnings")


def measure_replay_bulk(ws: Workspace, broker: EmbeddedBroker, run: int, fig: RunFigures) -> None:
    """(f) through the bulk path: `churnwatch bootstrap --warnings all --processes 0` of the same
    file on a fresh app id, from the command's start to its exit and the last warning's arrival
    (a consumer of the warnings topic sees the same steps a streaming worker publishes)."""
    name = f"r{run}-replay-bulk"
    s = ws.settings(broker, name)
    ensure_topics(s)
    watcher = WarningWatcher(s)
    try:
        watcher.start()
        watcher.ready.wait(10)
        start = time.monotonic()
        boot = Child.python(s, ["streams.cli", "bootstrap", str(ws.replay_file), "--advance-to", ws.replay_end,
                                "--processes", "0", "--warnings", "all"], ws.root / f"{name}-cli.log")
        if boot.process.wait(3600) != 0:
            raise RuntimeError(f"churnwatch bootstrap failed:\n{boot.log_tail()}")
        done = time.monotonic()
        time.sleep(2.0)   # the consumer's last fetch
        seconds = max(done, watcher.last_arrival() or done) - start
    finally:
        watcher.stopping.set()
        watcher.join(5)
    fig.replay_bulk_seconds, fig.replay_bulk_warnings = seconds, len(watcher.arrivals)
    log(f"run {run}: (f) the same through the bulk path (bootstrap --warnings all): {seconds:.1f} s, "
        f"{len(watcher.arrivals)} warnings")


def _assigned(log_path: Path, topic: str) -> str | None:
    """The partitions of `topic` in a worker's latest assignment (Faust logs it as a table)."""
    block = log_path.read_text(errors="replace").rsplit("Setting newly assigned partitions", 1)
    if len(block) < 2:
        return None
    found = re.search(rf"\| {re.escape(topic)}\s+\| (\{{[^}}]*\}})", block[1].split("for group")[0])
    return found.group(1) if found else None


def _partitions(text: str | None) -> set[int]:
    """Partition numbers of Faust's assignment notation: "{0-1}", "{0,2}", "{3}".

    >>> sorted(_partitions("{0-2,5}")), _partitions(None)
    ([0, 1, 2, 5], set())
    """
    out: set[int] = set()
    for part in (text or "").strip("{}").split(","):
        if "-" in part:
            a, b = part.split("-")
            out.update(range(int(a), int(b) + 1))
        elif part.strip():
            out.add(int(part))
    return out


def _wait_for_split(procs: list[Child], topic: str, workers: int, partitions: int, timeout: float = 120) -> None:
    """Until the workers' latest assignments of `topic` are disjoint, none empty, and cover it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = [_assigned(p.log_path, topic) for p in procs]
        sets = [_partitions(h) for h in held]
        if (all(sets) and sum(map(len, sets)) == partitions
                and set().union(*sets) == set(range(partitions))):
            log(f"(f) the {workers} workers hold {', '.join(held)} of {topic}")
            return
        time.sleep(0.5)
    raise RuntimeError(f"the {workers} workers did not split the partitions of {topic} within {timeout:g} s")


# --- (g) -------------------------------------------------------------------------------------


def measure_bootstrap(ws: Workspace, broker: EmbeddedBroker, run: int, fig: RunFigures) -> None:
    from streams.bootstrap import bootstrap

    s = ws.settings(broker, f"r{run}-bootstrap")
    ensure_topics(s)
    result = bootstrap(s, ReplayFile(ws.bootstrap_file))
    fig.bootstrap_events = result.events
    fig.bootstrap_eps = result.events_per_second
    fig.bootstrap_cpu_eps = result.events / result.process_cpu_seconds
    fig.bootstrap_produce_seconds = result.produce_seconds
    log(f"run {run}: (g) bootstrap {result.events} events at {fig.bootstrap_eps:,.0f} events/s "
        f"({fig.bootstrap_cpu_eps:,.0f} per CPU second); {result.customers} states produced in "
        f"{result.produce_seconds:.1f} s")
    # The same file with the partitions spread over one process per core (--processes 0).
    s = ws.settings(broker, f"r{run}-bootstrap-parallel")
    ensure_topics(s)
    result = bootstrap(s, ReplayFile(ws.bootstrap_file), processes=0)
    fig.bootstrap_parallel_eps = result.events_per_second
    fig.bootstrap_processes = min(os.cpu_count() or 1, s.partitions)
    log(f"run {run}: (g) bootstrap in {fig.bootstrap_processes} processes: {fig.bootstrap_parallel_eps:,.0f} events/s")


# --- entry point -------------------------------------------------------------------------------


def run_bench(sizes: Sizes, only: str, out: Path, workdir: Path, command: str) -> list[RunFigures]:
    started, t0 = datetime.now(timezone.utc), time.monotonic()
    info = machine()
    log(f"{info['nproc']} cores, {info['cpu']}; load {load_average()}; preparing inputs in {workdir}")
    ws = Workspace(workdir, sizes)
    figs: list[RunFigures] = []
    for run in range(1, sizes.runs + 1):
        fig = RunFigures(run=run, load_before=load_average())
        log(f"run {run}/{sizes.runs}: load average {fig.load_before}")
        with EmbeddedBroker(log_path=workdir / f"r{run}-broker.log") as broker:
            if set(only) & set("abe"):
                measure_pipeline(ws, broker, run, fig, only)
            if "d" in only:
                measure_latency(ws, broker, run, fig, floor=True)
                measure_latency(ws, broker, run, fig, floor=False)
            if "f" in only:
                measure_replay(ws, broker, run, fig)
                measure_replay(ws, broker, run, fig, workers=min(os.cpu_count() or 1, sizes.partitions))
                measure_replay_bulk(ws, broker, run, fig)
            if "g" in only:
                measure_bootstrap(ws, broker, run, fig)
        load_after = load_average()
        if load_after[0] > fig.load_before[0] + 1.5:
            fig.notes.append(f"run {run}: load average rose from {fig.load_before[0]:g} to {load_after[0]:g} "
                             "during the run")
        figs.append(fig)
        (workdir / "results.json").write_text(json.dumps(
            {"sizes": asdict(sizes), "machine": info, "runs": [asdict(f) for f in figs]}, indent=1))
    write_report(out, render(figs, sizes, info, command, started, time.monotonic() - t0))
    log(f"done in {(time.monotonic() - t0) / 60:.1f} min; figures in {out}")
    return figs


def default_report(quick: bool, only: str) -> Path:
    """Where a run's figures go without `--out`: docs/benchmarks.md for a full run only, so a
    smoke test or a run of some figures never replaces the figures of the last full one.

    >>> default_report(False, FIGURES), default_report(True, FIGURES), default_report(False, "ab")
    (PosixPath('docs/benchmarks.md'), PosixPath('out/bench/quick.md'), PosixPath('out/bench/partial.md'))
    """
    if quick:
        return Path("out/bench/quick.md")
    if set(only) - {","} != set(FIGURES):
        return Path("out/bench/partial.md")
    return Path("docs/benchmarks.md")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["count-worker"]:
        run_count_worker(Settings.from_env())
        return 0
    if argv[:1] == ["memory-probe"]:
        print(json.dumps(memory_probe(Path(argv[1]), int(argv[2]), int(argv[3]))))
        return 0
    parser = argparse.ArgumentParser(prog="python -m streams.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and one run: a smoke test (~2 min)")
    parser.add_argument("--runs", type=int, help="runs of every figure [default: 3; 1 with --quick]")
    parser.add_argument("--only", default=FIGURES, help=f"figures to measure, e.g. ab [default: {FIGURES}]")
    parser.add_argument("--out", type=Path, default=None,
                        help="report to update [default: docs/benchmarks.md for a full run; out/bench/quick.md "
                             "with --quick, out/bench/partial.md with --only some figures]")
    parser.add_argument("--workdir", type=Path, default=Path("out/bench"), help="inputs, logs, raw figures")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    if args.runs:
        sizes = replace(sizes, runs=args.runs)
    unknown = set(args.only) - set(FIGURES) - {","}
    if unknown:
        parser.error(f"--only: unknown figures {''.join(sorted(unknown))}; expected letters of {FIGURES}")
    out = args.out or default_report(args.quick, args.only)
    command = "python -m streams.bench " + " ".join(argv) if argv else "make bench"
    run_bench(sizes, args.only, out, args.workdir, command.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
