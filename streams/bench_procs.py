"""Processes of `make bench` (`streams.bench`): workers, the count-only Faust app, the memory probe.

* :class:`Child`: a process the bench starts (a `churnwatch worker`, the count-only app,
  the memory probe), with its log, CPU time and RSS read from ``/proc``.
* :func:`count_app`: the ceiling. A Faust app on the same topics with the same Faust
  settings as the worker (`streams.app.create_app`), whose one agent only counts what it
  reads, on a Prometheus counter so the bench reads it the way it reads the worker; and
  forwards the latency probe's messages (keys starting with ``probe``) to the warnings
  topic unchanged, the floor of the produce-to-warning latency.
* :func:`memory_probe`: RSS of a process holding N customer state records as the
  worker's `customers` table does (bytes keys and values in a dict), then with the
  processor's in-memory indexes over them (due heap, population).

``python -m streams.bench count-worker`` and ``python -m streams.bench memory-probe`` run the
last two in a process of their own.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

from prometheus_client.parser import text_string_to_metric_families

from streams.settings import Settings

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
COUNTED = "churnwatch_bench_events_counted_total"


class Child:
    """A child process with its output in a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT)

    @classmethod
    def python(cls, settings: Settings, module_args: list[str], log_path: Path) -> Child:
        """``python -m ...`` with `settings` as its CHURNWATCH_* environment (and nothing else of ours)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNWATCH_")}
        env.update(settings.to_env())
        env["PYTHONUNBUFFERED"] = "1"
        return cls([sys.executable, "-m", *module_args], env, log_path)

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(errors="replace").splitlines() if self.log_path.exists() else []
        return "\n".join(text[-lines:])

    def wait_for_log(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log_path.read_text(errors="replace"):
            if not self.running():
                raise RuntimeError(f"{self.log_path.name}: exited ({self.process.returncode}) before {text!r}:\n"
                                   f"{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.log_path.name}: no {text!r} within {timeout:g} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (not its children)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK

    def rss_bytes(self) -> int:
        return rss_bytes(self.process.pid)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def scrape(port: int, metric: str, topics: tuple[str, ...] | None = None) -> float | None:
    """Sum of a sample (a counter, a histogram's ``_sum`` or ``_count``) over its label sets, only
    the given `topic` labels when set; None when the endpoint does not answer."""
    try:
        with urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except (URLError, OSError):
        return None
    total = 0.0
    for family in text_string_to_metric_families(text):
        if not metric.startswith(family.name):
            continue
        for sample in family.samples:
            if sample.name == metric and (topics is None or sample.labels.get("topic") in topics):
                total += sample.value
    return total


def poll_counter(child: Child, port: int, metric: str, topics: tuple[str, ...], total: int, *,
                 timeout: float, interval: float = 0.25) -> tuple[list[tuple[float, float]], float]:
    """Poll `metric` until it reaches `total`: the ``(time, count)`` samples and the child's CPU
    share (CPU seconds over wall seconds) from its first counted event to the end."""
    samples: list[tuple[float, float]] = []
    deadline = time.monotonic() + timeout
    cpu_first = t_first = None
    while True:
        value = scrape(port, metric, topics)
        now = time.monotonic()
        if value is not None:
            samples.append((now, value))
            if value > 0 and cpu_first is None:
                cpu_first, t_first = child.cpu_seconds(), now
            if value >= total:
                share = (child.cpu_seconds() - cpu_first) / (now - t_first) if now > t_first else float("nan")
                return samples, share
        if not child.running():
            raise RuntimeError(f"{child.log_path.name} exited ({child.process.returncode}):\n{child.log_tail()}")
        if now > deadline:
            raise RuntimeError(f"{metric} reached {value} of {total} within {timeout:g} s; log {child.log_path}")
        time.sleep(interval)


# --- the count-only app ---------------------------------------------------------------------


def count_app(settings: Settings):
    """A Faust app on the worker's input topics whose agent only counts (the ceiling).

    Faust settings as `streams.app.create_app` sets them for these `settings` (broker,
    timeouts, producer batch and linger, memory store, raw bytes, `stream_wait_empty`),
    under the settings' own app id. No table, no sends, no Faust Prometheus sensor, and
    Faust's automatic acknowledgement: the least a Faust agent can do per event. Messages
    keyed ``probe...`` (only the latency figure sends them) are forwarded to the warnings topic.
    """
    import faust
    from prometheus_client import CollectorRegistry, Counter

    from streams.app import faust_settings, fetch_max_wait

    app = faust.App(settings.app_id, **faust_settings(settings), store="memory://", web_tables_enabled=False)
    # The worker's consumer settings (streams.app.fetch_max_wait): the same fetches as the worker.
    fetch_max_wait(app, settings.fetch_max_wait_seconds)
    registry = CollectorRegistry()
    counted = Counter(COUNTED, "Events the count-only agent read, per topic", ["topic"], registry=registry)
    raw = dict(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    topic = app.topic(*settings.customer_topics, settings.clock_ticks_topic, partitions=settings.partitions, **raw)
    forward = app.topic(settings.warnings_topic, partitions=settings.partitions, **raw)

    @app.agent(topic, name="count")
    async def count(stream):
        async for event in stream.events():
            counted.labels(topic=event.message.topic).inc()
            if event.key is not None and event.key.startswith(b"probe"):
                await forward.send(key=event.key, value=event.value)

    return app, registry


def run_count_worker(settings: Settings) -> None:
    """Run :func:`count_app` as a worker, its counter served on ``settings.metrics_port``."""
    import logging

    import faust
    from prometheus_client import start_http_server

    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app, registry = count_app(settings)
    start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=registry)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    faust.Worker(app, loglevel=settings.log_level, quiet=True).execute_from_commandline()


# --- memory -----------------------------------------------------------------------------------


def memory_probe(sample_path: Path, n: int, partitions: int, indexed: int = 20_000) -> dict[str, float]:
    """Memory of this process for `n` customer states (see module docstring).

    `sample_path` holds encoded states, one per line (orjson output has no newline); they are
    cycled through and re-keyed to `n` distinct customers, by replacing the id inside the
    record (same length, so the records keep their sizes; no decode, whose temporaries would
    fragment the heap and inflate RSS). Returns, in bytes: RSS before, with the table, and
    with the processor's indexes too; the table's live Python objects (`sys.getsizeof`); and
    the live memory the indexes allocated (`tracemalloc`: decoding temporaries, freed, are
    not counted). The indexes are built over the first `indexed` customers only (building
    them decodes every state once per partition, slowly under tracemalloc; the figure is
    per customer either way), and `live_indexes` is scaled to `n`.
    """
    import tracemalloc

    from detectors.state import decode
    from detectors.warning import DetectorParams
    from schemas.events import to_json_bytes
    from schemas.outputs import ClockTick
    from streams.processing import Processor

    sample = [line for line in sample_path.read_bytes().split(b"\n") if line]
    ids = [decode(v).customer_id.encode() for v in sample]
    width = max(len(str(n)), max(len(i) for i in ids) - 1)
    gc.collect()
    before = rss_bytes()
    table: dict[bytes, bytes] = {}
    for i in range(n):
        j = i % len(sample)
        key = b"m%0*d" % (width, i)
        table[key] = sample[j].replace(b'"' + ids[j] + b'"', b'"' + key + b'"', 1)
    gc.collect()
    with_table = rss_bytes()
    live_table = sys.getsizeof(table) + sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in table.items())

    def index_live(count: int) -> tuple[int, dict[bytes, bytes]]:
        """Live bytes a processor allocates building its indexes over the first `count` states."""
        subset = dict(zip(list(table)[:count], list(table.values())[:count]))

        class StrKeys:
            """The worker's view of its bytes-keyed table (`streams.app._CustomerTable`)."""

            def get(self, key: str, default=None):
                return subset.get(key.encode(), default)

            def __setitem__(self, key: str, value: bytes) -> None:
                subset[key.encode()] = value

            def items(self):
                for k, v in subset.items():
                    yield k.decode(), v

        settings = Settings(partitions=partitions)
        proc = Processor(settings, DetectorParams(), StrKeys(), {})
        tracemalloc.start()
        # A tick at the start of event time makes each partition build its due index and
        # population from the table, as after a rebalance, and sweeps nobody.
        for p in range(partitions):
            proc.handle(settings.clock_ticks_topic, p, 0, str(p).encode(),
                        to_json_bytes(ClockTick(partition=p, occurred_at=_epoch_start())))
        gc.collect()
        live = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return live, proc

    indexed = min(indexed, n)
    full_live, proc = index_live(indexed)
    rss_indexed = rss_bytes()
    # Again over half the customers: above the population samples' size (2,000 per partition)
    # both builds hold full samples, so the difference is what each further customer costs and
    # the rest is the samples' fixed cost, whatever the number of customers.
    half_live, _ = index_live(indexed // 2)
    per_customer = (full_live - half_live) / (indexed - indexed // 2)
    live_indexes = full_live * n / indexed
    return {"customers": n, "rss_before": before, "rss_table": with_table, "rss_indexed": rss_indexed,
            "live_table": live_table, "live_indexes": live_indexes,
            "live_index_per_customer": per_customer, "live_index_fixed": full_live - per_customer * indexed,
            "value_bytes": sum(len(v) for v in table.values()), "key_bytes": sum(len(k) for k in table)}


def _epoch_start():
    from datetime import datetime, timezone

    return datetime(1970, 1, 2, tzinfo=timezone.utc)
