"""`churnwatch snapshot`: every tracked customer's risk as of the workers' event-time clock.

The snapshot is read from Kafka, not from a worker: the `customers` and `clocks` table
changelogs hold every worker's state, so one command covers any number of workers. The
`models` changelog holds each partition's online-model checkpoint: a customer's row shows
the rule score, that model's churn probability (null while it warms up) and the blended
risk score that ranks customers (a raised warning carries it, or its signals' evidence when
that is higher).

Before reading, it waits until the consumer group has committed offsets at or past the end
of every input partition as they were when the command started ("everything already
published has been processed"): as long as the workers keep committing, saying how far they
are every ten seconds, and it gives up once they have committed nothing for the timeout. The changelogs are then read until they stay idle, not
up to their reported end offsets: the embedded broker reports end offsets too low when a
produce batch held several records (see docs/operations.md).
"""

from __future__ import annotations

import sys
import time
from typing import IO, Callable, Iterator, Mapping

import orjson
from kafka import TopicPartition
from kafka.errors import KafkaError

from detectors import population
from detectors import warning as warn
from detectors.features import from_assessment
from detectors.river_models import ChurnModel, ModelParams, blend
from detectors.state import decode, to_datetime
from schemas.errors import ChurnwatchError
from streams import kafka_clients
from streams.broker import changelog_topic_names
from streams.settings import Settings


class SnapshotError(ChurnwatchError):
    """The snapshot could not be taken."""


def wait_until_processed(settings: Settings, timeout: float, *, report: Callable[[str], None] | None = None) -> None:
    """Block until the worker group has committed past everything published so far.

    `timeout` is how long the workers may go without committing anything more: a backlog
    they are working through is waited for however long it takes, and `report` (when given)
    hears how far they are every `PROGRESS_SECONDS`. Raises SnapshotError once they stall.
    """
    consumer = kafka_clients.consumer(settings)
    admin = kafka_clients.admin_client(settings)
    try:
        topics = [*settings.customer_topics, settings.clock_ticks_topic]
        tps = [TopicPartition(t, p) for t in topics for p in range(settings.partitions)]
        ends = consumer.end_offsets(tps)
        wanted = {tp: off for tp, off in ends.items() if off > 0}

        def committed() -> Mapping:
            return admin.list_group_offsets({settings.app_id: list(wanted)}).get(settings.app_id, {})

        wait_for_commits(settings.app_id, wanted, committed, timeout, report=report)
    except KafkaError as err:
        raise kafka_clients.broker_unreachable(settings, err) from err
    finally:
        consumer.close()
        admin.close()


#: How often `wait_for_commits` says how far the workers are, seconds.
PROGRESS_SECONDS = 10.0


def wait_for_commits(group: str, wanted: Mapping, committed: Callable[[], Mapping], timeout: float, *,
                     report: Callable[[str], None] | None = None, clock: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep, poll: float = 0.5) -> None:
    """Wait until `committed()` (partition -> committed offset) reaches `wanted` (partition ->
    end offset) everywhere; SnapshotError once `timeout` seconds pass without any commit
    moving forward.

    >>> from types import SimpleNamespace as O
    >>> tp = TopicPartition("logins", 0)
    >>> done = iter([0, 400, 800, 1000])           # a worker working through 1,000 events
    >>> t = [0.0]
    >>> def tick(s): t[0] += 25                     # each look comes 25 s after the last
    >>> lines = []
    >>> wait_for_commits("cw", {tp: 1000}, lambda: {tp: O(offset=next(done))}, 30, report=lines.append,
    ...                  clock=lambda: t[0], sleep=tick)
    >>> print(lines[0])
    waiting for the workers: 400 of 1,000 published events processed (16/s, about 38 s left)
    >>> stuck = lambda: {tp: O(offset=400)}
    >>> wait_for_commits("cw", {tp: 1000}, stuck, 30, clock=lambda: t[0], sleep=tick)
    Traceback (most recent call last):
    ...
    streams.snapshot.SnapshotError: workers of group 'cw' have processed nothing for 30 s: 600 published events left (logins[0] 400 of 1000 committed); is a worker running (`churnwatch worker`)?
    """
    start = last_move = last_report = clock()
    first = done_before = None
    while True:
        now_committed = committed()
        behind = {tp: off for tp, off in wanted.items()
                  if now_committed.get(tp) is None or now_committed[tp].offset < off}
        if not behind:
            return
        done = sum(min(max(0, now_committed[tp].offset), off) for tp, off in wanted.items()
                   if now_committed.get(tp) is not None)
        now = clock()
        if first is None:
            first = done
        if done_before is not None and done > done_before:
            last_move = now
        done_before = done
        if now - last_move >= timeout:
            raise SnapshotError(not_processed(group, behind, now_committed, timeout))
        if report is not None and now - last_report >= PROGRESS_SECONDS and done > first:
            rate = (done - first) / max(now - start, 1e-9)
            total = sum(wanted.values())
            report(f"waiting for the workers: {done:,} of {total:,} published events processed "
                   f"({rate:,.0f}/s, about {(total - done) / rate:,.0f} s left)")
            last_report = now
        sleep(poll)


