"""Publish a JSON Lines file of events to their topics, and move event time forward.

A replay file holds one event per line: ``{"type": "order", <the Order contract fields>}``
(``type`` is one of ``schemas.events.EVENT_TYPES``), plain or gzipped. Each line is
validated with the same contract the worker uses, so a bad file is refused before anything
is sent, with every bad line's number. Events go to the topic of their type, keyed by
``customer_id`` (market events: ``category``), valued with the contract JSON (without
``type``), in event-time order unless told otherwise.

A file is read twice, line by line, and never held: `scan_replay` checks every line, finds
the stretches in event-time order and counts the records per partition; `records_in_order`
then reads it again in order, merging up to `MAX_RUNS` stretches (converted exports
concatenated) as it goes. Only a file in no such order is sorted in memory.

Partitions are chosen here with Kafka's default partitioner (murmur2 of the key, as the
Java client, aiokafka and Faust do), so the same customer lands on the same partition of
every customer topic. Knowing the partition up front also lets the replay send the last
record of every partition in a produce request of its own: the embedded Tansu broker
reports a partition's end offset as the first offset of its newest batch plus one, and a
lone last record makes that figure exact for anyone who waits on end offsets (``snapshot``).

Moving event time: the worker's clock on a partition is the largest event time it has seen
there. ``advance_event_time`` sends one :class:`~schemas.events.ClockTick` to every
partition of the tick topic, so silence up to that time is seen even on partitions that
got no event.

Example:
    >>> lines = [b'{"type":"login","event_id":"e2","customer_id":"c1","occurred_at":"2025-03-02T00:00:00Z","channel":"web"}',
    ...          b'',
    ...          b'{"type":"login","event_id":"e1","customer_id":"c1","occurred_at":"2025-03-01T00:00:00Z","channel":"app"}',
    ...          b'{"type":"login","event_id":"e3"}']
    >>> loaded = load_replay_lines(lines, Settings())
    >>> [(r.topic, r.key) for r in loaded.records]
    [('logins', b'c1'), ('logins', b'c1')]
    >>> [str(line) for line in loaded.invalid]
    ['line 4: customer_id: required field is missing']
"""

from __future__ import annotations

import gzip
import heapq
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from operator import attrgetter
from pathlib import Path
from typing import IO, TypeVar

from kafka.errors import KafkaError
from kafka.partitioner.default import murmur2
from pydantic import TypeAdapter, ValidationError

from schemas.base import TIMESTAMP_EXPECTED, UtcDatetime
from schemas.errors import ChurnwatchError
from schemas.events import ClockTick, parse_replay_line, to_json_bytes
from streams.broker import check_topics
from streams.kafka_clients import broker_unreachable, producer
from streams.settings import Settings

#: Producer batch size for replays, in bytes. Large batches are what makes a replay fast
#: (~20,000 events/s against ~4,500 with one record per request); the exact-end-offset
#: problem of the embedded broker is handled by sending each partition's last record alone.
REPLAY_BATCH_BYTES = 256 * 1024

T = TypeVar("T")


#: Invalid lines of a refused file named one by one (`churnwatch replay`, `offline`, ...); the rest are counted.
SHOWN_INVALID_LINES = 20


class ReplayError(ChurnwatchError):
    """The replay file cannot be published (bad lines, unreadable file, failed sends)."""


@dataclass(frozen=True, slots=True)
class Record:
    """One event ready to send: where it goes and its bytes."""

    occurred_at: datetime
    topic: str
    key: bytes
    value: bytes
    line_number: int


@dataclass(frozen=True)
class InvalidLine:
    """A line of the replay file that breaks the contract, and why."""

    line_number: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.message}"


@dataclass
class LoadedFile:
    records: list[Record] = field(default_factory=list)
    invalid: list[InvalidLine] = field(default_factory=list)


@dataclass
class ReplayResult:
    """What a replay sent: events per topic, ticks, and how long it took (wall seconds)."""

    published: dict[str, int]
    seconds: float
    skipped_invalid: int = 0

    @property
    def total(self) -> int:
        return sum(self.published.values())


