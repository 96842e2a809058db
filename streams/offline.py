"""Run the worker's per-message step over a replay file in one process, without Kafka.

The same `Processor` the Faust agent uses, backed by plain dicts: same decoding, same
detectors, same lifecycle, same warning ids. Partitions are assigned with the producer's
hash, each partition is fed in event-time order (ties in file order, as `churnwatch replay`
publishes them), and event time is moved to the end of the file (or `advance_to`) at the
end, as `churnwatch replay --advance-to` does. The file is read as it is processed when its
order allows (see `run_offline`), so a history of any length fits in memory if its
customers do.

Used by `churnwatch offline` to score detector settings on a history quickly, and as the
base of a bulk bootstrap.
"""

from __future__ import annotations

import heapq
import multiprocessing
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from itertools import islice
from operator import itemgetter
from pathlib import Path

import orjson

from detectors.warning import DetectorParams
from schemas.base import rfc3339_to_utc
from schemas.events import EVENT_TYPES, parse_replay_line, to_json_bytes
from schemas.outputs import ClockTick
from streams.processing import Processor
from streams.replay import (MAX_RUNS, SHOWN_INVALID_LINES, InvalidLine, ReplayError, ReplayFile, ReplayScan,
                            in_event_time_order, load_replay_lines, partition_for, scan_replay)
from streams.settings import Settings
from streams.snapshot import read_fits, snapshot_rows


@dataclass
class OfflineResult:
    warnings: list[dict] | SpilledWarnings = field(default_factory=list)   # SpilledWarnings: see `run_offline`
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
    warning_steps: int = 0     # warnings emitted, kept in `warnings` or not (`keep_warnings`)
    # Input records per (topic, partition), as a replay of the file would publish them.
    input_counts: dict = field(default_factory=dict)
    # The file was not in event-time order (nor made of a few stretches that are): it was
    # sorted in memory, which holds the whole history.
    sorted_in_memory: bool = False
    # Lines left out under `skip_invalid` (the first `SHOWN_INVALID_LINES`, with their
    # numbers and reasons) and how many there were.
    skipped: list[InvalidLine] = field(default_factory=list)
    skipped_count: int = 0


def invalid_lines_message(scan: ReplayScan) -> str:
    """Why a replay file is refused: every invalid line (up to `SHOWN_INVALID_LINES`) with its
    number and reason, as `churnwatch replay` lists them, so one pass fixes them all.

    >>> scan = ReplayScan(invalid_count=3, invalid=[InvalidLine(2, "not JSON"), InvalidLine(5, "no customer_id")])
    >>> print(invalid_lines_message(scan))
    3 invalid replay lines (a replay file has one JSON event per line; `churnwatch convert-orders` makes one from an orders CSV):
      line 2: not JSON
      line 5: no customer_id
      ... and 1 more
    """
    n = scan.invalid_count
    lines = [f"{n} invalid replay line{'s' if n != 1 else ''} (a replay file has one JSON event per line; "
             "`churnwatch convert-orders` makes one from an orders CSV):"]
    lines += [f"  {invalid}" for invalid in scan.invalid]
    if n > len(scan.invalid):
        lines.append(f"  ... and {n - len(scan.invalid)} more")
    return "\n".join(lines)