def not_processed(group: str, behind: Mapping, committed: Mapping, timeout: float) -> str:
    """The error for partitions still behind: how many events, and where (a partition that
    made no progress at all points at its worker, a spread-out lag at a slow one).

    >>> from types import SimpleNamespace as O
    >>> tp = TopicPartition
    >>> print(not_processed("cw", {tp("orders", 1): 40, tp("logins", 1): 900, tp("logins", 0): 120},
    ...                     {tp("logins", 1): O(offset=12), tp("logins", 0): O(offset=100)}, 60))
    workers of group 'cw' have processed nothing for 60 s: 948 published events left (logins[1] 12 of 900 committed, orders[1] 0 of 40 committed, logins[0] 100 of 120 committed); is a worker running (`churnwatch worker`)?
    """
    # a group's "no commit yet" reads as offset -1
    done = {tp: max(0, committed[tp].offset) if committed.get(tp) is not None else 0 for tp in behind}
    lag = {tp: end - done[tp] for tp, end in behind.items()}
    worst = sorted(behind, key=lambda tp: (-lag[tp], tp.topic, tp.partition))
    where = ", ".join(f"{tp.topic}[{tp.partition}] {done[tp]} of {behind[tp]} committed" for tp in worst[:8])
    rest = worst[8:]
    more = (f"; {sum(lag[tp] for tp in rest)} more in {len(rest)} other partition{'' if len(rest) == 1 else 's'}"
            if rest else "")
    return (f"workers of group {group!r} have processed nothing for {timeout:g} s: {sum(lag.values())} published "
            f"events left ({where}{more}); is a worker running (`churnwatch worker`)?")


def read_changelog(settings: Settings, topic: str, idle_seconds: float = 1.5) -> dict[bytes, bytes]:
    """Latest value per key of a changelog topic, read until no record arrives for `idle_seconds`."""
    consumer = kafka_clients.consumer(settings)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        if not parts:
            return {}
        consumer.assign([TopicPartition(topic, p) for p in parts])
        consumer.seek_to_beginning()
        latest: dict[bytes, bytes] = {}
        last = time.monotonic()
        while time.monotonic() - last < idle_seconds:
            batch = consumer.poll(timeout_ms=200, max_records=10_000)
            for records in batch.values():
                for rec in records:
                    if rec.value is None:
                        latest.pop(rec.key, None)
                    else:
                        latest[rec.key] = rec.value
                last = time.monotonic()
        return latest
    except KafkaError as err:
        raise kafka_clients.broker_unreachable(settings, err) from err
    finally:
        consumer.close()