def iter_replay_records(lines: Iterable[bytes], settings: Settings, *,
                        start: int = 1) -> Iterator[Record | InvalidLine]:
    """Validate replay lines one by one: a `Record` for each valid line, an `InvalidLine` for
    each bad one, nothing for blank lines (see `load_replay_lines`); `start` is the number of
    the first line."""
    for number, line in enumerate(lines, start=start):
        if not line.strip():
            continue
        try:
            event_type, event = parse_replay_line(line)
        except (ChurnwatchError, ValueError) as error:
            yield InvalidLine(number, " ".join(str(error).split()))
            continue
        value = to_json_bytes(event)
        if len(value) > settings.max_event_bytes:
            yield InvalidLine(number, f"event is {len(value)} bytes, expected at most {settings.max_event_bytes} "
                                      "(CHURNWATCH_MAX_EVENT_BYTES)")
            continue
        key = event.category if event_type == "market_event" else event.customer_id
        yield Record(event.occurred_at, settings.topic_for_event_type(event_type), key.encode("utf-8"), value, number)


def load_replay_lines(lines: Iterable[bytes], settings: Settings, *, sort: bool = True) -> LoadedFile:
    """Validate replay lines and turn them into records; blank lines are skipped.

    Parameters:
        lines: the file's lines (bytes, with or without the newline).
        settings: topic names and the size limit (``max_event_bytes``).
        sort: order records by ``occurred_at`` (stable: ties keep file order).

    A line is invalid when it breaks its contract or when the event would be larger than
    ``settings.max_event_bytes`` (the worker would dead-letter it as oversize).
    """
    loaded = LoadedFile()
    for item in iter_replay_records(lines, settings):
        (loaded.invalid if isinstance(item, InvalidLine) else loaded.records).append(item)
    if sort:
        loaded.records.sort(key=attrgetter("occurred_at"))
    return loaded


def read_lines(path: str | Path) -> Iterator[bytes]:
    """Lines of a file, gunzipped when it starts with the gzip magic bytes (whatever its name)."""
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
        opener: Callable[..., IO[bytes]] = gzip.open if gzipped else open
        with opener(path, "rb") as stream:
            yield from stream
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
        raise ReplayError(f"cannot read {path}: {error}") from error


#: Most stretches in event-time order a file may be made of to be put in order as it is
#: read (each stretch is read from the file on its own); a file of more is sorted in memory.
MAX_RUNS = 16


@dataclass
class ReplayScan:
    """What one checking pass over a replay file found (`scan_replay`)."""

    records: int = 0                                   # valid lines
    invalid_count: int = 0
    invalid: list[InvalidLine] = field(default_factory=list)   # the first of them
    # Line numbers where a stretch in event-time order starts (the first at line 1); the
    # file is in order when there is one.
    runs: list[int] = field(default_factory=lambda: [1])
    last_time: int = 0                                 # newest customer event, epoch seconds
    counts: dict[tuple[str, int], int] = field(default_factory=dict)   # valid records per (topic, partition)

    @property
    def in_stretches(self) -> bool:
        """Few enough stretches to be put in order as the file is read (`in_event_time_order`)."""
        return len(self.runs) <= MAX_RUNS


def scan_replay(lines: Iterable[bytes], settings: Settings, *, keep_invalid: int = 20) -> ReplayScan:
    """Check every line of a replay file without holding it: validity, order, counts.

    Example:
        >>> lines = [b'{"type":"login","event_id":"e2","customer_id":"c1","occurred_at":"2025-03-02T00:00:00Z","channel":"web"}',
        ...          b'{"type":"login","event_id":"e3","customer_id":"c1","occurred_at":"2025-03-03T00:00:00Z","channel":"web"}',
        ...          b'{"type":"login","event_id":"e1","customer_id":"c2","occurred_at":"2025-03-01T00:00:00Z","channel":"app"}',
        ...          b'{"type":"login"}']
        >>> scan = scan_replay(lines, Settings(partitions=4))
        >>> scan.records, scan.invalid_count, scan.runs, sorted(scan.counts.items())
        (3, 1, [1, 3], [(('logins', 1), 1), (('logins', 3), 2)])
    """
    scan = ReplayScan()
    market = settings.market_events_topic
    partition_of: dict[bytes, int] = {}       # a customer's partition, the same on every customer topic
    market_partition_of: dict[bytes, int] = {}
    previous = None
    for rec in iter_replay_records(lines, settings):
        if isinstance(rec, InvalidLine):
            scan.invalid_count += 1
            if len(scan.invalid) < keep_invalid:
                scan.invalid.append(rec)
            continue
        if previous is not None and rec.occurred_at < previous:
            scan.runs.append(rec.line_number)
        previous = rec.occurred_at
        scan.records += 1
        if rec.topic == market:
            cache, parts = market_partition_of, settings.market_partitions
        else:
            cache, parts = partition_of, settings.partitions
            scan.last_time = max(scan.last_time, int(rec.occurred_at.timestamp()))
        p = cache.get(rec.key)
        if p is None:
            p = cache[rec.key] = partition_for(rec.key, parts)
        scan.counts[(rec.topic, p)] = scan.counts.get((rec.topic, p), 0) + 1
    return scan


