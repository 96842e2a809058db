"""`churnwatch verify`: proof from the topics that nothing was lost, double-counted or invented.

The verifier trusts no worker. It reads from the beginning every input topic (logins,
page views, orders, complaints, plus clock ticks and market events, which move event time
and feed the detectors), the dead-letter topic, the warning topic and the `customers` table
changelog (latest value per key), then checks:

(a) accounting: every customer-topic record is applied to its customer's state, or in the
    dead-letter topic (matched by source topic, partition and offset), or a duplicate (an
    event id already applied for that customer); never both, never neither. A record without
    a Kafka key is applied as its keyed copy on its customer's partition
    (`CHURNWATCH_UNKEYED_EVENTS=rekey`), which must be there. Per customer,
    `state.applied` equals the number of distinct applied event ids, and every applied event
    recent enough to be in the state's de-duplication window is in it. Ticks and market
    events are dead-lettered exactly when they are invalid.
(b) state: each customer's state equals a recomputation with the worker's own `Processor`
    over the same records (the same engine as `streams.offline`), field by field, and the
    recomputed dead letters equal the topic's. Fields set by *when* the worker judged a
    customer (warning level, kinds, episode, `raised_at`, `next_due`, the purchase-frequency
    cache) and the active-day gaps, which depend on the order the worker happened to read its
    topics in, are reported apart; the gaps are checked against the inputs instead. So are
    the state's input offsets (the last applied record per topic): they must never pass the
    customer's last record there, or a new record would be taken for one already applied.
(c) warnings: the distinct warning ids on the topic against the recomputation's. They can
    legitimately differ when the worker judged at other moments than the recomputation
    (ids carry the event time of the judgement: the start of a stream, a restart), so this
    is a separate figure; `--strict-warnings` fails on a difference. Whenever the
    worker judged, its warnings must agree with its states: as many raises as episodes, and
    the last warning leaving the level the state holds; that too is reported here.
(d) repeats: warning ids and dead letters seen more than once: allowed, that is what
    at-least-once delivery looks like; consumers de-duplicate by id.

The exit status is 1 when (a) or (b) fail (or (c) with ``--strict-warnings``). What each
fault case proves with it is in docs/reliability.md.

Why not `streams.offline.run_offline` itself: it takes a valid replay file, sorts it by event
time and numbers offsets itself. The topics may hold bad records, out-of-order records and
re-sent events; the recomputation must see them at their real offsets, in each partition's
own order. So it feeds the records to the same `Processor`, configured as `run_offline` does
(a fixed wall clock, every topic counted as read), merging the topics of a partition by event
time, each topic in offset order.

Example:
    >>> from streams.settings import Settings
    >>> s = Settings(partitions=1)
    >>> login = b'{"event_id":"e1","customer_id":"c1","occurred_at":"2025-01-06T09:00:00Z","channel":"web"}'
    >>> rec = TopicRecord(s.logins_topic, 0, 0, b"c1", login)
    >>> worker = recompute(s, [rec])
    >>> report = verify(s, Observed([rec, rec._replace(offset=1)], [], [], worker.customers))
    >>> report.ok, report.counts["applied"], report.counts["duplicates"]
    (True, 1, 1)
"""

from __future__ import annotations

import dataclasses
import heapq
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, NamedTuple

import orjson

from detectors.state import DAY, KINDS, CustomerState, StateParams, decode, epoch, kind_of, seen_hash
from detectors.warning import LEVELS, DetectorParams, warning_id
from schemas.errors import ChurnwatchError, InvalidEvent
from schemas.events import Complaint, Login, MarketEvent, Order, PageView, parse_event
from schemas.outputs import ClockTick
from streams.privacy import pseudonymiser
from streams.replay import partition_for
from streams.settings import Settings

#: State fields set by which events were applied, whatever the order or moment: compared exactly
#: (the daily buckets as one `daily` field, within the history window).
EVIDENCE_FIELDS = ("customer_id", "partition", "first_seen", "last_event", "last_active", "last_active_day",
                   "applied", "daily", "orders", "complaints", "seen")
