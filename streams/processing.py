"""The per-message step, independent of Faust: decode, guard, apply, assess, emit.

`Processor.handle` takes one raw Kafka message and returns what must be sent (warnings,
dead letters). It reads and writes state through two plain mappings, so the same code runs
inside the Faust agent (backed by changelogged tables), in stream tests (backed by dicts)
and in a bulk bootstrap.

State it keeps per partition of the customer topics:

* `customers[customer_id] -> bytes`: the encoded `CustomerState`;
* `clocks[partition] -> int`: stream time (largest event time seen, epoch seconds), stored
  only when it crosses a sweep boundary or a tick arrives, to keep table writes per event at one;
  `clocks["partition/topic"] -> int`: each input topic's time there (its newest applied event,
  what lateness is judged against), stored as applied events move it where the tables' records
  are written behind, else with the partition's clock;
* `models[str(partition)] -> bytes`: a checkpoint of the partition's online churn model
  (`detectors.river_models.ChurnModel.dumps`), written every `model_checkpoint_labels`
  labels and at clock ticks, always while handling a message of that partition (so the
  table's changelog record lands on that partition and moves with it);
* an in-memory due index (`partition -> heap of (next_due, customer)`), rebuilt from the
  customer table after a rebalance, that tells sweeps which quiet customers to look at.

The online model: each customer assessment first resolves the customer's pending feature
snapshots (`detectors.labels`) and the partition's model learns the examples; after the
assessment a weekly snapshot is taken if due. The risk score blends the ranking score
(the population's gone probability with the other evidence, `detectors.warning.assess`)
with the model's churn probability (`river_models.blend`: rules alone while the model warms
up), and a warning's `model_version` says which model scored it; a raised or escalated
warning's `risk_score` is never below its signals' combined evidence (`rule_risk`), so a
`critical` does not read 0.15. The warning *level* stays on the rule evidence, since churn
probabilities are small and would pull scores under the level thresholds.
"""

from __future__ import annotations

import bisect
import heapq
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, MutableMapping

from detectors import activity, features, labels, population
from detectors import warning as warn
from detectors.competitor_pressure import MarketPressure, update_market
from detectors.river_models import ChurnModel, ModelParams, ModelQuality, blend
from detectors.segment import value_figures
from detectors.state import (DAY, CustomerState, applied_offset, decode, encode, epoch, is_duplicate, kind_of, note_offset,
                             observe, record_partition, to_datetime)
from schemas.errors import InvalidEvent
from schemas.events import Complaint, Login, MarketEvent, Order, PageView, make_dead_letter, parse_event, to_json_bytes
from schemas.outputs import ChurnWarning, ClockTick
from streams.replay import partition_for

log = logging.getLogger(__name__)

# Bound on exact re-evaluations in one sweep for one customer (each moves event time
# forward to the next moment the evidence changes); more would mean a detector bug.
_MAX_STEPS_PER_SWEEP = 16
# A customer whose assessment failed in a sweep is tried again this much later (event time).
_RETRY_SECONDS = 86_400
#: Customers whose decoded state the processor keeps beside the table (`Processor._peek`).
KEEP_DECODED = 1024
#: Unkeyed events a worker holds at most before re-publishing them (`Processor._publish_copies`):
#: about 1 KB each, their originals unacknowledged meanwhile.
MAX_HELD_COPIES = 100_000


class MarketTimeline:
    """Market events (competitors' moves) by event time, and the market as of any moment.

    A customer is judged at an event time with the promotions that had started by then,
    whenever the market topic happened to be read: a worker catching up on a backlog reads
    the whole market topic long before the customers' events, and a live worker reads it as
    it comes. Events are ordered by (event time, partition, offset); the market as of `now`
    folds `update_market` over those at or before `now` (prefixes are cached: market events
    are few, assessments many).

    Examples
    --------
    >>> from types import SimpleNamespace as E
    >>> m = MarketTimeline()
    >>> m.add(E(category="books", kind="competitor_promotion", strength=0.8, occurred_at=100, ends_at=None))
    >>> m.add(E(category="games", kind="competitor_launch", strength=0.5, occurred_at=50, ends_at=None), (0, 1))
    >>> sorted(m.at(60)), sorted(m.at(100)), m.time
    (['games'], ['books', 'games'], 100)
    """

    def __init__(self) -> None:
        self._keys: list[tuple[int, int, int]] = []   # (event time, partition, offset), ascending
        self._events: list = []
        self._prefix: list[dict[str, MarketPressure]] = [{}]  # _prefix[k]: the first k events applied
        self.time = 0  # newest event time added

    def add(self, event, position: tuple[int, int] = (0, 0)) -> None:
        """Add a validated market event read at (partition, offset)."""
        t = epoch(event.occurred_at) if isinstance(event.occurred_at, datetime) else int(event.occurred_at)
        key = (t, *position)
        i = bisect.bisect_right(self._keys, key)
        self._keys.insert(i, key)
        self._events.insert(i, event)
        del self._prefix[i + 1:]  # later prefixes now miss this event
        self.time = max(self.time, t)

    def at(self, now: int) -> dict[str, MarketPressure]:
        """The market as of event time `now` (every event at or before it applied, in order)."""
        k = bisect.bisect_right(self._keys, (now, float("inf"), float("inf")))
        while len(self._prefix) <= k:
            self._prefix.append(update_market(self._prefix[-1], self._events[len(self._prefix) - 1]))
        return self._prefix[k]

    def moved(self, start: int, end: int) -> bool:
        """True when some market event read has an event time in [start, end].

        >>> from types import SimpleNamespace as E
        >>> m = MarketTimeline()
        >>> m.add(E(category="books", kind="competitor_promotion", strength=0.8, occurred_at=100, ends_at=None))
        >>> m.moved(0, 99), m.moved(100, 100), m.moved(101, 200)
        (False, True, False)
        """
        lo = bisect.bisect_left(self._keys, (start,))
        return lo < len(self._keys) and self._keys[lo][0] <= end

    def latest(self) -> dict[str, MarketPressure]:
        """The market with every event read applied."""
        return self.at(self.time)

    def __len__(self) -> int:
        return len(self._events)


@dataclass(frozen=True)
class Output:
    topic: str
    key: bytes | None
    value: bytes
    partition: int | None = None   # None: the producer's partitioner picks it from the key