def in_event_time_order(lines: Iterable[bytes], scan: ReplayScan, read: Callable[[Iterable[bytes], int], Iterator[T]],
                        key: Callable[[T], datetime]) -> Iterator[T]:
    """The items of a scanned file (`scan.in_stretches`) in the order of a stable sort by
    event time, as it is read: each stretch in order is read from the file on its own
    (`read(its lines, number of its first line)`) and the stretches are merged by `key`,
    ties to the earlier stretch, as they stand in the file."""
    if len(scan.runs) == 1:
        return read(lines, 1)
    ends = [*scan.runs[1:], None]
    stretches = [read(islice(lines, start - 1, end - 1 if end else None), start) for start, end in zip(scan.runs, ends)]
    return heapq.merge(*stretches, key=key)


def records_in_order(lines: Iterable[bytes], settings: Settings, scan: ReplayScan, *,
                     sort: bool = True) -> Iterable[Record]:
    """The valid records of a scanned file, in event-time order (`sort`) or file order; read
    as they go unless the file has more than `MAX_RUNS` stretches (then sorted in memory)."""
    def read(part: Iterable[bytes], start: int) -> Iterator[Record]:
        return (r for r in iter_replay_records(part, settings, start=start) if isinstance(r, Record))

    if not sort:
        return read(lines, 1)
    if scan.in_stretches:
        return in_event_time_order(lines, scan, read, attrgetter("occurred_at"))
    return load_replay_lines(lines, settings).records


@dataclass(frozen=True)
class ReplayFile:
    """A replay file that can be read more than once: each iteration opens it again.

    What `churnwatch offline` and `churnwatch bootstrap` read, so that a history is read
    line by line (once to check it, then to process it) instead of held in memory.
    """

    path: Path

    def __iter__(self) -> Iterator[bytes]:
        return read_lines(self.path)