#: Fields that depend on the order the worker read its topics in; checked against the inputs instead.
#: (`offsets`: the last applied record per input topic stops short of a record still buffered
#: when a newer one was applied, so a crash can leave it lower than an uninterrupted run's; it
#: must never reach past the customer's last record on that topic, or a new one would be skipped.)
READ_ORDER_FIELDS = ("gaps", "offsets", "returned")
#: The parallel lists behind `daily`. Every other state field (warning lifecycle, next due time,
#: caches, pending snapshots...) is set by *when* the worker judged the customer: differences
#: are counted, not failed (see `_timing_fields`).
_BUCKETS = ("days", "logins", "views", "dwell", "bounces")
#: Problems listed one by one in the text report (all of them are in --json).
SHOWN = 20
_FIXED_WALL = datetime(1970, 1, 1, tzinfo=timezone.utc)


class VerifyError(ChurnwatchError):
    """The verification could not be carried out (not: it found a problem)."""


class TopicRecord(NamedTuple):
    """One record as read from Kafka."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass
class Observed:
    """What was read: the inputs, and what the workers made of them."""

    inputs: list[TopicRecord]
    dead_letters: list[dict]
    warnings: list[dict]
    states: dict[str, bytes]  # customer id -> latest encoded state from the changelog


@dataclass
class Recomputation:
    customers: dict[str, bytes] = field(default_factory=dict)
    warnings: list[dict] = field(default_factory=list)
    dead_letters: list[dict] = field(default_factory=list)


@dataclass
class Report:
    """The verdict; `ok` is (a) and (b), plus (c) when `strict_warnings`."""

    counts: dict[str, int] = field(default_factory=dict)
    accounting: list[str] = field(default_factory=list)  # (a) problems
    state: list[str] = field(default_factory=list)  # (b) problems
    timing_fields: dict[str, int] = field(default_factory=dict)  # field -> customers differing (allowed)
    read_order_gaps: int = 0  # customers whose gaps differ from the recomputation (allowed, checked against inputs)
    warnings: dict[str, Any] = field(default_factory=dict)  # (c)
    repeats: dict[str, Any] = field(default_factory=dict)  # (d)
    strict_warnings: bool = False

    @property
    def warnings_match(self) -> bool:
        """(c): the distinct warnings equal the recomputation's and agree with the states."""
        return not any(self.warnings.get(k) for k in ("only_on_topic", "only_recomputed", "disagree_with_states"))

    @property
    def ok(self) -> bool:
        return not self.accounting and not self.state and (self.warnings_match or not self.strict_warnings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "counts": self.counts,
            "accounting": {"ok": not self.accounting, "problems": self.accounting},
            "state": {"ok": not self.state, "problems": self.state, "timing_fields_differing": self.timing_fields,
                      "read_order_gaps_differing": self.read_order_gaps},
            "warnings": {"match": self.warnings_match, **self.warnings},
            "repeats": self.repeats,
        }

    def render(self) -> str:
        c, w, r = self.counts, self.warnings, self.repeats
        lines = [
            f"churnwatch verify: {'OK' if self.ok else 'FAILED'}",
            f"inputs     {c['records']:,} customer records: {c['applied']:,} applied, {c['dead_lettered']:,} dead-lettered, "
            f"{c['duplicates']:,} duplicates{_rekeyed(c)}; {c['ticks']:,} clock ticks, {c['market']:,} market events; "
            f"{c['customers']:,} customers",
            _verdict("(a) accounting", self.accounting,
                     "every record applied once, dead-lettered or a duplicate; applied counts match"),
            _verdict("(b) state", self.state,
                     f"{c['customers']:,} states equal the recomputation; dead letters equal the recomputation's"),
        ]
        if self.timing_fields or self.read_order_gaps:
            parts = [f"{k} {v}" for k, v in sorted(self.timing_fields.items())]
            if self.read_order_gaps:
                parts.append(f"gaps {self.read_order_gaps} (read order; checked against the inputs)")
            lines.append(f"    allowed differences (customers per field): {', '.join(parts)}")
        lines.append(
            f"(c) warnings      {'differ' if w['only_on_topic'] or w['only_recomputed'] else 'same'}: "
            f"{w['on_topic']:,} distinct on the topic, "
            f"{w['recomputed']:,} recomputed, {w['common']:,} in both, {len(w['only_on_topic']):,} only on the topic, "
            f"{len(w['only_recomputed']):,} only recomputed; {w['customers_story_differs']:,} customers whose "
            f"sequence of (state, level) differs")
        for label, ids in (("only on the topic", w["only_on_topic"]), ("only recomputed", w["only_recomputed"])):
            for item in ids[:5]:
                lines.append(f"      {label}: {item}")
        disagree = w["disagree_with_states"]
        lines.append(f"                  {'all' if not disagree else f'{len(disagree):,} customers:'} warnings "
                     f"{'agree' if not disagree else 'disagree'} with the states (raises = episodes, last level = open level)")
        lines += [f"      {item}" for item in disagree[:5]]
        lines.append(
            f"(d) repeats       {r['warning_ids_repeated']:,} warning ids seen more than once "
            f"({r['warning_extra_copies']:,} extra copies, {r['warning_repeats_differing']:,} with other content); "
            f"{r['dead_letters_repeated']:,} dead letters repeated (allowed: at-least-once)")
        return "\n".join(lines)