def run_offline(settings: Settings, lines: Iterable[bytes], *, params: DetectorParams | None = None,
                advance_to: datetime | None = None, processes: int = 1, keep_warnings: str = "all",
                spill_dir: str | Path | None = None, skip_invalid: bool = False) -> OfflineResult:
    """Process replay lines in event-time order and return warnings, dead letters and a snapshot.

    `lines` that can be iterated more than once (a list, a `ReplayFile`) are read twice, line
    by line: once to check every line and find the file's order, once to process it. A file
    in event-time order, or made of up to `MAX_RUNS` stretches that each are (converted
    orders, visits and tickets concatenated), is then processed as it is read, merging the
    stretches, so memory grows with the customers, not with the history. Any other order is
    sorted in memory (`OfflineResult.sorted_in_memory`). One-pass lines are read into a
    list first.

    `processes` > 1 runs the partitions in that many processes (at most one per partition;
    0: one per core). Partitions share nothing but the market events, which every process
    reads, so the result is the same as in one process, in the same order (tested).

    `keep_warnings` says which warning steps `OfflineResult.warnings` keeps (`WarningSteps`):
    ``all``, ``open`` (the episodes still open at the end: memory grows with the customers,
    not the history) or ``none`` (only counted, `OfflineResult.warning_steps`). With ``all``
    and a `spill_dir`, the steps are written to files there as the run goes and
    `OfflineResult.warnings` reads them back in order (`SpilledWarnings`): memory then does
    not grow with the warnings either. The files live as long as the directory.

    A file with invalid lines is refused (`ReplayError`, naming them) unless `skip_invalid`:
    then the valid lines are processed and the invalid ones left out and reported
    (`OfflineResult.skipped`, `skipped_count`), as `churnwatch replay --skip-invalid` leaves
    them unpublished.
    """
    params = params or settings.detector_params()
    if isinstance(lines, Iterator):   # one pass only
        lines = list(lines)
    scan = scan_replay(lines, settings, keep_invalid=SHOWN_INVALID_LINES)
    skip: frozenset[int] = frozenset()
    if scan.invalid_count:
        if not skip_invalid:
            raise ReplayError(invalid_lines_message(scan) + "\nnothing was processed (--skip-invalid processes the "
                              "valid lines and names the ones left out)")
        shown = scan.invalid
        if scan.invalid_count > len(scan.invalid):     # every number, to leave each one out
            scan = scan_replay(lines, settings, keep_invalid=scan.invalid_count)
        skip = frozenset(i.line_number for i in scan.invalid)
        scan.invalid = shown
    if scan.in_stretches:
        def items() -> Iterator[tuple]:
            return in_event_time_order(lines, scan, partial(_items, settings=settings, skip=skip), _event_time)
    else:
        records = load_replay_lines(lines, settings).records

        def items() -> Iterator[tuple]:
            return ((rec.topic, rec.key, rec.value, rec.occurred_at) for rec in records)
    n = processes if processes > 0 else (os.cpu_count() or 1)
    n = max(1, min(n, settings.partitions))
    job = (settings, params, items, scan.records, scan.last_time, advance_to, keep_warnings, spill_dir)
    if n == 1:
        parts = [_run_partitions(*job, None)]
    else:
        groups = [tuple(range(i, settings.partitions, n)) for i in range(n)]
        global _SHARED
        _SHARED = job
        try:
            # Forked children inherit the source (and the sorted records, if any) and read it themselves.
            with multiprocessing.get_context("fork").Pool(n) as pool:
                parts = pool.map(_run_shared, groups, chunksize=1)
        finally:
            _SHARED = None
    result = _merge(parts)
    result.input_counts = scan.counts
    result.sorted_in_memory = not scan.in_stretches
    result.skipped, result.skipped_count = list(scan.invalid), scan.invalid_count
    return result


#: What `churnwatch offline` and `churnwatch bootstrap` say of a file sorted in memory.
SORTED_IN_MEMORY_NOTE = (
    f"note: the file is not in event-time order, nor made of up to {MAX_RUNS} stretches that are (such as "
    "converted orders, visits and tickets concatenated): it was sorted in memory, which holds the whole history; "
    "in event-time order, or in such stretches, it is processed as it is read"
)


def _items(lines: Iterable[bytes], start: int = 1, *, settings: Settings,
           skip: frozenset[int] = frozenset()) -> Iterator[tuple]:
    """(topic, key, value, event time as written) of checked replay lines, but those whose
    numbers are in `skip` (invalid lines left out; `start` is the number of the first line).

    The value is the line itself: the contracts ignore its ``type`` as they ignore any field
    they do not know, and parse it as they parse the contract's own JSON. A line over the
    size limit (valid as the contract's shorter JSON) goes as that JSON.
    """
    topics = {kind: settings.topic_for_event_type(kind) for kind in EVENT_TYPES}
    limit = settings.max_event_bytes
    for number, line in enumerate(lines, start):
        if not line.strip() or (skip and number in skip):
            continue
        try:
            d = orjson.loads(line)
            kind = d["type"]
            key = (d["category"] if kind == "market_event" else d["customer_id"]).encode("utf-8")
            at = d["occurred_at"]
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            d = None
        if d is None or len(line) > limit:
            kind, event = parse_replay_line(line)
            key = (event.category if kind == "market_event" else event.customer_id).encode("utf-8")
            at, line = event.occurred_at, to_json_bytes(event)
        yield topics[kind], key, line, at


