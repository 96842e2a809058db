"""`churnwatch bootstrap`: build workers' state from a history file in bulk, outside Faust.

Replaying years of history through a worker costs Faust's per-message machinery on every
event. A bootstrap runs the worker's own per-message step (`streams.offline.run_offline`:
the same `Processor`, detectors and lifecycle, fed in event-time order) over the history
file in one process, then writes the result where a worker's tables recover from: the
table changelogs.

* `customers` changelog: one record per customer, key = the customer id (UTF-8 bytes, as
  the worker's `bytes` table writes it raw), value = the encoded state
  (`detectors.state.encode`), on partition `partition_for(key)`: the worker writes a
  table record to the partition of the event being processed, and every customer event is
  produced to the murmur2 partition of its customer id, so that is where the worker itself
  would have put it (and where the state's own `partition` field says it belongs; a record
  whose field disagrees stops the bootstrap).
* `clocks` changelog: each partition's watermark (key ``"<p>"``) and per-topic stream
  times (``"<p>/<topic>"``), on partition *p*, JSON-encoded as Faust's json serializer
  writes them (``b'"0"'`` -> ``b'1704445924'``).

* `models` changelog: each partition's online-model checkpoint (key ``"<p>"``, the model
  as the bulk run left it) and population fit (key ``prior/<p>``, `detectors.population`),
  on partition *p*, raw bytes as the worker's `bytes` table writes them.

A worker started afterwards recovers the three tables, rebuilds its due index from them,
and continues as if it had streamed the history itself: the same customer states, judged
with the same population fits, scored by the same models.

The flow, on an empty application id (the bootstrap refuses changelogs that hold records:
it would overwrite state newer than the file):

1. ``churnwatch topics``;
2. ``churnwatch bootstrap history.jsonl.gz`` (``--advance-to TS`` to judge quiet customers
   up to TS, as ``churnwatch replay --advance-to`` would);
3. ``churnwatch worker``, then stream only events newer than the history.

The warnings topic: by default a bootstrap publishes nothing there, and the warnings of the
history stay in the customers' state (the snapshot and ``churnwatch worklist`` show them).
``--warnings open`` also publishes the steps of every episode still open at the end of the
history (at most one per customer: who is at risk as the workers take over), and
``--warnings all`` every step a worker streaming the same file would have published, with
the same ids and evidence (a backtest at bulk speed). Each step is published as a worker
publishes it: keyed by the customer id (or its pseudonym), at levels from
``CHURNWATCH_PUBLISH_MIN_LEVEL`` on, `emitted_at` the time of publication. They go out
before the state records, so a bootstrap that fails can be run again (its warnings then
appear twice, with the same ids).

When the history was also published to the input topics (say, they keep it), add
``--commit-offsets``: the worker group's offsets are committed at the end of every input
topic, so the worker does not read the history again (it would dead-letter it as late).
Nothing else may be published to the input topics between the history and the bootstrap:
what arrives before the commit is skipped.

The embedded broker reports a partition's end offset too low when the last produce batch
held several records, and a recovering worker trusts that offset; records go out in large
batches and each partition's last record in a request of its own (as `churnwatch replay`
does), which makes every end offset exact.

Example:
    >>> from detectors.state import CustomerState, encode
    >>> s = Settings(partitions=2, app_id="shop")
    >>> state = CustomerState("c1", partition=partition_for(b"c1", 2), applied=3)
    >>> records = changelog_records(s, {"c1": encode(state)}, {"1": 1704445924, "1/logins": 1704445900},
    ...                             {"1": b"CWMODEL1...", "prior/1": b"..."})
    >>> [(r.topic, r.partition, r.key) for r in records]  # doctest: +NORMALIZE_WHITESPACE
    [('shop-customers-changelog', 1, b'c1'), ('shop-clocks-changelog', 1, b'"1"'),
     ('shop-clocks-changelog', 1, b'"1/logins"'), ('shop-models-changelog', 1, b'1'),
     ('shop-models-changelog', 1, b'prior/1')]
    >>> records[1].value
    b'1704445924'
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from detectors.state import record_partition
from schemas.errors import ChurnwatchError
from streams import kafka_clients
from streams.security import client_security
from schemas.events import to_json_bytes
from schemas.outputs import ChurnWarning
from streams.broker import changelog_topic_names, check_topics
from streams.offline import SORTED_IN_MEMORY_NOTE, WARNING_CHOICES, OfflineResult, WarningSteps, run_offline
from streams.privacy import pseudonymiser
from streams.replay import REPLAY_BATCH_BYTES, Record, ReplayFile, iter_replay_records, partition_for, publish
from streams.settings import Settings


class BootstrapError(ChurnwatchError):
    """The bootstrap cannot be done (changelogs not empty, history not on the topics, failed sends)."""


@dataclass(frozen=True, slots=True)
class ChangelogRecord:
    """One record for a table changelog, with the partition it must land on."""

    topic: str
    partition: int
    key: bytes
    value: bytes


@dataclass
class BootstrapResult:
    """What a bootstrap computed and wrote, and how long each step took (seconds)."""

    events: int
    customers: int
    clock_records: int
    dead_letters: int
    warnings: int
    process_seconds: float       # wall time of the bulk run (run_offline)
    process_cpu_seconds: float   # CPU time of the bulk run (this process and, with --processes, its children)
    produce_seconds: float
    committed: dict[str, int] | None = None   # topic -> offset committed, summed over partitions
    model_records: int = 0                    # model checkpoints and population fits
    assessment_errors: int = 0                # customers whose assessment failed (a bug; logged)
    warnings_published: int = 0               # warning steps published (--warnings open or all)
    publish_seconds: float = 0.0              # ... and the time that took
    sorted_in_memory: bool = False            # the history was not in (stretches of) event-time order
    market_events: int = 0                    # the history's market events published to the market topic

    @property
    def events_per_second(self) -> float:
        """Bulk processing speed: events over the wall time of the run."""
        return self.events / self.process_seconds if self.process_seconds > 0 else float("inf")


def changelog_records(settings: Settings, customers: Mapping[str, bytes],
                      clocks: Mapping[str, int], models: Mapping[str, bytes] | None = None) -> list[ChangelogRecord]:
    """The changelog records a worker's tables would hold for this state (see module docstring).

    Parameters:
        customers: customer id -> encoded state, as `run_offline` leaves them.
        clocks: ``"<p>"`` / ``"<p>/<topic>"`` -> epoch seconds, as `run_offline` leaves them.
        models: the `models` table as `run_offline` leaves it (`OfflineResult.models`):
            ``"<p>"`` -> the partition's model checkpoint, ``"prior/<p>"`` -> its population
            fit, so a worker scores with the model and judges with the fit the bulk run made.

    Raises BootstrapError when a state's own partition is not its key's partition (the
    partition count of the run and of `settings` differ).
    """
    customers_topic, clocks_topic, models_topic = changelog_topic_names(settings)[:3]
    records = []
    for customer_id, value in customers.items():
        key = customer_id.encode("utf-8")
        partition = partition_for(key, settings.partitions)
        own = record_partition(value)
        if own != partition:
            raise BootstrapError(
                f"customer {customer_id!r}: state computed for partition {own}, but its key goes to partition "
                f"{partition} of {settings.partitions}; run the bootstrap with the workers' CHURNWATCH_PARTITIONS")
        records.append(ChangelogRecord(customers_topic, partition, key, value))
    for name, value in clocks.items():
        partition = int(str(name).split("/", 1)[0])
        # Faust's json serializer is orjson here: a str key and an int value, nothing around them.
        records.append(ChangelogRecord(clocks_topic, partition, orjson.dumps(str(name)), orjson.dumps(int(value))))
    for name, value in (models or {}).items():
        records.append(ChangelogRecord(models_topic, int(name.rsplit("/", 1)[-1]), name.encode(), value))
    return records


#: What `--warnings` may ask a bootstrap to publish.
def warnings_to_publish(warnings: list[dict], which: str) -> list[dict]:
    """The history's warning steps (in the order the run emitted them) that a bootstrap publishes.

    ``all``: every step, as a worker streaming the history would have published them;
    ``open``: the steps of the episodes still open at the end (those after each customer's
    last ``cleared``); ``none``: nothing. `run_offline(keep_warnings=which)` keeps just
    these as it goes (`streams.offline.WarningSteps`).

    >>> steps = [{"customer_id": "a", "state": "raised"}, {"customer_id": "a", "state": "cleared"},
    ...          {"customer_id": "b", "state": "raised"}, {"customer_id": "a", "state": "raised"},
    ...          {"customer_id": "b", "state": "escalated"}, {"customer_id": "c", "state": "raised"},
    ...          {"customer_id": "c", "state": "cleared"}]
    >>> [(w["customer_id"], w["state"]) for w in warnings_to_publish(steps, "open")]
    [('b', 'raised'), ('a', 'raised'), ('b', 'escalated')]
    >>> len(warnings_to_publish(steps, "all")), warnings_to_publish(steps, "none")
    (7, [])
    """
    kept = WarningSteps(which)
    for place, w in enumerate(warnings):
        kept.add(place, w)
    return [w for _, w in kept.kept()]


def publish_warnings(settings: Settings, warnings: Iterable[dict], emitted_at: datetime) -> float:
    """Publish warning steps to the warnings topic as a worker does: the contract's bytes,
    keyed by the customer id, on its key's partition (the producers' default partitioner, as
    a worker's sends land), in order, pseudonymised when the settings ask for it, `emitted_at` set.
    The steps are sent as they are read.

    Returns the seconds it took; raises BootstrapError unless every step was acknowledged.
    """
    hide = pseudonymiser(settings)

    def steps() -> Iterator[tuple[str, int, bytes, bytes]]:
        for w in warnings:
            value = to_json_bytes(ChurnWarning(**{**w, "emitted_at": emitted_at}))
            key = w["customer_id"].encode("utf-8")
            if hide is not None:
                key, value = hide.warning(value)
            yield settings.warnings_topic, partition_for(key, settings.partitions), key, value

    return _produce(settings, steps(), "warnings")


def produce_records(settings: Settings, records: list[ChangelogRecord]) -> float:
    """Send records to their partitions, each partition's last one in a request of its own.

    Returns the seconds it took; raises BootstrapError unless every record was acknowledged.
    """
    return _produce(settings, ((r.topic, r.partition, r.key, r.value) for r in records), "state records")


def _produce(settings: Settings, records: Iterable[tuple[str, int, bytes, bytes]], what: str) -> float:
    """Send (topic, partition, key, value) records in order, each partition's last one in a
    request of its own: the embedded broker's end offsets are then exact (Faust's table
    recovery and consumers that start from the end rely on them; docs/operations.md). A
    partition's newest record waits until the next one of that partition comes.

    Returns the seconds it took; raises BootstrapError unless every record was acknowledged.
    """
    started = time.monotonic()
    pending: dict[tuple[str, int], tuple[bytes, bytes]] = {}
    sent = 0
    failures: list[BaseException] = []
    client = kafka_clients.producer(settings, batch_size=REPLAY_BATCH_BYTES)
    try:
        for topic, partition, key, value in records:
            held = pending.get((topic, partition))
            if held is not None:
                client.send(topic, key=held[0], value=held[1], partition=partition).add_errback(failures.append)
            pending[topic, partition] = key, value
            sent += 1
        client.flush()
        for (topic, partition), (key, value) in sorted(pending.items()):
            client.send(topic, key=key, value=value, partition=partition).add_errback(failures.append)
            client.flush()
    except KafkaError as error:
        raise kafka_clients.broker_unreachable(settings, error) from error
    finally:
        client.close(timeout=settings.client_timeout_seconds)
    if failures:
        raise BootstrapError(f"{len(failures)} of {sent} {what} were not acknowledged by "
                             f"{settings.broker}; first error: {' '.join(str(failures[0]).split())}")
    return time.monotonic() - started


def _end_offsets(settings: Settings, topics: list[str], partitions: Callable[[str], int]) -> dict[TopicPartition, int]:
    consumer = kafka_clients.consumer(settings)
    try:
        return consumer.end_offsets([TopicPartition(t, p) for t in topics for p in range(partitions(t))])
    except KafkaError as error:
        raise kafka_clients.broker_unreachable(settings, error) from error
    finally:
        consumer.close()


def check_changelogs_empty(settings: Settings) -> None:
    """BootstrapError when the `customers` or `clocks` changelog already holds records."""
    topics = changelog_topic_names(settings)[:2]
    check_topics(settings, topics)
    ends = _end_offsets(settings, topics, lambda _: settings.partitions)
    held = {t: sum(off for tp, off in ends.items() if tp.topic == t) for t in topics}
    if any(held.values()):
        detail = ", ".join(f"{t} holds {n}" for t, n in held.items() if n)
        raise BootstrapError(
            f"{detail} records: a worker of app id {settings.app_id!r} has run or a bootstrap was done already; "
            "bootstrap into a new CHURNWATCH_APP_ID (its changelogs start empty)")


def input_topics(settings: Settings) -> list[str]:
    """Every topic the worker group consumes: customer topics, clock ticks, market events."""
    return [*settings.customer_topics, settings.clock_ticks_topic, settings.market_events_topic]


def commit_input_offsets(settings: Settings, expected: Mapping[tuple[str, int], int]) -> dict[str, int]:
    """Commit the worker group's offsets at the end of every input partition.

    `expected` is the number of history records per (topic, partition): a partition holding
    fewer means the history was not published there, and nothing is committed.
    Returns the committed offsets summed per topic.
    """
    topics = input_topics(settings)
    check_topics(settings, topics)

    def count(topic: str) -> int:
        return settings.market_partitions if topic == settings.market_events_topic else settings.partitions

    ends = _end_offsets(settings, topics, count)
    short = [(tp, ends.get(TopicPartition(*tp), 0), n) for tp, n in expected.items()
             if ends.get(TopicPartition(*tp), 0) < n]
    if short:
        (topic, partition), held, n = short[0]
        raise BootstrapError(
            f"{topic}[{partition}] holds {held} records but the history has {n} for it: publish the history "
            f"(`churnwatch replay`) before `bootstrap --commit-offsets`, or leave the option out")
    consumer = None
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers, group_id=settings.app_id, enable_auto_commit=False,
            request_timeout_ms=max(5000, int(settings.client_timeout_seconds * 2000)),
            **client_security(settings).client_options(),
        )
        offsets = {tp: OffsetAndMetadata(off, "", -1) for tp, off in ends.items() if off > 0}
        if offsets:
            consumer.commit(offsets)
    except KafkaError as error:
        raise BootstrapError(
            f"cannot commit offsets for group {settings.app_id!r} on {settings.broker}: "
            f"{' '.join(str(error).split()) or type(error).__name__} (is a worker of the group running?)") from error
    finally:
        if consumer is not None:
            consumer.close()
    committed: dict[str, int] = {}
    for tp, off in ends.items():
        committed[tp.topic] = committed.get(tp.topic, 0) + off
    return committed


def bootstrap(settings: Settings, lines: Iterable[bytes], *, advance_to: datetime | None = None,
              commit_offsets: bool = False, processes: int = 1, warnings: str = "none") -> BootstrapResult:
    """Compute every customer's state from history lines and write it to the table changelogs.

    Parameters:
        settings: broker, app id (names the changelogs and the group) and partition count,
            as the workers will run.
        lines: the history's replay lines (see `streams.replay`): a `ReplayFile` or a list is read
            line by line as `run_offline` reads it; a one-pass iterator is read into memory.
        advance_to: event time to judge every partition up to at the end [default: the
            last event's time], as ``churnwatch replay --advance-to`` does.
        commit_offsets: also commit the worker group's offsets at the end of the input
            topics (the history was published there too).
        processes: run the partitions in this many processes (0: one per core); the state
            is the same (`run_offline`).
        warnings: also publish the history's warnings to the warnings topic: ``none``,
            ``open`` or ``all`` (`warnings_to_publish`).
    """
    if warnings not in WARNING_CHOICES:
        raise BootstrapError(f"--warnings {warnings!r}: expected one of {', '.join(WARNING_CHOICES)}")
    check_changelogs_empty(settings)
    if not isinstance(lines, (ReplayFile, list, tuple)):
        lines = list(lines)   # read twice: the run, then the market events
    # `--warnings all`: every step goes to a file as the run goes (`run_offline`'s spill) and is
    # published from there, so memory does not grow with the history's warnings.
    with tempfile.TemporaryDirectory(prefix="churnwatch-bootstrap-") as spill:
        cpu, wall = _cpu_seconds(), time.perf_counter()
        result: OfflineResult = run_offline(settings, lines, advance_to=advance_to, processes=processes,
                                            keep_warnings=warnings, spill_dir=spill)
        process_seconds, process_cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
        records = changelog_records(settings, result.customers, result.clocks, result.models)
        # Every worker reads the market topic itself, from its start, for the promotions of
        # each customer's time: the history's market events go there unless the history is on
        # the input topics already. Before the state: a failed bootstrap can run again (the same
        # market event read twice is applied once).
        market_events = 0 if commit_offsets else publish_market_events(settings, lines)
        # Warnings first: should they fail, the changelogs are still empty and the bootstrap can run again.
        chosen = result.warnings   # just the steps to publish (`warnings_to_publish`), kept as the run went
        publish_seconds = publish_warnings(settings, chosen, datetime.now(timezone.utc)) if chosen else 0.0
    produce_seconds = produce_records(settings, records)
    committed = commit_input_offsets(settings, result.input_counts) if commit_offsets else None
    return BootstrapResult(
        events=result.events, customers=len(result.customers), clock_records=len(result.clocks),
        model_records=len(result.models),
        dead_letters=len(result.dead_letters), warnings=result.warning_steps,
        process_seconds=process_seconds, process_cpu_seconds=process_cpu, produce_seconds=produce_seconds,
        committed=committed, assessment_errors=result.assessment_errors,
        warnings_published=len(chosen), publish_seconds=publish_seconds, sorted_in_memory=result.sorted_in_memory,
        market_events=market_events,
    )


def publish_market_events(settings: Settings, lines: Iterable[bytes]) -> int:
    """Publish the market events among history lines to the market topic, as `churnwatch
    replay` would (keyed by category, each partition's last record in a request of its own).
    Returns how many; customer events are not parsed (a byte search picks the candidates)."""
    market = [r for r in iter_replay_records((line for line in lines if b"market_event" in line), settings)
              if isinstance(r, Record) and r.topic == settings.market_events_topic]
    if market:
        publish(settings, market)
    return len(market)


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its ended children (the processes of a parallel run)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def register(group: Any) -> None:
    """Add ``churnwatch bootstrap`` to a click group (the ``churnwatch`` command)."""
    import click

    @group.command("bootstrap")
    @click.option("--broker", metavar="HOST:PORT", default=None,
                  help="Kafka bootstrap server(s) [default: CHURNWATCH_BROKER or 127.0.0.1:9092].")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--advance-to", "advance_to", metavar="TS",
                  help="Judge every partition up to TS (RFC 3339 or YYYY-MM-DD) at the end [default: the last event's time].")
    @click.option("--commit-offsets", is_flag=True,
                  help="The history is also on the input topics: commit the worker group's offsets at their "
                       "ends, so workers do not read it again.")
    @click.option("--processes", type=click.IntRange(min=0), default=1, show_default=True,
                  help="Run the partitions in this many processes (0: one per core); the state is the same.")
    @click.option("--warnings", "warnings", type=click.Choice(WARNING_CHOICES), default="none", show_default=True,
                  help="Also publish the history's warnings to the warnings topic: 'open', the steps of the episodes "
                       "still open at its end (who is at risk now); 'all', every step a worker streaming the file "
                       "would have published (same ids and evidence).")
    def bootstrap_command(broker: str | None, file: Path, advance_to: str | None, commit_offsets: bool,
                          processes: int, warnings: str) -> None:
        """Compute customer state from a history file in bulk and write it to the table changelogs.

        Run it on a new app id before any worker starts; workers then recover the state and
        continue with newer events.
        """
        from streams.cli import load_settings
        from streams.replay import parse_timestamp

        settings = load_settings(broker)
        advance = parse_timestamp(advance_to) if advance_to is not None else None
        try:
            result = bootstrap(settings, ReplayFile(file), advance_to=advance, commit_offsets=commit_offsets,
                               processes=processes, warnings=warnings)
        except ValueError as error:  # invalid lines in the history (run_offline refuses them)
            raise click.ClickException(f"{file}: {' '.join(str(error).split())}") from None
        written = result.customers + result.clock_records + result.model_records
        click.echo(f"bootstrapped {result.customers} customers from {result.events} events "
                   f"({result.dead_letters} dead letters) in {result.process_seconds:.1f} s "
                   f"({result.events_per_second:,.0f} events/s); wrote {written} "
                   f"changelog records in {result.produce_seconds:.1f} s")
        if result.market_events:
            click.echo(f"published the history's {result.market_events} market events to "
                       f"{settings.market_events_topic}, which every worker reads from its start")
        if warnings != "none":
            click.echo(f"published {result.warnings_published} warning steps ({warnings}; levels >= "
                       f"{settings.publish_min_level}) to {settings.warnings_topic} in {result.publish_seconds:.1f} s")
        if result.sorted_in_memory:
            click.echo(SORTED_IN_MEMORY_NOTE, err=True)
        if result.assessment_errors:
            click.echo(f"error: {result.assessment_errors} customer assessments failed (a bug; the log has each "
                       "customer and traceback): their state is as before the failed step", err=True)
        if result.committed is not None:
            click.echo("committed group offsets at the end of " +
                       ", ".join(f"{t} ({n})" for t, n in sorted(result.committed.items())))