def snapshot_rows(states: Mapping, clocks: Mapping[int, int],
                  params: warn.DetectorParams = warn.DetectorParams(), market=None,
                  models: Mapping[int, ChurnModel] | None = None,
                  model_params: ModelParams = ModelParams(),
                  fits: Mapping[int, tuple[int, population.Prior]] | None = None) -> Iterator[dict]:
    """One row per customer, assessed at their partition's stream time.

    `market` is the market the workers judge with: a `streams.processing.MarketTimeline`
    (each customer then sees the promotions started by their partition's stream time), or
    a fixed mapping of category to pressure.

    `models` maps a partition to its online model (`read_models`); a customer's
    `model_score` is that model's churn probability, null while it warms up or when the
    partition has no model yet, and `risk_score` is the blend that ranks customers.
    `level` stays on the rule evidence, as the worker's levels do. `fits` maps a partition
    to the population fit its worker keeps (`read_fits`); a partition without one is fitted
    here on its customers as of its stream time.
    """
    models = models or {}
    fits = fits or {}
    # Each partition's population prior, fitted on its customers as of its stream time (as
    # a worker fits it, `detectors.population`): a first pass builds the bounded samples.
    pops: dict[int, population.Population] = {}
    for raw in states.values():
        state = decode(raw)
        pops.setdefault(state.partition, population.Population(params.population, params.segment)).update(state)
    for partition, (period, prior) in fits.items():
        pops.setdefault(partition, population.Population(params.population, params.segment)).restore(period, prior)
    for raw in states.values():
        state = decode(raw)
        now = max(clocks.get(state.partition, 0), state.last_event)
        prior = pops[state.partition].prior(clocks.get(state.partition, 0) or now)
        a = warn.assess(state, now, params, market.at(now) if hasattr(market, "at") else market, prior)
        model = models.get(state.partition)
        model_score = model.score(from_assessment(state, a)) if model is not None else None
        risk = blend(a.risk_score, model_score, model.labels_seen, model_params) if model is not None else a.risk_score
        yield {
            "customer_id": state.customer_id,
            "as_of": to_datetime(now).isoformat().replace("+00:00", "Z"),
            "risk_score": round(risk, 6),
            "rule_score": a.risk_score,
            # the signals' combined evidence, which sets the level (a warning's risk_score is
            # never below it): a critical silence far beyond the customer's own rhythm can rank
            # at 0.72 where the population does not call them gone yet
            "evidence_score": a.rule_risk if a.rule_risk is not None else a.risk_score,
            "model_score": round(model_score, 6) if model_score is not None else None,
            "model_version": model.scored_by if model is not None else warn.MODEL_VERSION,
            "level": a.level_name,
            "open_warning_level": warn.LEVELS[state.level],
            # when the open episode was raised (at whatever level it started): a warning held
            # open with no signal firing any more says since when
            "open_warning_since": (to_datetime(state.raised_at).isoformat().replace("+00:00", "Z")
                                   if state.level > 0 and state.raised_at else None),
            "segment": a.segment,
            "signals": [s.as_dict() for s in a.signals],
            "suggested_actions": [x.as_dict() for x in _actions(state, now, a, params)],
            "last_active_at": to_datetime(state.last_active).isoformat().replace("+00:00", "Z") if state.last_active else None,
            "events_applied": state.applied,
        }


def _actions(state, now: int, a, params) -> tuple:
    """The assessment's actions; while a warning is open above the level the evidence now
    reaches (held open until the signals' evidence falls under `clear_below`), those for the
    open warning's level, so a team working the warning has something to do with it (a core
    customer's call, or "monitor" while the evidence weakens)."""
    if state.level > a.level:
        return warn.suggest_actions(state, now, list(a.signals), state.level, a.value, params.warning)
    return a.actions


