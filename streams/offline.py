"""Run the worker's per-message step over a replay file in one process, without Kafka.

The same `Processor` the Faust agent uses, backed by plain dicts: same decoding, same
detectors, same lifecycle, same warning ids. Partitions are assigned with the producer's
hash, each partition is fed in file order (event time), and event time is moved to the end
of the file (or `advance_to`) at the end, as `churnwatch replay --advance-to` does.

Used by `churnwatch offline` to score detector settings on a history quickly, and as the
base of a bulk bootstrap.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Iterable

import orjson

from detectors.state import epoch
from detectors.warning import DetectorParams
from schemas.events import to_json_bytes
from schemas.outputs import ClockTick
from streams.processing import Processor
from streams.replay import ReplayError, load_replay_lines, partition_for, read_lines
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
    # Every record of the `models` table: the fits and each partition's model checkpoint
    # ("<p>" -> `ChurnModel.dumps()`, as of the end of the run).
    models: dict = field(default_factory=dict)
    # Customers whose assessment failed in a sweep (a bug: each is logged with its traceback
    # and judged again later, as a worker does); 0 in a sound run.
    assessment_errors: int = 0


def run_offline(settings: Settings, lines: Iterable[bytes], *, params: DetectorParams | None = None,
                advance_to: datetime | None = None, processes: int = 1) -> OfflineResult:
    """Process replay lines in event-time order and return warnings, dead letters and a snapshot.

    `processes` > 1 runs the partitions in that many processes (at most one per partition;
    0: one per core). Partitions share nothing but the market events, which every process
    reads, so the result is the same as in one process, in the same order (tested).
    """
    params = params or settings.detector_params()
    loaded = load_replay_lines(lines, settings)
    if loaded.invalid:
        first = loaded.invalid[0]
        raise ReplayError(f"{len(loaded.invalid)} invalid replay lines; first: {first} (a replay file has one JSON "
                          "event per line; `churnwatch convert-orders` makes one from an orders CSV)")
    n = processes if processes > 0 else (os.cpu_count() or 1)
    n = max(1, min(n, settings.partitions))
    if n == 1:
        parts = [_run_partitions(settings, params, loaded.records, advance_to, None)]
    else:
        groups = [tuple(range(i, settings.partitions, n)) for i in range(n)]
        global _SHARED
        _SHARED = (settings, params, loaded.records, advance_to)
        try:
            # Forked children inherit the parsed records instead of parsing the file again.
            with multiprocessing.get_context("fork").Pool(n) as pool:
                parts = pool.map(_run_shared, groups, chunksize=1)
        finally:
            _SHARED = None
    return _merge(parts)


_SHARED: tuple | None = None


def _run_shared(partitions: tuple[int, ...]) -> "_Part":
    settings, params, records, advance_to = _SHARED
    return _run_partitions(settings, params, records, advance_to, set(partitions))


@dataclass
class _Part:
    """One process's share of a run; every item carries its place in a one-process run.

    The place is (index of the record being handled, position among what that record
    produced): a record only touches its own partition, so sorting the shares' items by it
    gives the order of a single process (end-of-file ticks come after every record).
    """
    events: int = 0
    warnings: list = field(default_factory=list)       # (place, warning)
    dead_letters: list = field(default_factory=list)   # (place, dead letter)
    customers: list = field(default_factory=list)      # (place, id, state) in insertion order
    clocks: list = field(default_factory=list)
    models: list = field(default_factory=list)
    snapshot: list = field(default_factory=list)       # (place of the customer, row)
    assessment_errors: int = 0                          # customers whose assessment failed (logged)


class _Inserted:
    """Places at which new keys appeared in a dict that only grows (insertion order kept)."""

    def __init__(self, d: dict) -> None:
        self.d, self.n, self.place = d, 0, {}

    def note(self, i: int) -> None:
        grown = len(self.d) - self.n
        if grown:
            new = list(islice(reversed(self.d), grown))
            for j, key in enumerate(reversed(new)):
                self.place[key] = (i, j)
            self.n = len(self.d)


def _run_partitions(settings: Settings, params: DetectorParams, records, advance_to: datetime | None,
                    partitions: set[int] | None) -> _Part:
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
    part = _Part()
    tracked = [_Inserted(customers), _Inserted(clocks), _Inserted(proc.models)]
    offsets: dict[tuple[str, int], int] = {}
    partition_of: dict[bytes, int] = {}   # key -> partition: murmur2 in Python, once per customer
    last_time = 0
    market = settings.market_events_topic
    for i, rec in enumerate(records):
        if rec.topic == market:
            # Into the market timeline: it counts for customers judged at or after its event time.
            off = offsets.get((rec.topic, 0), 0)
            offsets[(rec.topic, 0)] = off + 1
            proc.handle_market(rec.value, rec.key, 0, off)
            continue
        p = partition_of.get(rec.key)
        if p is None:
            p = partition_of[rec.key] = partition_for(rec.key, settings.partitions)
        if partitions is not None and p not in partitions:
            # Another process's partition; its event time still ends the file for everyone.
            last_time = max(last_time, epoch(rec.occurred_at))
            continue
        off = offsets.get((rec.topic, p), 0)
        offsets[(rec.topic, p)] = off + 1
        out = proc.handle(rec.topic, p, off, rec.key, rec.value)
        part.events += 1
        if out.event_time:
            last_time = max(last_time, out.event_time)
        _collect(out, settings, part, i)
        for t in tracked:
            t.note(i)
    end = advance_to or (datetime.fromtimestamp(last_time, tz=timezone.utc) if last_time else None)
    if end is not None:
        for p in range(settings.partitions):
            if partitions is not None and p not in partitions:
                continue
            tick = to_json_bytes(ClockTick(partition=p, occurred_at=end))
            i = len(records) + p
            _collect(proc.handle(settings.clock_ticks_topic, p, 0, str(p).encode(), tick), settings, part, i)
            for t in tracked:
                t.note(i)
    wm = {p: proc.stream_time(p) for p in range(settings.partitions)
          if partitions is None or p in partitions}
    place_c, place_k, place_m = (t.place for t in tracked)
    part.customers = [(place_c[k], k, v) for k, v in customers.items()]
    part.clocks = [(place_k[k], k, v) for k, v in clocks.items()]
    part.models = [(place_m[k], k, raw) for k, raw in proc.models.items()]
    # Each partition judged with the population fit the run made (as a worker keeps it).
    fits = read_fits({k.encode(): raw for k, raw in proc.models.items() if k.startswith("prior/")})
    rows = snapshot_rows(customers, wm, params, proc.market_timeline, fits=fits)
    part.snapshot = [(place_c[row["customer_id"]], row) for row in rows]
    return part


def _merge(parts: list[_Part]) -> OfflineResult:
    def ordered(name: str) -> list:
        return sorted((item for part in parts for item in getattr(part, name)), key=lambda item: item[0])

    return OfflineResult(
        warnings=[w for _, w in ordered("warnings")],
        dead_letters=[d for _, d in ordered("dead_letters")],
        snapshot=[row for _, row in ordered("snapshot")],
        events=sum(part.events for part in parts),
        customers={k: v for _, k, v in ordered("customers")},
        clocks={k: v for _, k, v in ordered("clocks")},
        fits={k: v for _, k, v in ordered("models") if k.startswith("prior/")},
        models={k: v for _, k, v in ordered("models")},
        assessment_errors=sum(part.assessment_errors for part in parts),
    )


def _collect(out, settings: Settings, part: _Part, i: int) -> None:
    part.assessment_errors += out.assessment_errors
    for j, o in enumerate(out.outputs):
        if o.topic == settings.warnings_topic:
            part.warnings.append(((i, j), orjson.loads(o.value)))
        else:
            part.dead_letters.append(((i, j), orjson.loads(o.value)))


def run_offline_file(settings: Settings, path: str | Path, **kw) -> OfflineResult:
    return run_offline(settings, read_lines(path), **kw)
