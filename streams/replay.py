"""Publish a JSON Lines file of events to their topics, and move event time forward.

A replay file holds one event per line: ``{"type": "order", <the Order contract fields>}``
(``type`` is one of ``schemas.events.EVENT_TYPES``), plain or gzipped. Each line is
validated with the same contract the worker uses, so a bad file is refused before anything
is sent, with every bad line's number. Events go to the topic of their type, keyed by
``customer_id`` (market events: ``category``), valued with the contract JSON (without
``type``), in event-time order unless told otherwise.

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
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from pathlib import Path
from typing import IO

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


def iter_replay_records(lines: Iterable[bytes], settings: Settings) -> Iterator[Record | InvalidLine]:
    """Validate replay lines one by one: a `Record` for each valid line, an `InvalidLine` for
    each bad one, nothing for blank lines (see `load_replay_lines`)."""
    for number, line in enumerate(lines, start=1):
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
    records: list[Record],
    *,
    rate: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Send records in order; raise :class:`ReplayError` unless every one was acknowledged.

    Parameters:
        settings: broker and topic settings; the topics must exist with the expected
            partition counts (``churnwatch topics`` creates them).
        records: from :func:`load_replay_lines`.
        rate: events per wall-clock second, for live demos; ``None`` sends as fast as the
            broker takes them.
        progress: called now and then with the number of records handed to the producer.
    """
    started = time.monotonic()
    topics = sorted({r.topic for r in records})
    if not records:
        return ReplayResult({}, 0.0)
    check_topics(settings, topics)
    counts_by_topic = {topic: settings.market_partitions if topic == settings.market_events_topic else settings.partitions
                       for topic in topics}

    routed = [(r, partition_for(r.key, counts_by_topic[r.topic])) for r in records]
    last_of_partition = {(r.topic, p): i for i, (r, p) in enumerate(routed)}
    held_back = set(last_of_partition.values())

    failures: list[BaseException] = []
    client = producer(settings, batch_size=REPLAY_BATCH_BYTES)
    published: dict[str, int] = dict.fromkeys(topics, 0)
    try:
        for i, (record, partition) in enumerate(routed):
            if rate is not None:
                delay = started + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if i in held_back:
                continue
            client.send(record.topic, value=record.value, key=record.key, partition=partition).add_errback(
                failures.append
            )
            published[record.topic] += 1
            if progress is not None and i % 1000 == 0:
                progress(i)
        client.flush()
        # Each partition's last record in a request of its own: see the module docstring.
        for i in sorted(held_back):
            record, partition = routed[i]
            client.send(record.topic, value=record.value, key=record.key, partition=partition).add_errback(
                failures.append
            )
            client.flush()
            published[record.topic] += 1
        if progress is not None:
            progress(len(routed))
    except KafkaError as error:
        raise broker_unreachable(settings, error) from error
    finally:
        client.close(timeout=settings.client_timeout_seconds)
    if failures:
        raise ReplayError(
            f"{len(failures)} of {len(records)} events were not acknowledged by {settings.broker}; "
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