def _verdict(label: str, problems: list[str], fine: str) -> str:
    if not problems:
        return f"{label:<17} ok: {fine}"
    shown = [f"      {p}" for p in problems[:SHOWN]]
    more = [f"      ... and {len(problems) - SHOWN} more"] if len(problems) > SHOWN else []
    return "\n".join([f"{label:<17} FAILED: {len(problems):,} problems", *shown, *more])


# --------------------------------------------------------------------------- recomputation


def _event_time(value: bytes | None) -> int | None:
    """Event time of a raw record, or None when it has none readable (it is then bad)."""
    try:
        text = orjson.loads(value or b"")["occurred_at"]
        return epoch(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except Exception:  # noqa: BLE001 - any unreadable record simply has no time
        return None


def recompute(settings: Settings, records: Iterable[TopicRecord], params: DetectorParams | None = None) -> Recomputation:
    """Run the worker's `Processor` over `records` in one process, as an uninterrupted worker would.

    Each topic-partition is read in offset order; the topics are merged by event time (market
    events first, clock ticks last at equal times); a record without a readable time keeps
    its place in its topic. Returns the final states, warnings and dead letters.

    Example:
        >>> s = Settings(partitions=1)
        >>> bad = TopicRecord(s.orders_topic, 0, 0, b"c1", b"{not json")
        >>> [d["reason"] for d in recompute(s, [bad]).dead_letters]
        ['malformed_json']
    """
    from streams.processing import Processor  # the worker's engine, imported when used

    params = params or settings.detector_params()
    result = Recomputation()
    proc = Processor(settings, params, result.customers, {}, wall_clock=lambda: _FIXED_WALL)
    proc.idle_topic_seconds = -1.0  # as streams.offline: every topic counts as read
    rank = {settings.market_events_topic: 0, **{t: i + 1 for i, t in enumerate(settings.customer_topics)},
            settings.clock_ticks_topic: len(settings.customer_topics) + 1}
    queues: dict[tuple[str, int], list[TopicRecord]] = defaultdict(list)
    for rec in records:
        if rec.topic in rank:
            queues[(rec.topic, rec.partition)].append(rec)
    heap: list[tuple[int, int, int, int, tuple[str, int]]] = []
    last_time: dict[tuple[str, int], int] = {}

    def push(q: tuple[str, int], i: int) -> None:
        if i < len(queues[q]):
            t = _event_time(queues[q][i].value)
            t = last_time.get(q, 0) if t is None else max(t, last_time.get(q, 0))
            last_time[q] = t
            heapq.heappush(heap, (t, rank[q[0]], q[1], i, q))

    for q, recs in queues.items():
        recs.sort(key=lambda r: r.offset)
        push(q, 0)
    while heap:
        _, _, _, i, q = heapq.heappop(heap)
        rec = queues[q][i]
        push(q, i + 1)
        if rec.topic == settings.market_events_topic:
            outcome = proc.check_market(*rec)
            if outcome.applied:
                proc.handle_market(rec.value or b"", rec.key, rec.partition, rec.offset)
        else:
            outcome = proc.handle(*rec)
        for out in outcome.outputs:
            if out.topic == settings.warnings_topic:
                result.warnings.append(orjson.loads(out.value))
            elif out.topic == settings.dead_letters_topic:
                result.dead_letters.append(orjson.loads(out.value))
            # else an unkeyed event re-published keyed (`Processor._rekey`): the copy is one of
            # the records read from its topic, recomputed at its own offset
    return result


# --------------------------------------------------------------------------- the checks


@dataclass
class _Customer:
    applied: dict[str, int] = field(default_factory=dict)  # event id -> event time
    active_days: set[int] = field(default_factory=set)
    dead_lettered: dict[str, tuple] = field(default_factory=dict)  # event id -> source coordinates
    last_offset: dict[tuple[str, int], int] = field(default_factory=dict)  # (kind, partition) -> last valid record
    reused: dict[str, int] = field(default_factory=dict)  # event id -> repeats at another event time (another event)


def verify(settings: Settings, observed: Observed, params: DetectorParams | None = None, *,
           snapshot: list[dict] | None = None, strict_warnings: bool = False) -> Report:
    """Check what the workers made of the inputs (see the module docstring); pure, no I/O."""
    params = params or settings.detector_params()
    report = Report(strict_warnings=strict_warnings)
    customers = _account(settings, observed, report)
    redo = recompute(settings, observed.inputs, params)
    _check_states(settings, observed, customers, redo.customers, params.state, report)
    if snapshot is not None:
        _check_snapshot(snapshot, customers, report)
    _compare_states(observed.states, redo.customers, params.state.history_days, report)
    _compare_dead_letters(settings, observed.dead_letters, redo.dead_letters, report)
    _compare_warnings(observed.warnings, redo.warnings, report)
    report.warnings["disagree_with_states"] = _warnings_against_states(
        observed.warnings, observed.states, LEVELS.index(settings.publish_min_level))
    return report


def _account(settings: Settings, observed: Observed, report: Report) -> dict[str, _Customer]:
    models = dict(zip(settings.customer_topics, (Login, PageView, Order, Complaint)))
    others = {settings.clock_ticks_topic: ClockTick, settings.market_events_topic: MarketEvent}
    known = {(r.topic, r.partition, r.offset) for r in observed.inputs}
    dead: dict[tuple, list[dict]] = defaultdict(list)
    for d in observed.dead_letters:
        where = (d["source_topic"], d["partition"], d["offset"])
        dead[where].append(d)
        if where not in known:
            report.accounting.append(f"dead letter for {_at(where)} ({d['reason']}), a record that is not on the topic")
    counts = Counter()
    customers: dict[str, _Customer] = defaultdict(_Customer)
    rekeyed: list[tuple] = []   # (where, customer, event id, (topic, partition) of its keyed copy)
    for rec in sorted(observed.inputs, key=lambda r: (r.topic, r.partition, r.offset)):
        where = rec[:3]
        model = models.get(rec.topic) or others.get(rec.topic)
        if model is None:
            continue
        try:
            event = parse_event(model, rec.value or b"", max_bytes=settings.max_event_bytes, key=rec.key)
            invalid = None
        except InvalidEvent as err:
            event, invalid = None, err
        if rec.topic in others:
            counts["ticks" if model is ClockTick else "market"] += 1
            if invalid is not None and where not in dead:
                report.accounting.append(f"{_at(where)} is invalid ({invalid.reason}) but not dead-lettered")
            elif invalid is None and where in dead:
                report.accounting.append(f"{_at(where)} is valid but dead-lettered ({dead[where][0]['reason']})")
            continue
        counts["records"] += 1
        if where in dead:
            counts["dead_lettered"] += 1
            if event is not None:
                customers[event.customer_id].dead_lettered.setdefault(event.event_id, where)
            continue
        if event is None:
            report.accounting.append(f"{_at(where)} is invalid ({invalid.reason}: {invalid.message[:80]}) "
                                     "but not dead-lettered: lost")
            continue
        if rec.key is None and settings.unkeyed_events == "rekey":
            # re-published keyed to its customer's partition (`Processor._rekey`): applied as that copy
            home = partition_for(event.customer_id.encode(), settings.partitions)
            counts["rekeyed"] += 1
            rekeyed.append((where, event.customer_id, event.event_id, (rec.topic, home)))
            continue
        c = customers[event.customer_id]
        c.last_offset[(kind_of(event), rec.partition)] = rec.offset  # records come in offset order
        if event.event_id in c.applied:
            counts["duplicates"] += 1
            if epoch(event.occurred_at) != c.applied[event.event_id]:
                c.reused[event.event_id] = c.reused.get(event.event_id, 0) + 1
            continue
        counts["applied"] += 1
        t = epoch(event.occurred_at)
        c.applied[event.event_id] = t
        if not (isinstance(event, Complaint) and event.status == "resolved"):
            c.active_days.add(t // DAY)
    for where, cid, event_id, copy_at in rekeyed:
        if event_id not in customers[cid].applied and event_id not in customers[cid].dead_lettered:
            report.accounting.append(f"{_at(where)} has no Kafka key and no keyed copy of it is on {copy_at[0]}"
                                     f"[{copy_at[1]}], its customer's partition: lost")
    report.counts = {k: counts[k] for k in ("records", "applied", "dead_lettered", "duplicates", "rekeyed", "ticks",
                                            "market")}
    report.counts["customers"] = sum(1 for c in customers.values() if c.applied)
    report.repeats = {"dead_letters_repeated": sum(1 for v in dead.values() if len(v) > 1)}
    return customers


def _rekeyed(counts: dict) -> str:
    n = counts.get("rekeyed", 0)
    return f", {n:,} unkeyed (applied as their keyed copies)" if n else ""


def _at(where: tuple) -> str:
    return f"{where[0]}[{where[1]}]@{where[2]}"


def _check_states(settings: Settings, observed: Observed, customers: dict[str, _Customer],
                  recomputed: dict[str, bytes], p: StateParams, report: Report) -> None:
    problems = report.accounting
    for cid in sorted(set(customers) | set(observed.states)):
        expected = customers[cid] if cid in customers else _Customer()
        raw = observed.states.get(cid)
        if raw is None:
            if expected.applied:
                problems.append(f"{cid}: {len(expected.applied)} applied events but no state: lost")
            continue
        s = decode(raw)
        if s.customer_id != cid:
            problems.append(f"{cid}: the changelog key holds the state of {s.customer_id!r}")
        if s.applied != len(expected.applied):
            problems.append(_count_problem(cid, s.applied, len(expected.applied), recomputed.get(cid), expected.reused))
        seen = {h for _, h in s.seen}
        horizon = s.last_event - p.dedup_seconds
        if len(s.seen) < p.max_dedup:
            missing = [e for e, t in expected.applied.items() if t >= horizon and seen_hash(e) not in seen]
            if missing:
                problems.append(f"{cid}: applied event {missing[0]!r} is missing from the state's recent ids"
                                f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}: lost")
        for e, where in expected.dead_lettered.items():
            if e not in expected.applied and seen_hash(e) in seen:
                problems.append(f"{cid}: event {e!r} at {_at(where)} is dead-lettered and also applied")
        if s.offsets:
            for kind, mark in zip(KINDS, s.offsets[1:]):
                last = expected.last_offset.get((kind, s.offsets[0]), -1)
                if mark > last:
                    problems.append(f"{cid}: the state marks {kind} records up to offset {mark} of partition "
                                    f"{s.offsets[0]} applied, but the customer's last one is at {last}: a new record "
                                    "there would be skipped")
        if not _gaps_fit(s, expected.active_days):
            report.state.append(f"{cid}: gaps {s.gaps} ending at day {s.last_active_day} do not fall on active days "
                                "of the applied events")


def _count_problem(cid: str, counted: int, expected: int, uninterrupted: bytes | None,
                   reused: Mapping[str, int] | None = None) -> str:
    """Say what a wrong applied count means, using the uninterrupted run to tell the cases apart.

    The uninterrupted run applies every valid event once, including those the worker
    dead-lettered; so `counted - uninterrupted` events were applied twice, and
    `uninterrupted - expected` were applied (before a crash, say) and also dead-lettered.
    """
    head = f"{cid}: state counts {counted} applied events, the inputs account for {expected} distinct ones"
    if expected == 0:
        return f"{cid}: state counts {counted} applied events but none of the customer's events is on the input topics"
    if counted < expected:
        return f"{head}: {expected - counted} lost"
    once = decode(uninterrupted).applied if uninterrupted is not None else expected
    if reused and counted == once and counted - expected <= sum(reused.values()):
        # one id on different events: the worker (and the recomputation) applied a later one as
        # new, once the first had left the dedup window, as it must
        (first, _), = list(reused.items())[:1]
        return (f"{head}: {counted - expected} more, because the same event id is used by different events "
                f"({first!r}{f' and {len(reused) - 1} more ids' if len(reused) > 1 else ''}); the later one came "
                f"after the first had left the dedup window and was applied as new: give each event its own id")
    both, twice = max(0, once - expected), max(0, counted - once)
    parts = ([f"{both} applied but also dead-lettered (must be one or the other)"] if both else []) + \
            ([f"{twice} applied twice (double-counted)"] if twice else [])
    return f"{head}: {'; '.join(parts) or f'{counted - expected} too many'}"


def _gaps_fit(s: CustomerState, active_days: set[int]) -> bool:
    """Every gap the state records runs between two days the customer was active on."""
    day = s.last_active_day
    if day < 0:
        return not s.gaps
    if day not in active_days:
        return False
    for gap in reversed(s.gaps):
        day -= gap
        if gap <= 0 or day not in active_days:
            return False
    return True


def _check_snapshot(rows: list[dict], customers: dict[str, _Customer], report: Report) -> None:
    listed = {row["customer_id"]: row for row in rows}
    for cid in sorted(set(listed) | {c for c, v in customers.items() if v.applied}):
        want = len(customers[cid].applied) if cid in customers else 0
        row = listed.get(cid)
        got = row.get("events_applied", 0) if row else 0
        if got != want:
            report.accounting.append(f"{cid}: the snapshot says {got} events applied, the inputs account for {want}")


def _state_fields(s: CustomerState, window_from: int) -> dict[str, Any]:
    keep = [i for i, d in enumerate(s.days) if d >= window_from]
    return {
        "customer_id": s.customer_id, "partition": s.partition, "first_seen": s.first_seen,
        "last_event": s.last_event, "last_active": s.last_active, "last_active_day": s.last_active_day,
        "applied": s.applied,
        # Daily buckets within the history window: an older bucket may linger until the next
        # login or view trims it, which depends on the read order.
        "daily": [(s.days[i], s.logins[i], s.views[i], s.dwell[i], s.bounces[i]) for i in keep],
        "orders": sorted(map(tuple, s.orders), key=repr),
        "complaints": sorted(map(tuple, s.complaints), key=repr),
        "seen": sorted(map(tuple, s.seen)),
    }


def _compare_states(states: dict[str, bytes], recomputed: dict[str, bytes], history_days: int,
                    report: Report) -> None:
    timing: Counter = Counter()
    for cid in sorted(set(states) | set(recomputed)):
        if cid not in recomputed:
            report.state.append(f"{cid}: the worker has a state, the recomputation none")
            continue
        if cid not in states:
            continue  # reported by the accounting as lost
        mine, redo = decode(states[cid]), decode(recomputed[cid])
        window = max(mine.last_event, redo.last_event) // DAY - history_days
        a, b = _state_fields(mine, window), _state_fields(redo, window)
        for name in EVIDENCE_FIELDS:
            if a[name] != b[name]:
                report.state.append(f"{cid}: {name} differs: {_short(a[name])} on the worker, "
                                    f"{_short(b[name])} recomputed")
        for name in _timing_fields():
            if getattr(mine, name) != getattr(redo, name):
                timing[name] += 1
        report.read_order_gaps += mine.gaps != redo.gaps
    report.timing_fields = dict(timing)


def _timing_fields() -> list[str]:
    known = set(EVIDENCE_FIELDS) | set(READ_ORDER_FIELDS) | set(_BUCKETS)
    return [f.name for f in dataclasses.fields(CustomerState) if f.name not in known]


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _compare_dead_letters(settings: Settings, actual: list[dict], recomputed: list[dict], report: Report) -> None:
    def by_source(rows: list[dict]) -> dict[tuple, str]:
        return {(d["source_topic"], d["partition"], d["offset"]): d["reason"] for d in rows}

    mine, redo = by_source(actual), by_source(recomputed)
    for where in sorted(set(mine) | set(redo)):
        if mine.get(where) != redo.get(where):
            report.state.append(f"{_at(where)}: dead-lettered as {mine.get(where) or '-'} by the worker, "
                                f"{redo.get(where) or '-'} by the recomputation")


def _compare_warnings(actual: list[dict], recomputed: list[dict], report: Report) -> None:
    copies = Counter(w["warning_id"] for w in actual)
    first: dict[str, dict] = {}
    differing = 0
    for w in actual:
        body = {k: v for k, v in w.items() if k != "emitted_at"}
        if w["warning_id"] in first:
            differing += first[w["warning_id"]] != body
        else:
            first[w["warning_id"]] = body
    redo = {w["warning_id"]: w for w in recomputed}
    only_topic = sorted(set(first) - set(redo), key=lambda i: (first[i]["occurred_at"], i))
    only_redo = sorted(set(redo) - set(first), key=lambda i: (str(redo[i]["occurred_at"]), i))

    def story(ws: Iterable[dict]) -> dict[str, list]:
        out: dict[str, list] = defaultdict(list)
        for w in sorted(ws, key=lambda w: str(w["occurred_at"])):
            out[w["customer_id"]].append((w["state"], w["level"]))
        return out

    mine, theirs = story(first.values()), story(redo.values())
    report.warnings = {
        "on_topic": len(first), "recomputed": len(redo), "common": len(set(first) & set(redo)),
        "only_on_topic": [_describe(first[i]) for i in only_topic],
        "only_recomputed": [_describe(redo[i]) for i in only_redo],
        "customers_story_differs": sum(1 for c in set(mine) | set(theirs) if mine.get(c) != theirs.get(c)),
    }
    report.repeats.update({
        "warning_ids_repeated": sum(1 for n in copies.values() if n > 1),
        "warning_extra_copies": sum(n - 1 for n in copies.values()),
        "warning_repeats_differing": differing,
    })


def _warnings_against_states(warnings: list[dict], states: dict[str, bytes], min_level: int = 1) -> list[str]:
    """Warnings that the states do not account for, whenever the worker judged.

    Each raise opens an episode (`state.episode` counts them) and the last warning emitted
    for a customer leaves the level the state holds (none after `cleared`). A raise lost
    between the state write and the send, or a raise no state remembers, shows here. With
    levels below `min_level` not published (`publish_min_level`), an episode that stayed
    below it has no raise on the topic: the raises are at most the episodes, and an open
    episode below it shows as none open.
    """
    by_customer: dict[str, dict[str, dict]] = defaultdict(dict)
    for w in warnings:  # in emission order (topic order per customer); repeats keep their first place
        by_customer[w["customer_id"]].setdefault(w["warning_id"], w)
    problems = []
    for cid in sorted(set(by_customer) | set(states)):
        ws = list(by_customer.get(cid, {}).values())
        if cid not in states:
            problems.append(f"{cid}: {len(ws)} warnings but no state")
            continue
        s = decode(states[cid])
        raised = sum(1 for w in ws if w["state"] == "raised")
        last = ws[-1] if ws else None
        open_on_topic = last["level"] if last and last["state"] != "cleared" else None
        open_in_state = LEVELS[s.level] if s.level >= max(1, min_level) else None
        episodes_ok = raised == s.episode if min_level <= 1 else raised <= s.episode
        if open_in_state and not any(w["state"] == "raised" and w.get("level") in LEVELS and w["warning_id"]
                                     == warning_id(s.customer_id, s.episode, "raised", LEVELS.index(w["level"]))
                                     for w in ws):
            episodes_ok = False   # the open episode's raise is not on the topic
        if not episodes_ok or open_on_topic != open_in_state:
            problems.append(f"{cid}: {raised} raised on the topic, last {last and last['state']} "
                            f"{last and last['level']}; the state counts {s.episode} episodes, open level "
                            f"{open_in_state}")
    return problems


def _describe(w: dict) -> str:
    return f"{w['customer_id']} {w['state']} {w['level']} at {w['occurred_at']} ({w['warning_id']})"


# --------------------------------------------------------------------------- reading Kafka


def read_records(settings: Settings, topics: list[str], *, optional: Iterable[str] = (), idle_seconds: float = 1.5,
                 timeout: float = 600.0) -> list[TopicRecord]:
    """Every record of `topics` (and of the `optional` ones that exist) from the beginning,
    sorted by topic, partition and offset.

    Reads until every partition has reached the end offset the broker reports and then
    nothing new arrives for `idle_seconds`: the embedded broker reports end offsets too low
    after a multi-record batch, never too high. A missing topic of `topics` is an error.
    """
    from kafka import TopicPartition
    from kafka.errors import KafkaError

    from streams import kafka_clients

    consumer = kafka_clients.consumer(settings)
    try:
        tps = []
        needed = set(topics)
        for topic in [*topics, *optional]:
            parts = consumer.partitions_for_topic(topic)
            if not parts and topic in needed:
                raise VerifyError(f"topic {topic!r} does not exist on {settings.broker}; "
                                  "are the settings (CHURNWATCH_TOPIC_PREFIX, CHURNWATCH_APP_ID) those of the workers?")
            tps += [TopicPartition(topic, p) for p in sorted(parts or ())]
        if not tps:
            return []
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        reached = dict.fromkeys(tps, 0)
        records: list[TopicRecord] = []
        started = last_new = time.monotonic()
        while True:
            batch = consumer.poll(timeout_ms=200, max_records=50_000)
            now = time.monotonic()
            for tp, recs in batch.items():
                records.extend(TopicRecord(r.topic, r.partition, r.offset, r.key, r.value) for r in recs)
                reached[tp] = recs[-1].offset + 1
                last_new = now
            if now - last_new >= idle_seconds and all(reached[tp] >= ends[tp] for tp in tps):
                break
            if now - started > timeout:
                behind = [f"{tp.topic}[{tp.partition}]" for tp in tps if reached[tp] < ends[tp]]
                raise VerifyError(f"could not read {', '.join(behind) or 'the topics'} to their end within {timeout:g} s")
        return sorted(records, key=lambda r: (r.topic, r.partition, r.offset))
    except KafkaError as err:
        raise kafka_clients.broker_unreachable(settings, err) from err
    finally:
        consumer.close()


def collect(settings: Settings, *, idle_seconds: float = 1.5) -> Observed:
    """Read the inputs, dead letters, warnings and the latest customer states from Kafka."""
    from streams.broker import changelog_topic_names

    changelog = changelog_topic_names(settings)[0]
    inputs = [*settings.customer_topics, settings.clock_ticks_topic, settings.market_events_topic]
    outputs = [settings.dead_letters_topic, settings.warnings_topic]
    by_topic: dict[str, list[TopicRecord]] = defaultdict(list)
    for rec in read_records(settings, inputs + outputs, optional=[changelog], idle_seconds=idle_seconds):
        by_topic[rec.topic].append(rec)
    states: dict[str, bytes] = {}
    for rec in by_topic[changelog]:  # in offset order per partition: the last value wins
        key = (rec.key or b"").decode("utf-8", errors="backslashreplace")
        if rec.value is None:
            states.pop(key, None)
        else:
            states[key] = rec.value
    warnings = [orjson.loads(r.value) for r in by_topic[settings.warnings_topic]]
    hide = pseudonymiser(settings)
    if hide is not None:
        # Warnings carry keyed hashes of the ids (streams.privacy); with the key, map them
        # back to the customers whose states they must agree with.
        clear = {hide.customer(cid): cid for cid in states}
        for w in warnings:
            w["customer_id"] = clear.get(w["customer_id"], w["customer_id"])
    return Observed([r for t in inputs for r in by_topic[t]],
                    [orjson.loads(r.value) for r in by_topic[settings.dead_letters_topic]],
                    warnings, states)


def run(settings: Settings, *, wait_seconds: float | None = 60.0, snapshot_path: str | None = None,
        strict_warnings: bool = False, idle_seconds: float = 1.5, report=None) -> Report:
    """Wait for the workers to process what was published (unless `wait_seconds` is None: as
    long as they make progress, `wait_seconds` without any at most; `report` hears how far
    they are), read, verify."""
    if wait_seconds is not None:
        from streams.snapshot import wait_until_processed

        wait_until_processed(settings, wait_seconds, report=report)
    snapshot = None
    if snapshot_path is not None:
        with open(snapshot_path, "rb") as rows:
            snapshot = [orjson.loads(line) for line in rows if line.strip()]
    return verify(settings, collect(settings, idle_seconds=idle_seconds), snapshot=snapshot,
                  strict_warnings=strict_warnings)


def register(group: Any) -> None:
    """Add ``churnwatch verify`` to a click group (the ``churnwatch`` command)."""
    import sys

    import click

    @group.command("verify")
    @click.option("--broker", metavar="HOST:PORT", default=None,
                  help="Kafka bootstrap server(s) [default: CHURNWATCH_BROKER or 127.0.0.1:9092].")
    @click.option("--snapshot", "snapshot_path", type=click.Path(exists=True, dir_okay=False), default=None,
                  help="Also check a `churnwatch snapshot` file's applied counts against the inputs.")
    @click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
    @click.option("--timeout", type=click.FloatRange(min=0), default=60.0, show_default=True, metavar="S",
                  help="Seconds the workers may go without processing anything before the check gives up; "
                       "while they work through what was already published it waits for them (0: do not wait).")
    @click.option("--strict-warnings", is_flag=True,
                  help="Also fail when the distinct warnings differ from the recomputation's or disagree "
                       "with the states.")
    def verify_command(broker: str | None, snapshot_path: str | None, as_json: bool, timeout: float,
                       strict_warnings: bool) -> None:
        """Check from the topics that every input is applied once or dead-lettered, and that each
        customer's state equals a recomputation from the inputs; exit 1 when not."""
        from streams.cli import load_settings

        report = run(load_settings(broker), wait_seconds=timeout or None, snapshot_path=snapshot_path,
                     strict_warnings=strict_warnings, report=lambda line: click.echo(line, err=True))
        click.echo(orjson.dumps(report.as_dict()).decode() if as_json else report.render())
        if not report.ok:
            failed = [name for name, bad in (("(a) accounting", report.accounting), ("(b) state", report.state),
                                             ("(c) warnings", strict_warnings and not report.warnings_match)) if bad]
            click.echo(f"verification failed: {', '.join(failed)}", err=True)
            sys.exit(1)