def read_market(settings: Settings, idle_seconds: float = 1.5):
    """The market events on the market topic as a `MarketTimeline` (bad records skipped: dead-lettered by the workers)."""
    from schemas.errors import InvalidEvent
    from schemas.events import MarketEvent, parse_event
    from streams.processing import MarketTimeline

    timeline = MarketTimeline()
    consumer = kafka_clients.consumer(settings)
    try:
        parts = consumer.partitions_for_topic(settings.market_events_topic) or set()
        if not parts:
            return timeline
        consumer.assign([TopicPartition(settings.market_events_topic, p) for p in parts])
        consumer.seek_to_beginning()
        last = time.monotonic()
        while time.monotonic() - last < idle_seconds:
            batch = consumer.poll(timeout_ms=200, max_records=10_000)
            for records in batch.values():
                for rec in records:
                    try:
                        event = parse_event(MarketEvent, rec.value or b"", max_bytes=settings.max_event_bytes, key=rec.key)
                    except InvalidEvent:
                        continue
                    timeline.add(event, (rec.partition, rec.offset))
                last = time.monotonic()
        return timeline
    except KafkaError as err:
        raise kafka_clients.broker_unreachable(settings, err) from err
    finally:
        consumer.close()


def read_models(records: Mapping[bytes, bytes]) -> dict[int, ChurnModel]:
    """Partition -> model from the `models` changelog's latest records (key: partition number).

    Raises SnapshotError naming the partition when a checkpoint does not load.

    >>> read_models({b"1": ChurnModel().dumps()})[1].labels_seen
    0
    >>> read_models({b"0": b"junk"})
    Traceback (most recent call last):
    ...
    streams.snapshot.SnapshotError: model checkpoint of partition 0 does not load: not a Churnwatch model checkpoint (expected it to start with b'CWMODEL1')
    """
    out: dict[int, ChurnModel] = {}
    for key, value in records.items():
        if key.startswith(b"prior/"):
            continue  # a population fit (`read_fits`)
        try:
            partition = int(key.decode())
        except ValueError:
            raise SnapshotError(f"models changelog key {key!r}: expected a partition number") from None
        try:
            out[partition] = ChurnModel.loads(value)
        except ValueError as err:
            raise SnapshotError(f"model checkpoint of partition {partition} does not load: {err}") from None
    return out


def read_fits(records: Mapping[bytes, bytes]) -> dict[int, tuple[int, population.Prior]]:
    """Partition -> (period, prior) of the population fits in the `models` changelog (key ``prior/<p>``).

    >>> read_fits({b"prior/1": population.encode_fit(2, population.Prior()), b"1": b"a model"})
    {1: (2, Prior(r=0.55, alpha=74.0, s=0.61, beta=82.0, customers=0, core_value=0.0, provisional=False, basket_log_sd=0.0))}
    """
    out: dict[int, tuple[int, population.Prior]] = {}
    for key, value in records.items():
        if key.startswith(b"prior/"):
            try:
                out[int(key[len(b"prior/"):])] = population.decode_fit(value)
            except ValueError as err:
                raise SnapshotError(f"population fit {key!r} does not load: {err}") from None
    return out


def write_snapshot(settings: Settings, out: str | None = None, timeout: float = 60.0) -> int:
    """Wait for the workers (as long as they make progress; `timeout`: seconds without any),
    then write one JSON line per customer to `out` (stdout when None)."""
    wait_until_processed(settings, timeout, report=lambda line: print(line, file=sys.stderr, flush=True))
    customers_topic, clocks_topic, models_topic = changelog_topic_names(settings)
    states = read_changelog(settings, customers_topic)
    clocks = {}
    for k, v in read_changelog(settings, clocks_topic).items():
        name = orjson.loads(k)
        if "/" not in name:  # "<partition>" is the watermark; "<partition>/<topic>" a topic's time
            clocks[int(name)] = int(orjson.loads(v))
    model_records = read_changelog(settings, models_topic)
    models, fits = read_models(model_records), read_fits(model_records)
    params = settings.detector_params()
    rows = sorted(snapshot_rows(states, clocks, params, read_market(settings), models=models, fits=fits),
                  key=lambda r: (-r["risk_score"], r["customer_id"]))
    sink: IO[bytes] = open(out, "wb") if out else sys.stdout.buffer
    try:
        for row in rows:
            sink.write(orjson.dumps(row) + b"\n")
    finally:
        if out:
            sink.close()
        else:
            sink.flush()
    return len(rows)