def _event_time(item: tuple) -> datetime:
    at = item[3]
    return rfc3339_to_utc(at) if isinstance(at, str) else at


#: Which warning steps a run keeps (`WarningSteps`).
WARNING_CHOICES = ("none", "open", "all")


class WarningSteps:
    """The warning steps a run keeps, each with its place in the run, and how many it saw.

    ``all``: every step; ``open``: the steps of the episodes still open (a customer's steps
    after their last ``cleared``), so what is kept grows with the customers, not with the
    history; ``none``: only the count.

    >>> steps = WarningSteps("open")
    >>> for place, (cid, state) in enumerate([("a", "raised"), ("a", "cleared"), ("b", "raised"),
    ...                                       ("a", "raised"), ("b", "escalated"), ("c", "raised"), ("c", "cleared")]):
    ...     steps.add(place, {"customer_id": cid, "state": state})
    >>> [(place, w["customer_id"], w["state"]) for place, w in steps.kept()], steps.count
    ([(2, 'b', 'raised'), (3, 'a', 'raised'), (4, 'b', 'escalated')], 7)
    """

    def __init__(self, which: str, spill_dir: str | Path | None = None) -> None:
        if which not in WARNING_CHOICES:
            raise ValueError(f"--warnings {which!r}: expected one of {', '.join(WARNING_CHOICES)}")
        self.which = which
        self.count = 0
        self._all: list = []
        self._open: dict[str, list] = {}
        # ``all`` with a `spill_dir`: each step is written to a file of its own there as it comes
        # (its place and the warning's JSON on one line), not held in memory.
        self.spill_path: Path | None = None
        self._spill = None
        if which == "all" and spill_dir is not None:
            handle, name = tempfile.mkstemp(prefix="warnings-", suffix=".txt", dir=spill_dir)
            self.spill_path = Path(name)
            self._spill = os.fdopen(handle, "wb")

    def add(self, place, warning: dict) -> None:
        self.count += 1
        if self.which == "all":
            self._all.append((place, warning))
        elif self.which == "open":
            if warning["state"] == "cleared":
                self._open.pop(warning["customer_id"], None)
            else:
                self._open.setdefault(warning["customer_id"], []).append((place, warning))

    def add_json(self, place: tuple[int, int], raw: bytes) -> None:
        """A step as the warning's JSON bytes, its place a (record, output) pair: parsed only if kept in memory."""
        if self._spill is None:
            self.add(place, orjson.loads(raw))
        else:
            self.count += 1
            self._spill.write(b"%d %d %s\n" % (place[0], place[1], raw))

    def finish(self) -> None:
        """Close the spill file (the steps stay readable by `kept`; the object can then be pickled)."""
        if self._spill is not None:
            self._spill.close()
            self._spill = None

    def kept(self) -> Iterable:
        """(place, step) of the steps kept, in the run's order."""
        if self.which == "open":
            return sorted((item for steps in self._open.values() for item in steps), key=lambda item: item[0])
        if self.spill_path is not None:
            return self._read_spill()
        return self._all

    def _read_spill(self) -> Iterator[tuple]:
        with open(self.spill_path, "rb") as spilled:
            for line in spilled:
                i, j, raw = line.split(b" ", 2)
                yield (int(i), int(j)), orjson.loads(raw)


class SpilledWarnings:
    """A run's warning steps kept in files as the run went (`WarningSteps` with a spill
    directory, one file per process), read back in the run's order: each file is in order,
    and they are merged by place. Iterable any number of times; `len` is the number of steps.
    The files go with the spill directory.
    """

    def __init__(self, steps: list[WarningSteps]) -> None:
        self._steps = steps

    def __iter__(self) -> Iterator[dict]:
        return (w for _, w in heapq.merge(*(s.kept() for s in self._steps), key=itemgetter(0)))

    def __len__(self) -> int:
        return sum(s.count for s in self._steps)


_SHARED: tuple | None = None