@dataclass
class Outcome:
    """What one message did: for metrics and tests."""

    outputs: list[Output] = field(default_factory=list)
    applied: bool = False
    duplicate: bool = False
    dead_letter_reason: str | None = None
    event_time: int | None = None
    warnings: list[dict] = field(default_factory=list)
    done: list = field(default_factory=list)   # refs of messages now fully handled (acknowledge them)
    examples: list[labels.Example] = field(default_factory=list)  # churn labels resolved (and learned)
    assessment_errors: int = 0   # customers whose assessment failed in a sweep (logged; retried)
    repeat_visits: int = 0       # events applied without a new assessment (`warn.repeat_visit`)
    rekeyed: bool = False        # an unkeyed event re-published keyed, to its customer's partition
    withheld: list[tuple[str, str]] = field(default_factory=list)  # (state, level) of steps not published


def population_key(partition: int) -> str:
    """Key of a partition's population fit in the `models` table (beside its model, key "<p>")."""
    return f"prior/{partition}"


class Processor:
    """Decode, apply and assess one message at a time (see module docstring)."""

    def __init__(
        self,
        settings,
        params: warn.DetectorParams,
        customers: MutableMapping,
        clocks: MutableMapping,
        *,
        models: MutableMapping | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        label_params: labels.LabelParams | None = None,
        model_params: ModelParams | None = None,
        true_time: Callable[[], float] = time.time,
        topic_times_per_event: bool = True,
    ) -> None:
        self.settings = settings
        # Write each topic's time to `clocks` as every applied event moves it (cheap where the
        # table's records are written behind, one per key and flush); otherwise only when the
        # watermark crosses a sweep boundary (Faust's path: a produce request per write).
        self.topic_times_per_event = topic_times_per_event
        # The real clock (epoch seconds) for the future-event guard of live use; `wall_clock`
        # may be fixed for reproducible output (`streams.offline`, `streams.verify`).
        self.true_time = true_time
        self.params = params
        self.customers = customers
        self.clocks = clocks
        self.models = models if models is not None else {}
        self.wall_clock = wall_clock
        self.label_params = label_params or labels.LabelParams(
            snapshot_every_days=settings.snapshot_every_days, horizon_days=settings.churn_horizon_days)
        self.model_params = model_params or ModelParams()
        self.feature_params = features.FeatureParams()
        self.checkpoint_labels = settings.model_checkpoint_labels
        # lowest level published on the warnings topic (`warn.published`)
        self._publish_min = warn.LEVELS.index(settings.publish_min_level)
        # partition -> its model, restored lazily from `models`; and labels learned since the
        # partition's last checkpoint.
        self._models: dict[int, ChurnModel] = {}
        self._unsaved: dict[int, int] = {}
        # partition -> why the built-in prior last stood in for a fit, as logged: the same
        # reason at the next refit is logged at DEBUG (a history replayed from its start
        # otherwise repeats it every refit period of its first 180 days, per partition)
        self._stand_in: dict[int, str] = {}
        self.labels_learned = 0   # labels learned, not yet reported to metrics (the Faust layer resets it)
        self.market_timeline = MarketTimeline()
        # Set by the Faust layer: has the market topic been read to its end? Until it has,
        # the watermark stays at the newest market event read (see `_watermark`).
        self.market_caught_up: Callable[[], bool] = lambda: True
        self._model_of_topic = {
            settings.logins_topic: Login,
            settings.page_views_topic: PageView,
            settings.orders_topic: Order,
            settings.complaints_topic: Complaint,
        }
        self._ticks_topic = settings.clock_ticks_topic
        self._stream_time: dict[int, int] = {}
        self._tp_time: dict[tuple[str, int], int] = {}
        self._tp_applied: dict[tuple[str, int], int] = {}
        # The value of each `clocks` key as this worker last wrote it: a table write is a
        # changelog record (a produce request on Faust's path), and in a backlog most topics'
        # times have not moved since the last sweep boundary.
        self._clock_written: dict[str, int] = {}
        self._started: float | None = None  # wall time of the first message since start/rebalance
        self._tp_next: dict[tuple[str, int], int] = {}
        self._tick: dict[int, int] = {}
        self._tp_seen: dict[tuple[str, int], float] = {}  # wall time a topic-partition last had a message
        # partition -> heap of (event time, seq, event, topic, offset, key, payload, ref): the
        # reorder buffer of accepted events not yet applied.
        self._buffer: dict[int, list] = {}
        self._seq = 0
        # (topic, partition, customer) -> offsets of that customer's buffered records: an
        # event applied ahead of an older-offset one of its topic (event-time order) must not
        # mark that one applied too.
        self._held: dict[tuple[str, int, str], list[int]] = {}
        # Are offsets those of real topic-partitions? `streams.offline` numbers records itself,
        # and states it builds (a bootstrap) must not claim offsets of the real topics.
        self.offsets_are_real = True
        self.idle_topic_seconds = 30.0
        # Events this far (event time) ahead of the watermark are applied at once: live, topics
        # are seconds apart, and waiting for the slowest would only delay warnings.
        self.skew_tolerance_seconds = 60
        # Set by the Faust layer: has this topic-partition been read up to its end?
        # (stream tests leave it at "yes": everything given has been read).
        self.caught_up: Callable[[str, int, int | None], bool] = lambda topic, partition, next_offset: True
        self._due: dict[int, list[tuple[int, str]]] = {}
        self._due_of: dict[str, int] = {}
        # partition -> customer -> (level, segment) as last assessed: the population picture
        # for metrics (customers per level and segment), rebuilt with the due index.
        self._population: dict[int, dict[str, tuple[int, str]]] = {}
        # partition -> its customers' sample and fitted prior (`detectors.population`): derived
        # from the customer table, rebuilt from it on first use after a start or rebalance.
        self._priors: dict[int, population.Population] = {}
        self.churned: dict[str, int] = {}   # segment -> customers who went from active to churned, not yet reported
        # customer -> (the bytes last written to `customers`, the state they encode): the
        # next read of that customer skips decoding while the table still holds that very
        # object (a memory table returns what it was given; a RocksDB table returns new
        # bytes, so it always decodes). Most recently written last; at most `keep_decoded`.
        # The third item is (event time, activity strength) of that state when an event's
        # assessment or a repeat page view read it (else None): the next repeat page view of
        # the day starts from it instead of judging the same state again (`activity.same_at`).
        self.keep_decoded = KEEP_DECODED
        self._decoded: dict[str, tuple[bytes, CustomerState, tuple[int, float] | None]] = {}
        self._unkeyed: set[str] = set()   # topics an unkeyed customer event was read from (logged once)
        # topic -> heap of (event time, seq, copy, ref) of unkeyed events read and not yet
        # re-published (`_rekey`), and per topic-partition the newest event time read, the
        # unkeyed ones included (`_publish_copies` holds a copy until every partition of its
        # topic has been read past it).
        self._copies: dict[str, list] = {}
        self._tp_read: dict[tuple[str, int], int] = {}
        self.max_held_copies = MAX_HELD_COPIES
        self._judged_activity: tuple[int, float] | None = None   # see `_assess`

    # ------------------------------------------------------------------ entry points

    def handle(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
               ref: object = None) -> Outcome:
        """Process one message from a customer topic or the clock-ticks topic.

        A valid customer event waits in its partition's reorder buffer until every input topic
        has been read up to its event time, then is applied in event-time order. `ref` (the
        Faust event) comes back in `Outcome.done` once the message is fully handled, so the
        caller acknowledges it only then: a crash re-reads what was still buffered.
        """
        out = Outcome()
        if ref is None:
            ref = (topic, partition, offset)
        if self._started is None:
            self._started = self.wall_clock().timestamp()
        payload = value if value is not None else b""
        try:
            if topic == self._ticks_topic:
                tick = parse_event(ClockTick, payload, max_bytes=self.settings.max_event_bytes)
                out.event_time = epoch(tick.occurred_at)
                self._tick[partition] = max(self._tick.get(partition, 0), out.event_time)
                self._advance(partition, out, persist=True)
                out.applied = True
                out.done.append(ref)
                if self._copies:
                    self._publish_held(out)
                return out
            model = self._model_of_topic.get(topic)
            if model is None:
                raise InvalidEvent("processing_error", None, f"no handler for topic {topic!r}")
            self._tp_next[(topic, partition)] = offset + 1
            self._tp_seen[(topic, partition)] = self.wall_clock().timestamp()
            event = parse_event(model, payload, max_bytes=self.settings.max_event_bytes, key=key)
            if key is None and self._rekey(event, topic, partition, offset, payload, ref, out):
                self._publish_held(out)
                return out
            self._accept(event, topic, partition, offset, key, payload, ref, out)
        except InvalidEvent as err:
            self._dead_letter(out, topic, partition, offset, key, payload, err)
            out.done.append(ref)
        except Exception as exc:  # a bug must not stop the stream: dead-letter it, keep going
            log.exception("processing failed at %s[%d]@%d", topic, partition, offset)
            err = InvalidEvent("processing_error", None, f"{type(exc).__name__}: {exc}"[:1000])
            self._dead_letter(out, topic, partition, offset, key, payload, err)
            out.done.append(ref)
        if topic in self._model_of_topic:
            try:
                self._advance(partition, out, persist=False)
            except Exception:  # pragma: no cover - defensive: never let the clock kill the agent
                log.exception("advancing the clock failed at %s[%d]@%d", topic, partition, offset)
                out.assessment_errors += 1   # counted and alerted on as a failed sweep
            if self._copies:
                self._publish_held(out)
        return out

    def _rekey(self, event, topic: str, partition: int, offset: int, payload: bytes, ref, out: Outcome) -> bool:
        """An unkeyed customer event: re-publish it keyed by its customer id, on that key's partition.

        A producer that sends no key spreads one customer's events over every partition (and
        so over workers), each holding part of their history: the rest looks like silence.
        With `unkeyed_events` = "rekey" (the default) the event goes back to its own topic
        with the key it should have had, on the partition Kafka's default partitioner gives
        that key (where keyed events of the customer are), once every partition of the topic
        has been read past it (`_publish_copies`; the original is acknowledged then); the
        copy is applied there like any keyed event (a copy of one already applied is a
        duplicate, by event id). An unkeyed event already on that partition is re-published
        too: the customer's copies then reach their partition in event-time order, none
        overtaken by an original applied at once (which would make the copies behind it
        late). True when the event is to be re-published.
        """
        cid = event.customer_id.encode()
        target = partition_for(cid, self.settings.partitions)
        rekey = self.settings.unkeyed_events == "rekey"
        if topic not in self._unkeyed:
            self._unkeyed.add(topic)
            if self.settings.unkeyed_events == "rekey":
                log.warning("%s[%d]@%d has no Kafka key (said once per topic): unkeyed customer events are "
                            "re-published keyed by customer_id to their customer's partition (counted in "
                            "churnwatch_rekeyed_events_total); produce them keyed to save the second write",
                            topic, partition, offset)
            else:
                log.warning("%s[%d]@%d has no Kafka key (said once per topic): produce customer events keyed by "
                            "customer_id, or one customer's events spread over partitions and workers, each "
                            "judging only part of their history (CHURNWATCH_UNKEYED_EVENTS=rekey re-publishes "
                            "them keyed)", topic, partition, offset)
        if not rekey:
            return False
        t = epoch(event.occurred_at)
        key = (topic, partition)
        if t > self._tp_read.get(key, 0):
            self._tp_read[key] = t
        self._seq += 1
        heapq.heappush(self._copies.setdefault(topic, []), (t, self._seq, Output(topic, cid, payload, partition=target), ref))
        out.rekeyed = True
        return True

    def _publish_held(self, out: Outcome) -> None:
        try:
            self._publish_copies(out)
        except Exception:  # pragma: no cover - defensive: held copies wait for the next message
            log.exception("re-publishing held unkeyed events failed")

    def _publish_copies(self, out: Outcome) -> None:
        """Re-publish the held unkeyed events (`_rekey`) that every partition of their topic
        has been read past, oldest first, and acknowledge their originals.

        A backlog is read in batches, partition by partition: a copy published as soon as its
        original is read would reach its customer's partition behind copies of later events
        read from another partition, and be dead-lettered as late there. Held until each
        partition of the topic this worker reads has been read up to its event time (or to
        its end, or is quiet past `idle_topic_seconds`: as for the watermark), the copies of
        this worker's partitions go out in event-time order. Partitions of other workers do
        not hold them (a consumer's unassigned partitions count as read). At most
        `max_held_copies` wait: beyond that the oldest go out regardless.
        """
        wall = self.wall_clock().timestamp()
        for topic, heap in self._copies.items():
            if not heap:
                continue
            upto = None
            for p in range(self.settings.partitions):
                key = (topic, p)
                if self.caught_up(topic, p, self._tp_next.get(key)):
                    continue
                if wall - self._tp_seen.get(key, self._started or wall) > self.idle_topic_seconds:
                    continue
                read = max(self._tp_read.get(key, 0), self._topic_time(topic, p))
                upto = read if upto is None else min(upto, read)
            while heap and (upto is None or heap[0][0] <= upto or len(heap) > self.max_held_copies):
                _, _, copy, ref = heapq.heappop(heap)
                out.outputs.append(copy)
                out.done.append(ref)

    def held_copies(self) -> int:
        """Unkeyed events read and not yet re-published (`_publish_copies`)."""
        return sum(len(h) for h in self._copies.values())

    def handle_market(self, value: bytes, key: bytes | None = None, partition: int = 0, offset: int = 0) -> MarketEvent:
        """Add a market event (read by every worker from all market partitions) to the timeline.

        It counts for customers judged at or after its event time, in every partition, however
        early or late it is read; raises InvalidEvent for a bad one (dead-lettered by
        `check_market`'s caller).
        """
        event = parse_event(MarketEvent, value, max_bytes=self.settings.max_event_bytes, key=key)
        self.market_timeline.add(event, (partition, offset))
        return event

    @property
    def market(self) -> dict[str, MarketPressure]:
        """The market with every event read applied (as of the newest market event)."""
        return self.market_timeline.latest()

    def check_market(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None) -> Outcome:
        """Validate a market event for the dead-letter topic (applying it is `handle_market`'s job)."""
        out = Outcome()
        payload = value if value is not None else b""
        try:
            event = parse_event(MarketEvent, payload, max_bytes=self.settings.max_event_bytes, key=key)
            out.event_time = epoch(event.occurred_at)
            out.applied = True
        except InvalidEvent as err:
            self._dead_letter(out, topic, partition, offset, key, payload, err)
        return out

    def _buffered(self, partition: int, customer_id: str, event_id: str) -> bool:
        """Whether the partition's reorder buffer holds this customer's event `event_id` (a
        late event's check only: one pass over the buffer)."""
        return any(e.event_id == event_id and e.customer_id == customer_id
                   for _, _, e, *_ in self._buffer.get(partition, ()))

    def stream_time(self, partition: int) -> int:
        """The partition's watermark: event time up to which every input has been read."""
        if partition not in self._stream_time:
            self._stream_time[partition] = int(self.clocks.get(str(partition), 0) or 0)
        return self._stream_time[partition]

    def _topic_time(self, topic: str, partition: int) -> int:
        key = (topic, partition)
        if key not in self._tp_time:
            self._tp_time[key] = int(self.clocks.get(f"{partition}/{topic}", 0) or 0)
        return self._tp_time[key]

    def forget_partitions(self) -> None:
        """Drop in-memory indexes after a rebalance; they are rebuilt from the tables on use."""
        self._stream_time.clear()
        self._tp_time.clear()
        self._tp_applied.clear()
        self._clock_written.clear()
        self._started = None
        self._tp_next.clear()
        self._tp_seen.clear()
        self._buffer.clear()  # not acknowledged: re-read by whoever owns the partition next
        self._copies.clear()  # likewise: their originals are re-read and re-published by the next owner
        self._tp_read.clear()
        self._held.clear()
        self._tick.clear()
        self._due.clear()
        self._due_of.clear()
        self._population.clear()
        self._priors.clear()
        self._decoded.clear()
        # Learning since the last checkpoint is lost with the partition (at most
        # `model_checkpoint_labels` labels); its next owner restores the checkpoint.
        self._models.clear()
        self._unsaved.clear()

    # ------------------------------------------------------------------ customer state

    def _peek(self, cid: str) -> CustomerState | None:
        """The customer's state to read, not to change (it may be the one kept decoded)."""
        raw = self.customers.get(cid)
        if raw is None:
            return None
        kept = self._decoded.get(cid)
        if kept is not None and kept[0] is raw:
            return kept[1]
        state = decode(raw)
        self._keep(cid, raw, state)
        return state

    def _take(self, cid: str) -> CustomerState | None:
        """The customer's state to change and `_write` back: no longer kept until then, so
        a change interrupted by an error is never mistaken for what the table holds."""
        return self._take_kept(cid)[0]

    def _take_kept(self, cid: str) -> tuple[CustomerState | None, tuple[int, float] | None]:
        """`_take`, with the (event time, activity strength) `_write` kept beside the state."""
        raw = self.customers.get(cid)
        if raw is None:
            return None, None
        kept = self._decoded.pop(cid, None)
        if kept is not None and kept[0] is raw:
            return kept[1], kept[2]
        return decode(raw), None

    def _write(self, cid: str, state: CustomerState, activity_at: tuple[int, float] | None = None) -> None:
        raw = encode(state)
        self.customers[cid] = raw
        self._keep(cid, raw, state, activity_at)

    def _keep(self, cid: str, raw: bytes, state: CustomerState, activity_at: tuple[int, float] | None = None) -> None:
        if self.keep_decoded <= 0:
            return
        kept = self._decoded
        kept.pop(cid, None)
        kept[cid] = (raw, state, activity_at)
        if len(kept) > self.keep_decoded:
            del kept[next(iter(kept))]

    # ------------------------------------------------------------------ customer events

    def _accept(self, event, topic: str, partition: int, offset: int, key, payload: bytes, ref, out: Outcome) -> None:
        t = epoch(event.occurred_at)
        ahead = self.settings.max_future_seconds
        if ahead and self.settings.live_ticks and t > self.true_time() + ahead:
            # Live, event time follows the wall clock: an event from further ahead is a
            # producer's wrong clock or a typo, and applied it would move its topic's time
            # ahead so that every real event after it is late.
            now = int(self.true_time())
            raise InvalidEvent(
                "future_event", "occurred_at",
                f"occurred_at: expected at most {ahead} s ahead of this worker's clock "
                f"{to_datetime(now).isoformat()}, got {t - now} s ahead",
            )
        out.event_time = t   # (not for a future event: it would move the stream-time gauge to its time)
        state = None
        if self.offsets_are_real:
            state = self._peek(event.customer_id)
            # Read again after a crash or a rebalance (offsets not committed yet): applied
            # before, however long ago and however many events back, so neither late nor new.
            # A customer's records of one topic all sit on one partition, read in offset order.
            if offset <= applied_offset(state, kind_of(event), partition):
                out.duplicate = True
                out.done.append(ref)
                return
        # Lateness is judged per input topic: topics are read at different speeds, so an
        # order may be read long after a login of a later day without being late.
        ref_time = self._topic_time(topic, partition)
        if ref_time and t < ref_time - self.settings.lateness_seconds:
            if state is None:
                state = self._peek(event.customer_id)
            if is_duplicate(state, event.event_id) or self._buffered(partition, event.customer_id, event.event_id):
                # re-sent (another offset), applied before or waiting in the reorder buffer (a
                # backlog read again): not late, done, whichever the read order made it
                out.duplicate = True
                out.done.append(ref)
                return
            hint = ""
            if topic in self._unkeyed and self.settings.unkeyed_events == "rekey":
                # Each worker re-publishes its copies in event-time order (`_publish_copies`),
                # but the copies of several workers reading a backlog interleave. A copy carries
                # the customer's key like an event its producer keyed, so the hint says "if".
                hint = ("; this topic has also carried unkeyed events, whose keyed copies (re-published by the "
                        "workers) fall behind like this when several workers re-publish a backlog read at full "
                        "speed: if this event was such a copy, key the events by customer_id "
                        "(docs/operations.md, \"Producers that send no key\")")
            raise InvalidEvent(
                "late_event", "occurred_at",
                f"occurred_at: expected at most {self.settings.lateness_seconds} s behind the stream time "
                f"{to_datetime(ref_time).isoformat()} of {topic}[{partition}], got {ref_time - t} s behind{hint}",
            )
        if t > ref_time:
            self._tp_time[(topic, partition)] = t
        self._seq += 1
        heapq.heappush(self._buffer.setdefault(partition, []),
                       (t, self._seq, event, topic, offset, key, payload, ref))
        self._held.setdefault((topic, partition, event.customer_id), []).append(offset)
        out.applied = True

    def _release(self, partition: int, upto: int, out: Outcome) -> None:
        """Apply buffered events with event time <= `upto`, oldest first."""
        heap = self._buffer.get(partition)
        while heap and heap[0][0] <= upto:
            t, _, event, topic, offset, key, payload, ref = heapq.heappop(heap)
            held_key = (topic, partition, event.customer_id)
            held = self._held.get(held_key, [])
            if offset in held:
                held.remove(offset)
            if not held:
                self._held.pop(held_key, None)
            try:
                self._apply(event, t, partition, out, topic, offset, held)
                key_tp = (topic, partition)
                if t > self._tp_applied.get(key_tp, 0):
                    self._tp_applied[key_tp] = t
                    if self.topic_times_per_event:
                        # A restarted worker or the partition's next owner judges lateness
                        # against this time; one written only at sweep boundaries would lag
                        # and let it apply events this worker dead-letters as late.
                        self._write_clock(f"{partition}/{topic}", t)
            except Exception as exc:  # a bug must not stop the stream: dead-letter it, keep going
                log.exception("processing failed at %s[%d]@%d", topic, partition, offset)
                err = InvalidEvent("processing_error", None, f"{type(exc).__name__}: {exc}"[:1000])
                self._dead_letter(out, topic, partition, offset, key, payload, err)
            out.done.append(ref)

    def partitions_to_nudge(self) -> list[int]:
        """Partitions holding buffered events whose topics have all been quiet past the idle time."""
        wall = self.wall_clock().timestamp()
        out = []
        for partition, heap in self._buffer.items():
            if heap and all(wall - seen > self.idle_topic_seconds
                            for (topic, p), seen in self._tp_seen.items() if p == partition):
                out.append(partition)
        if not out and any(self._copies.values()) and all(
                wall - seen > self.idle_topic_seconds for seen in self._tp_seen.values()):
            # Unkeyed events held for a partition that stopped delivering: a tick lets the
            # idle rule release them (`_publish_copies`).
            out.append(min(p for _, p in self._tp_seen))
        return out

    def progress(self, partition: int) -> dict:
        """Where `partition` stands, for a worker's stall report: its watermark, events buffered,
        and per input topic the event time read, the next offset, whether it counts as read to
        its end, and the wall seconds since its last event; and the unkeyed events this worker
        holds (`_publish_copies`), whatever their partition."""
        wall = self.wall_clock().timestamp()
        topics = {}
        for topic in self._model_of_topic:
            key = (topic, partition)
            seen = self._tp_seen.get(key)
            topics[topic] = {"time": self._topic_time(topic, partition), "next": self._tp_next.get(key),
                             "read": self.caught_up(topic, partition, self._tp_next.get(key)),
                             "quiet_s": None if seen is None else round(wall - seen)}
        return {"watermark": self.stream_time(partition), "buffered": len(self._buffer.get(partition) or ()),
                "tick": self._tick.get(partition, 0), "topics": topics,
                "unkeyed_held": self.held_copies()}

    def buffered(self) -> int:
        """Events accepted but waiting for the slower topics (not yet applied)."""
        return sum(len(h) for h in self._buffer.values())

    def _apply(self, event, t: int, partition: int, out: Outcome, topic: str = "", offset: int = -1,
               held: list[int] = ()) -> None:
        cid = event.customer_id
        state, seen = self._take_kept(cid)
        if is_duplicate(state, event.event_id):
            out.duplicate = True  # re-sent at another offset, or re-read: applied once already
            return
        final = t - self.settings.lateness_seconds
        if state is not None and 0 < state.next_due < final:
            # The customer was due more than the lateness allowance before this event (a
            # complaint's deadline, a recheck, a label snapshot): a verdict the sweep makes
            # final once the watermark is that allowance past it, and would have made had it
            # run before this event was applied. Whether it ran depends on how far the
            # watermark jumped in one step (a restart, a rebalance, a sparse replay); judged
            # here on the state as of then, the verdicts do not. A due time within the
            # allowance before the event is left to the event's own assessment, as the sweep
            # leaves it.
            state = self._catch_up(state, final - 1, out, partition)
            seen = None
        before = state.last_active if state is not None else 0
        # A further login or page view of a day already judged cannot raise a level
        # (`warn.repeat_visit`); unless a market event of that day may have changed the
        # picture since, or a page view reads the activity signal stronger (a rising bounce
        # share), it is applied and labelled but not judged again.
        kind = kind_of(event)
        repeat = warn.repeat_visit(state, kind, t) and not self.market_timeline.moved(t - t % DAY, t)
        activity_before = None
        if repeat and kind == "page_view":
            # the strength this very state was read at by the day's last repeat page view, if any
            activity_before = (seen[1] if seen is not None and activity.same_at(state, seen[0], t, self.params.activity)
                               else warn.activity_strength(state, t, self.params))
        # `_take` hands the state over (decoded afresh, or out of the cache it was kept in): it is
        # changed in place, and reaches the table and the cache again only through `_write`.
        state = observe(state, event, self.params.state, partition=partition, owned=True)
        self.population_of(partition).update(state, orders_changed=kind == "order")
        if self.offsets_are_real and offset >= 0:
            # Everything of this customer's topic below a record still buffered is not applied
            # yet: the mark stops short of it (and covers this one once that one is applied).
            lower = [o for o in held if o < offset]
            note_offset(state, kind, partition, min(lower) - 1 if lower else offset)
        # The activity that answers pending snapshots: only an event that moved last activity
        # on (an older, late activity falls before it and answers nothing new).
        activity_at = state.last_active if state.last_active > before else None
        now = max(t, state.last_event)
        activity_after = None
        if activity_before is not None:
            activity_after = warn.activity_strength(state, now, self.params)
            if activity_after > activity_before:
                repeat = False
        if repeat and not labels.is_due(state.pending, state.last_active, now, self.label_params):
            # The labels as `_assess` resolves them: a visit answers snapshots all the same.
            state.pending, examples = labels.resolve(state.pending, before, activity_at, now, self.label_params)
            if examples:
                self._learn(partition, examples, out)
            out.repeat_visits += 1
            # the labels are all that changed since `activity_after` was read: kept with the state
            self._write(cid, state, None if activity_after is None else (now, activity_after))
        else:
            state = self._assess(state, now, out, before, activity_at, partition)
            self._write(cid, state, self._judged_activity)
        self._index(partition, cid, state.next_due)

    def index_recovered(self, partitions) -> int:
        """Count the customers of held partitions no event has reached since they were
        recovered (a worker after a restart, before its first event), as `population` counts
        them, from one read of their states; returns the latest watermark among `partitions`
        (0: none). For the metrics alone: the due index and the population sample are still
        rebuilt on first use (`_rebuild`), as before."""
        latest = 0
        for partition in partitions:
            latest = max(latest, self.stream_time(partition))
            if partition in self._population:
                continue
            fit = population.Population(self.params.population, self.params.segment)
            raw = self.models.get(population_key(partition))
            if raw is not None:
                try:
                    fit.restore(*population.decode_fit(raw))
                except ValueError:
                    pass    # `_rebuild` logs it and refits
            core_value = fit.fitted[1].core_value
            now = self.stream_time(partition)
            self._population[partition] = {
                state.customer_id: (state.level, value_figures(state, max(state.last_event, now),
                                                               self.params.segment, core_value).segment)
                for state in self._states_of(partition)}
        return latest

    def population(self) -> dict[tuple[str, str], int]:
        """Customers at each (level, segment) among the partitions this processor holds."""
        counts: dict[tuple[str, str], int] = {}
        for members in self._population.values():
            for level, segment in members.values():
                key = (warn.LEVELS[level], segment)
                counts[key] = counts.get(key, 0) + 1
        return counts

    def model_quality(self) -> ModelQuality | None:
        """Progressive-validation figures over the models of the partitions held here.

        Counts are summed; rolling ROC AUC, log loss and the positive rate are averaged
        weighted by each model's labels (an approximation: the partitions' windows are not
        one window). None when no partition's model has been loaded yet.
        """
        models = list(self._models.values())
        if not models:
            return None
        n = sum(m.labels_seen for m in models)
        pos = sum(m.positives for m in models)

        def weighted(name: str) -> float | None:
            pairs = [(getattr(m.quality(), name), m.labels_seen) for m in models]
            known = [(v, w) for v, w in pairs if v is not None and w > 0]
            total = sum(w for _, w in known)
            return sum(v * w for v, w in known) / total if total else None

        return ModelQuality(labels_seen=n, positives=pos, positive_rate=pos / n if n else None,
                            rolling_roc_auc=weighted("rolling_roc_auc"),
                            rolling_log_loss=weighted("rolling_log_loss"))

    def _stand_in_level(self, partition: int, reason: str) -> int:
        """INFO the first time the built-in prior stands in for `reason` on `partition`, DEBUG
        while the same reason repeats at later refits."""
        repeat = self._stand_in.get(partition) == reason
        self._stand_in[partition] = reason
        return logging.DEBUG if repeat else logging.INFO

    def population_of(self, partition: int) -> population.Population:
        """The partition's population sample and prior, rebuilt from the customer table on first use.

        It is a function of the customers' states (the sample is the customers with the
        smallest id hashes), so after a restart it comes back from the changelogged table.
        """
        pop = self._priors.get(partition)
        if pop is None:
            self._rebuild(partition)
            pop = self._priors[partition]
        return pop

    def model(self, partition: int) -> ChurnModel:
        """The partition's online model, restored from its checkpoint on first use."""
        model = self._models.get(partition)
        if model is None:
            raw = self.models.get(str(partition))
            model = None
            if raw is not None:
                try:
                    model = ChurnModel.loads(raw)
                except ValueError:
                    # A checkpoint we cannot read must not stop the stream; the model starts
                    # over (rules alone until it warms up again), loudly.
                    log.error("model checkpoint of partition %d does not load; starting a new model",
                              partition, exc_info=True)
            if model is None:
                model = ChurnModel(seed=partition, params=self.model_params)
            self._models[partition] = model
        return model

    def _learn(self, partition: int, examples: list[labels.Example], out: Outcome) -> None:
        model = self.model(partition)
        for ex in examples:
            model.learn(ex.features, ex.label)
        out.examples.extend(examples)
        self.labels_learned += len(examples)
        self._unsaved[partition] = self._unsaved.get(partition, 0) + len(examples)
        if self._unsaved[partition] >= self.checkpoint_labels:
            self._checkpoint(partition)

    def _checkpoint(self, partition: int) -> None:
        """Write the partition's model to the models table, if it learned since the last write.

        Called only while handling a message of `partition` (Faust sends a table's changelog
        record to the partition of the message being processed)."""
        if not self._unsaved.get(partition):
            return
        self.models[str(partition)] = self._models[partition].dumps()
        self._unsaved[partition] = 0

    def _assess(self, state: CustomerState, now: int, out: Outcome, before: int,
                activity_at: int | None, partition: int) -> CustomerState:
        lp = self.label_params
        state.pending, examples = labels.resolve(state.pending, before, activity_at, now, lp)
        if examples:
            self._learn(partition, examples, out)
        pop = self.population_of(partition)
        fitted_in = pop.fitted[0]
        prior = pop.prior(now)
        if pop.fitted[0] != fitted_in:
            # Kept with the partition's model checkpoint: a worker that takes the partition
            # over judges with this fit, not one made on the states of a later moment.
            self.models[population_key(partition)] = population.encode_fit(*pop.fitted)
            core = (f"core from {prior.core_value:,.0f} EUR a year, every currency at its EUR rate"
                    if prior.core_value > 0
                    else "core by the fixed threshold")
            core += (f"; baskets typically vary by a log-sd of {prior.basket_log_sd:.2f}" if prior.basket_log_sd
                     else "; basket spread by the fixed prior")
            if prior.customers:
                self._stand_in.pop(partition, None)
                log.info("partition %d: population fitted at %s on %d customers (r %.4g, alpha %.4g d, s %.4g, "
                         "beta %.4g d; %s)", partition, to_datetime(now), prior.customers, prior.r, prior.alpha,
                         prior.s, prior.beta, core)
            elif len(pop.sample) < self.params.population.min_customers:
                log.log(self._stand_in_level(partition, "few"),
                        "partition %d: at %s, %d customers in the population sample, fewer than the %d a fit "
                        "needs: the built-in prior stands in (Pareto/NBD's published fit to the CDNOW shop; %s)",
                        partition, to_datetime(now), len(pop.sample), self.params.population.min_customers, core)
            else:
                log.log(self._stand_in_level(partition, "short"),
                        "partition %d: at %s, the population sample's histories are shorter than the %g days a "
                        "fit needs: the built-in prior stands in (Pareto/NBD's published fit to the CDNOW shop), and no "
                        "one is judged gone on it (%s)",
                        partition, to_datetime(now), self.params.population.min_span_days, core)
        a = warn.assess(state, now, self.params, self.market_timeline.at(now), prior)
        feats = None
        if labels.is_due(state.pending, state.last_active, now, lp):
            feats = features.from_assessment(state, a, self.feature_params)
            state.pending = labels.maybe_snapshot(state.pending, state, now, feats, lp)
        t = warn.decide(state, a, self.params.warning)
        if t is not None and t.level == 3 and t.state != "cleared" and state.level < 3 \
                and any(s.kind == "silence" for s in a.firing):
            # Churned, for the per-segment churn rate: quiet far beyond their own rhythm.
            self.churned[a.segment] = self.churned.get(a.segment, 0) + 1
        shown = warn.published(state, t, self._publish_min)
        # What a repeat page view of the day can start from (`_apply`), unless the warning
        # changes below: the level, kinds and habit are part of what the activity signal reads.
        self._judged_activity = (now, next((s.strength for s in a.signals if s.kind == activity.KIND), 0.0)) \
            if t is None else None
        if t is not None:
            carried = state.kinds
            state = warn.apply(state, a, t, self.params.activity)
        if t is not None and shown is None:
            # below the published levels (`publish_min_level`): kept in the state, counted
            out.withheld.append((t.state, warn.LEVELS[t.level]))
        elif shown is not None:
            t = shown
            model = self.model(partition)
            if feats is None:
                feats = features.from_assessment(state, a, self.feature_params)
            payload = warn.warning_payload(state, a, t, model_version=model.scored_by, cleared_kinds=carried)
            risk = blend(a.risk_score, model.score(feats), model.labels_seen, self.model_params)
            if t.state != "cleared":
                # never below the evidence that set its level: a critical warning on a silence far
                # beyond the customer's own rhythm read 0.15 where the population's gone
                # probability (the ranking score) did not yet call them gone
                risk = max(risk, a.rule_risk if a.rule_risk is not None else a.risk_score)
            payload["risk_score"] = round(risk, 6)
            payload["emitted_at"] = self.wall_clock()
            value = to_json_bytes(ChurnWarning(**payload))
            out.outputs.append(Output(self.settings.warnings_topic, state.customer_id.encode(), value))
            out.warnings.append(payload)
        state.next_due = warn.next_due(state, now, self.params, lp, prior, lazy=True)
        if state.partition >= 0:
            self._population.setdefault(state.partition, {})[state.customer_id] = (state.level, a.segment)
        return state

    # ------------------------------------------------------------------ event-time clock and sweeps

    def _watermark(self, partition: int) -> int:
        """Event time up to which every customer topic of `partition` has been read.

        The slowest topic that has data sets it (topics are read at different speeds, and
        in an accelerated replay a second of skew is days of event time). A topic that has
        been read to its end and has received nothing for `idle_topic_seconds` of wall time
        stops holding it back (a quiet complaints topic must not stop silence detection
        live). A clock tick counts once every topic has been read to its end, since it was
        sent after the events.
        """
        floor = self.stream_time(partition)
        wall = self.wall_clock().timestamp()
        holding, times, all_read = [], [], True
        for topic in self._model_of_topic:
            key = (topic, partition)
            tt = self._topic_time(topic, partition)
            read = self.caught_up(topic, partition, self._tp_next.get(key))
            all_read = all_read and read
            if not tt:
                if not read:
                    return floor  # data waiting whose event time we do not know yet
                continue
            times.append(tt)
            # A topic never heard from since start counts from the start: after a restart a
            # topic with nothing left to re-read must not hold the watermark for ever.
            idle = read and wall - self._tp_seen.get(key, self._started or wall) > self.idle_topic_seconds
            if not idle:
                holding.append(tt)
        wm = min(holding) if holding else max(times, default=floor)
        if all_read:
            wm = max(wm, self._tick.get(partition, 0))
        if not self.market_caught_up():
            # Market events are judged at their event time: until the market topic has been read
            # to its end, nobody is judged past its newest event read (a quiet market topic,
            # once read, holds nothing back: its next event comes when it comes).
            wm = min(wm, self.market_timeline.time)
        return max(floor, wm)

    def _advance(self, partition: int, out: Outcome, *, persist: bool) -> None:
        old = self.stream_time(partition)
        new = self._watermark(partition)
        every = self.settings.sweep_interval_seconds
        crossed = new > old and (old == 0 or new // every != old // every)
        if new > old:
            self._stream_time[partition] = new
        upto = new + self.skew_tolerance_seconds
        if not self.market_caught_up():
            upto = min(upto, max(new, self.market_timeline.time))
        self._release(partition, upto, out)
        if crossed or persist:
            self._write_clock(str(partition), new)
            # A topic's persisted time is that of its newest *applied* event: events read but
            # still buffered are not acknowledged, so after a crash they are read again and
            # must not then look late against a time they set themselves.
            for (topic, p), tt in self._tp_applied.items():
                if p == partition:
                    self._write_clock(f"{p}/{topic}", tt)
            # Only customers due before the watermark minus the lateness allowance are swept:
            # every event that can still be applied to them is newer, so the verdict is final.
            self._sweep(partition, new - self.settings.lateness_seconds, out)
        # Checkpoint the model at a tick, and when the watermark reaches a tick's time later
        # (a tick read before the slower topics counts only once they have caught up).
        tick_at = self._tick.get(partition, 0)
        if persist or (tick_at and old < tick_at <= new):
            self._checkpoint(partition)

    def _write_clock(self, key: str, value: int) -> None:
        """Store a clock, unless this worker already wrote that value (no record to repeat)."""
        if self._clock_written.get(key) != value:
            self.clocks[key] = value
            self._clock_written[key] = value

    def _sweep(self, partition: int, now: int, out: Outcome) -> None:
        heap = self._heap(partition)
        while heap and heap[0][0] <= now:
            due, cid = heapq.heappop(heap)
            if self._due_of.get(cid) != due:
                continue  # stale entry: the customer was re-indexed since
            del self._due_of[cid]
            state = self._take(cid)
            if state is None:
                continue
            if warn.provisional(state):
                # Back in the heap at the exact due time: customers due in this sweep are
                # judged in the order of their exact times, whatever stood in for them.
                self._resolve(state, partition)
                self._write(cid, state)
                self._index(partition, cid, state.next_due)
                continue
            try:
                state = self._catch_up(state, now, out, partition)
            except Exception:  # one customer's failure must not hold back the others' verdicts
                # Their state is as the table holds it (`_take`: nothing half-changed is kept);
                # they are judged again a day later, or at their next event.
                log.exception("assessing customer %s at %d failed; retried at the next event or in a day",
                              cid, now)
                out.assessment_errors += 1
                self._index(partition, cid, now + _RETRY_SECONDS)
                continue
            self._write(cid, state)
            self._index(partition, cid, state.next_due)

    def _resolve(self, state: CustomerState, partition: int) -> None:
        """Replace a provisional due time by the exact one (nothing is assessed).

        A lower bound stood in for the crossing searches (`warn.next_due`, lazy) and the
        customer stayed quiet until it: the searches run now, for the due time they would
        have given at the assessment that put them off, with the population then in force.
        """
        pop = self.population_of(partition)
        state.next_due = warn.exact_due(state, self.params, self.label_params, pop.prior(warn.provisional_at(state)))

    def _catch_up(self, state: CustomerState, until: int, out: Outcome, partition: int) -> CustomerState:
        """Assess the customer at each due time up to `until` (at most `_MAX_STEPS_PER_SWEEP`)."""
        steps = 0
        while 0 < state.next_due <= until and steps < _MAX_STEPS_PER_SWEEP:
            if warn.provisional(state):
                self._resolve(state, partition)
                continue
            # Evaluate exactly when the evidence changes, not when the sweep happens to run:
            # the warning's event time does not depend on the sweep interval. Never before
            # the customer's newest event, though: their state already includes it.
            at = max(state.next_due, state.last_event)
            state = self._assess(state, at, out, state.last_active, None, partition)
            steps += 1
        return state

    def _heap(self, partition: int) -> list[tuple[int, str]]:
        heap = self._due.get(partition)
        if heap is None:
            self._rebuild(partition)
            heap = self._due[partition]
        return heap

    def _rebuild(self, partition: int) -> None:
        """Rebuild the partition's in-memory indexes that are missing, in one pass over its
        states in the table: the due index and each customer's (level, segment) (`_heap`),
        and the population sample with its last fit (`population_of`)."""
        heap = [] if partition not in self._due else None
        pop = population.Population(self.params.population, self.params.segment) if partition not in self._priors else None
        members = self._population.setdefault(partition, {})
        if pop is not None:
            raw = self.models.get(population_key(partition))
            if raw is not None:
                try:
                    pop.restore(*population.decode_fit(raw))
                except ValueError:
                    log.error("population fit of partition %d does not load; refitting", partition, exc_info=True)
        core_value = (pop if pop is not None else self._priors[partition]).fitted[1].core_value
        for state in self._states_of(partition):
            if pop is not None:
                pop.update(state)
            if heap is not None:
                if state.customer_id not in members:
                    seg = value_figures(state, max(state.last_event, self.stream_time(partition)),
                                        self.params.segment, core_value).segment
                    members[state.customer_id] = (state.level, seg)
                if state.next_due > 0:
                    heap.append((state.next_due, state.customer_id))
                    self._due_of[state.customer_id] = state.next_due
        if heap is not None:
            heapq.heapify(heap)
            self._due[partition] = heap
        if pop is not None:
            self._priors[partition] = pop

    def _states_of(self, partition: int):
        """The decoded states of one partition's customers in the table (the rebuild of its
        indexes): every record's partition is read from its head, only the partition's own
        records are decoded. Records that are not states are skipped."""
        for _, raw in list(self.customers.items()):   # the Faust table wrapper has items() only
            try:
                if record_partition(raw) != partition:
                    continue
                yield decode(raw)
            except ValueError:
                continue

    def _index(self, partition: int, cid: str, due: int) -> None:
        heap = self._heap(partition)
        if due > 0:
            if self._due_of.get(cid) != due:
                self._due_of[cid] = due
                heapq.heappush(heap, (due, cid))
        else:
            self._due_of.pop(cid, None)

    # ------------------------------------------------------------------ dead letters

    def _dead_letter(self, out, topic, partition, offset, key, payload, err: InvalidEvent) -> None:
        dl = make_dead_letter(
            source_topic=topic, partition=partition, offset=offset, key=key, payload=payload,
            error=err, max_payload_bytes=self.settings.max_event_bytes, now=self.wall_clock(),
        )
        out.dead_letter_reason = err.reason
        out.outputs.append(Output(self.settings.dead_letters_topic, key, to_json_bytes(dl)))
