"""Run the worker's per-message step over a replay file in one process, without Kafka.

The same `Processor` the Faust agent uses, backed by plain dicts: same decoding, same
detectors, same lifecycle, same warning ids. Partitions are assigned with the producer's
hash, each partition is fed in file order (event time), and event time is moved to the end
of the file (or `advance_to`) at the end, as `churnwatch replay --advance-to` does.

Used by `churnwatch offline` to score detector settings on a history quickly, and as the
base of a bulk bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import orjson

from detectors.warning import DetectorParams
from schemas.events import to_json_bytes
from schemas.outputs import ClockTick
from streams.processing import Processor
from streams.replay import load_replay_lines, partition_for, read_lines
from streams.settings import Settings
from streams.snapshot import read_fits, snapshot_rows


@dataclass
class OfflineResult:
    warnings: list[dict] = field(default_factory=list)
    dead_letters: list[dict] = field(default_factory=list)
    snapshot: list[dict] = field(default_factory=list)
    events: int = 0
    customers: dict = field(default_factory=dict)
    clocks: dict = field(default_factory=dict)
    fits: dict = field(default_factory=dict)     # "prior/<p>" -> population fit, as the `models` table keeps it


def run_offline(settings: Settings, lines: Iterable[bytes], *, params: DetectorParams | None = None,
                advance_to: datetime | None = None) -> OfflineResult:
    """Process replay lines in event-time order and return warnings, dead letters and a snapshot."""
    params = params or settings.detector_params()
    customers: dict = {}
    clocks: dict = {}
    proc = Processor(settings, params, customers, clocks,
                     wall_clock=lambda: datetime(1970, 1, 1, tzinfo=timezone.utc))
    # Fed in event-time order with every topic fully known: the watermark is simply the
    # newest event time, so no topic is waited for.
    proc.idle_topic_seconds = -1.0
    # Offsets here are the file's own numbering: states built from them (a bootstrap) must not
    # claim records of the real topics as applied.
    proc.offsets_are_real = False
    loaded = load_replay_lines(lines, settings)
    if loaded.invalid:
        first = loaded.invalid[0]
        raise ValueError(f"{len(loaded.invalid)} invalid replay lines; first: {first}")
    result = OfflineResult()
    offsets: dict[tuple[str, int], int] = {}
    partition_of: dict[bytes, int] = {}   # key -> partition: murmur2 in Python, once per customer
    last_time = 0
    for rec in loaded.records:
        if rec.topic == settings.market_events_topic:
            # Into the market timeline: it counts for customers judged at or after its event time.
            off = offsets.get((rec.topic, 0), 0)
            offsets[(rec.topic, 0)] = off + 1
            proc.handle_market(rec.value, rec.key, 0, off)
            continue
        p = partition_of.get(rec.key)
        if p is None:
            p = partition_of[rec.key] = partition_for(rec.key, settings.partitions)
        off = offsets.get((rec.topic, p), 0)
        offsets[(rec.topic, p)] = off + 1
        out = proc.handle(rec.topic, p, off, rec.key, rec.value)
        result.events += 1
        if out.event_time:
            last_time = max(last_time, out.event_time)
        _collect(out, settings, result)
    end = advance_to or (datetime.fromtimestamp(last_time, tz=timezone.utc) if last_time else None)
    if end is not None:
        for p in range(settings.partitions):
            tick = to_json_bytes(ClockTick(partition=p, occurred_at=end))
            _collect(proc.handle(settings.clock_ticks_topic, p, 0, str(p).encode(), tick), settings, result)
    wm = {p: proc.stream_time(p) for p in range(settings.partitions)}
    # Each partition judged with the population fit the run made (as a worker keeps it).
    result.fits = {key: raw for key, raw in proc.models.items() if key.startswith("prior/")}
    fits = read_fits({key.encode(): raw for key, raw in result.fits.items()})
    result.snapshot = list(snapshot_rows(customers, wm, params, proc.market_timeline, fits=fits))
    result.customers = customers
    result.clocks = clocks
    return result


def _collect(out, settings: Settings, result: OfflineResult) -> None:
    for o in out.outputs:
        if o.topic == settings.warnings_topic:
            result.warnings.append(orjson.loads(o.value))
        else:
            result.dead_letters.append(orjson.loads(o.value))


def run_offline_file(settings: Settings, path: str | Path, **kw) -> OfflineResult:
    return run_offline(settings, read_lines(path), **kw)