def _run_shared(partitions: tuple[int, ...]) -> "_Part":
    return _run_partitions(*_SHARED, set(partitions))


@dataclass
class _Part:
    """One process's share of a run; every item carries its place in a one-process run.

    The place is (index of the record being handled, position among what that record
    produced): a record only touches its own partition, so sorting the shares' items by it
    gives the order of a single process (end-of-file ticks come after every record).
    """
    events: int = 0
    dead_letters: list = field(default_factory=list)   # (place, dead letter)
    customers: list = field(default_factory=list)      # (place, id, state) in insertion order
    clocks: list = field(default_factory=list)
    models: list = field(default_factory=list)
    snapshot: list = field(default_factory=list)       # (place of the customer, row)
    assessment_errors: int = 0                          # customers whose assessment failed (logged)
    steps: "WarningSteps" = field(default_factory=lambda: WarningSteps("all"))   # (place, warning) kept

    @property
    def warnings(self) -> list:
        return self.steps.kept()


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


def _run_partitions(settings: Settings, params: DetectorParams, items, total: int, last_time: int,
                    advance_to: datetime | None, keep_warnings: str, spill_dir: str | Path | None,
                    partitions: set[int] | None) -> _Part:
    """Feed one process's partitions: `items()` gives (topic, key, value, event time) in processing order,
    `total` records in all, the newest customer event at `last_time`."""
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
    part = _Part(steps=WarningSteps(keep_warnings, spill_dir))
    tracked = [_Inserted(customers), _Inserted(clocks), _Inserted(proc.models)]
    offsets: dict[tuple[str, int], int] = {}
    partition_of: dict[bytes, int] = {}   # key -> partition: murmur2 in Python, once per customer
    market = settings.market_events_topic
    for i, (topic, key, value, _) in enumerate(items()):
        if topic == market:
            # Into the market timeline: it counts for customers judged at or after its event time.
            off = offsets.get((topic, 0), 0)
            offsets[(topic, 0)] = off + 1
            proc.handle_market(value, key, 0, off)
            continue
        p = partition_of.get(key)
        if p is None:
            p = partition_of[key] = partition_for(key, settings.partitions)
        if partitions is not None and p not in partitions:
            continue   # another process's partition
        off = offsets.get((topic, p), 0)
        offsets[(topic, p)] = off + 1
        out = proc.handle(topic, p, off, key, value)
        part.events += 1
        _collect(out, settings, part, i)
        for t in tracked:
            t.note(i)
    end = advance_to or (datetime.fromtimestamp(last_time, tz=timezone.utc) if last_time else None)
    if end is not None:
        for p in range(settings.partitions):
            if partitions is not None and p not in partitions:
                continue
            tick = to_json_bytes(ClockTick(partition=p, occurred_at=end))
            i = total + p
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
    part.steps.finish()
    return part


def _merge(parts: list[_Part]) -> OfflineResult:
    def ordered(name: str) -> list:
        return sorted((item for part in parts for item in getattr(part, name)), key=lambda item: item[0])

    spilled = [part.steps for part in parts if part.steps.spill_path is not None]
    return OfflineResult(
        warnings=SpilledWarnings(spilled) if spilled else [w for _, w in ordered("warnings")],
        dead_letters=[d for _, d in ordered("dead_letters")],
        snapshot=[row for _, row in ordered("snapshot")],
        events=sum(part.events for part in parts),
        customers={k: v for _, k, v in ordered("customers")},
        clocks={k: v for _, k, v in ordered("clocks")},
        fits={k: v for _, k, v in ordered("models") if k.startswith("prior/")},
        models={k: v for _, k, v in ordered("models")},
        assessment_errors=sum(part.assessment_errors for part in parts),
        warning_steps=sum(part.steps.count for part in parts),
    )


def _collect(out, settings: Settings, part: _Part, i: int) -> None:
    part.assessment_errors += out.assessment_errors
    for j, o in enumerate(out.outputs):
        if o.topic == settings.warnings_topic:
            part.steps.add_json((i, j), o.value)
        else:
            part.dead_letters.append(((i, j), orjson.loads(o.value)))


def run_offline_file(settings: Settings, path: str | Path, **kw) -> OfflineResult:
    return run_offline(settings, ReplayFile(Path(path)), **kw)