def partition_for(key: bytes, partitions: int) -> int:
    """Kafka's default partition for a key (murmur2, as the Java client and Faust compute it).

    Example:
        >>> [partition_for(b"cust-%d" % i, 4) for i in range(6)]
        [0, 3, 1, 3, 0, 2]
    """
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def publish(
    settings: Settings,
    records: Iterable[Record],
    *,
    rate: float | None = None,
    progress: Callable[[int], None] | None = None,
    counts: dict[tuple[str, int], int] | None = None,
) -> ReplayResult:
    """Send records in order; raise :class:`ReplayError` unless every one was acknowledged.

    Parameters:
        settings: broker and topic settings; the topics must exist with the expected
            partition counts (``churnwatch topics`` creates them).
        records: from :func:`load_replay_lines`, or read as they go (`records_in_order`).
        rate: events per wall-clock second, for live demos; ``None`` sends as fast as the
            broker takes them.
        progress: called now and then with the number of records handed to the producer.
        counts: the records per (topic, partition), from `scan_replay`: records are then
            sent as they come, holding back only each partition's last one [default:
            counted here, holding every record].
    """
    started = time.monotonic()
    market = settings.market_events_topic
    if counts is None:
        records = list(records)
        counts = {}
        for r in records:
            parts = settings.market_partitions if r.topic == market else settings.partitions
            key = (r.topic, partition_for(r.key, parts))
            counts[key] = counts.get(key, 0) + 1
    if not counts:
        return ReplayResult({}, 0.0)
    topics = sorted({topic for topic, _ in counts})
    check_topics(settings, topics)
    remaining = dict(counts)
    partition_of: dict[tuple[str, bytes], int] = {}
    held_back: list[tuple[Record, int]] = []   # each partition's last record

    failures: list[BaseException] = []
    client = producer(settings, batch_size=REPLAY_BATCH_BYTES)
    published: dict[str, int] = dict.fromkeys(topics, 0)
    try:
        for i, record in enumerate(records):
            if rate is not None:
                delay = started + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            route = (record.topic == market, record.key)
            partition = partition_of.get(route)
            if partition is None:
                parts = settings.market_partitions if route[0] else settings.partitions
                partition = partition_of[route] = partition_for(record.key, parts)
            left = remaining[(record.topic, partition)] = remaining[(record.topic, partition)] - 1
            if left == 0:
                held_back.append((record, partition))
                continue
            client.send(record.topic, value=record.value, key=record.key, partition=partition).add_errback(
                failures.append
            )
            published[record.topic] += 1
            if progress is not None and i % 1000 == 0:
                progress(i)
        client.flush()
        # Each partition's last record in a request of its own: see the module docstring.
        for record, partition in held_back:
            client.send(record.topic, value=record.value, key=record.key, partition=partition).add_errback(
                failures.append
            )
            client.flush()
            published[record.topic] += 1
        if progress is not None:
            progress(sum(published.values()))
    except KafkaError as error:
        raise broker_unreachable(settings, error) from error
    finally:
        client.close(timeout=settings.client_timeout_seconds)
    if failures:
        raise ReplayError(
            f"{len(failures)} of {sum(counts.values())} events were not acknowledged by {settings.broker}; "
            f"first error: {' '.join(str(failures[0]).split()) or type(failures[0]).__name__}"
        )
    return ReplayResult(published, time.monotonic() - started)


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 time with offset, or a bare date (its midnight UTC), as UTC; :class:`ReplayError` otherwise.

    Example:
        >>> parse_timestamp("2025-03-04T12:00:00+02:00").isoformat()
        '2025-03-04T10:00:00+00:00'
        >>> parse_timestamp("2025-03-04").isoformat()
        '2025-03-04T00:00:00+00:00'
        >>> parse_timestamp("2025-03-04 12:00")
        Traceback (most recent call last):
        ...
        streams.replay.ReplayError: '2025-03-04 12:00': expected a date (YYYY-MM-DD, midnight UTC) or an RFC 3339 timestamp with a UTC offset, e.g. 2024-05-01T12:00:00Z
    """
    value = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        value += "T00:00:00Z"
    try:
        return _TIMESTAMP.validate_python(value)
    except ValidationError:
        raise ReplayError(f"{text!r}: expected a date (YYYY-MM-DD, midnight UTC) or {TIMESTAMP_EXPECTED}") from None


_TIMESTAMP: TypeAdapter[datetime] = TypeAdapter(UtcDatetime)


def advance_event_time(settings: Settings, to: datetime) -> int:
    """Move event time of every partition to ``to``: one tick per partition of the tick topic.

    Each tick goes to its partition explicitly (key: the partition number) in a produce
    request of its own, acknowledged before the next. Returns the number of ticks sent.
    """
    check_topics(settings, [settings.clock_ticks_topic])
    client = producer(settings, batch_size=1, linger_seconds=0)
    try:
        for partition in range(settings.partitions):
            tick = ClockTick(partition=partition, occurred_at=to)
            future = client.send(
                settings.clock_ticks_topic,
                key=str(partition).encode("ascii"),
                value=to_json_bytes(tick),
                partition=partition,
            )
            client.flush()
            future.get(timeout=settings.client_timeout_seconds)
    except KafkaError as error:
        raise broker_unreachable(settings, error) from error
    finally:
        client.close(timeout=settings.client_timeout_seconds)
    return settings.partitions


class ProgressLine:
    """A one-line progress bar on a terminal (redrawn at most 5 times a second).

    Writes nothing when ``stream`` is not a terminal, so logs and pipes stay clean.
    """

    def __init__(self, total: int, stream: IO[str] | None = None, label: str = "replay") -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.label = label
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)()) and total > 0
        self._started = time.monotonic()
        self._drawn = 0.0

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < self.total and now - self._drawn < 0.2:
            return
        self._drawn = now
        fraction = done / self.total
        width = 30
        bar = "#" * int(fraction * width) + "." * (width - int(fraction * width))
        speed = done / max(now - self._started, 1e-9)
        self.stream.write(
            f"\r{self.label} [{bar}] {done:,}/{self.total:,} {fraction:4.0%} {speed:,.0f} events/s"
        )
        if done >= self.total:
            self.stream.write("\n")
        self.stream.flush()
