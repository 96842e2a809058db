"""The Faust application: topics, tables and agents, built from one `Settings`.

Faust code here only moves bytes and state; every decision is in `streams.processing`
(and below it, `detectors`). Messages are consumed as raw bytes and decoded by our own
code, so a malformed message becomes a dead letter instead of crashing the agent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from dataclasses import dataclass

import faust

from detectors.warning import DetectorParams
from streams import metrics
from detectors.state import to_datetime
from schemas.events import to_json_bytes
from schemas.outputs import ClockTick
from streams.changelog import StateChangelog
from streams.privacy import pseudonymiser
from streams.processing import Processor
from streams.security import client_security
from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Churnwatch:
    """The built application and the handles tests and the worker need."""

    settings: Settings
    app: faust.App
    processor: Processor
    customers: faust.Table
    clocks: faust.Table
    models: faust.Table | None = None


class _CustomerTable:
    """A bytes table (`customers`, `models`) with str keys for the processor, raw UTF-8 bytes on the changelog.

    (Faust picks raw serialization only for `bytes` types; str keys would be JSON-quoted.)
    With a `changelog`, writes go to the table's store at once and to its changelog topic
    through the write-behind :class:`StateChangelog` instead of a Faust send per write.
    """

    def __init__(self, table: faust.Table, changelog: StateChangelog | None = None) -> None:
        self._t = table
        self._changelog = changelog
        if changelog is not None:
            self._topic = _batched(table, changelog, lambda k, v: (k, v))

    def get(self, key: str, default=None):
        return self._t.get(key.encode(), default)

    def __setitem__(self, key: str, value: bytes) -> None:
        if self._changelog is None:
            self._t[key.encode()] = value
            return
        k = key.encode()
        self._t.data[k] = value
        self._changelog.set(self._topic, faust.current_event().message.partition, k, value)
        self._t._sensor_on_set(self._t, k, value)

    def items(self):
        for k, v in self._t.items():
            yield k.decode(), v


class _ClockTable:
    """The `clocks` table (str keys, int values) with its changelog records written behind.

    A replay or a backlog crosses a sweep boundary of event time at nearly every event, and
    each crossing writes the partition's clock and each topic's: one changelog record per
    key and flush instead of a send per write (16,323 writes for 14,460 events of bench (b)).
    """

    def __init__(self, table: faust.Table, changelog: StateChangelog) -> None:
        self._t = table
        self._changelog = changelog
        topic = table.changelog_topic

        def encode(key, value):
            # What Faust's own send_changelog would put on the topic (its serializers).
            return (topic.prepare_key(key, table.key_serializer)[0], topic.prepare_value(value, table.value_serializer)[0])

        self._topic = _batched(table, changelog, encode, follows=True)  # never ahead of the states (changelog.py)

    def get(self, key: str, default=None):
        return self._t.get(key, default)

    def __setitem__(self, key: str, value: int) -> None:
        self._t.data[key] = value
        self._changelog.set(self._topic, faust.current_event().message.partition, key, value)
        self._t._sensor_on_set(self._t, key, value)

    def items(self):
        return self._t.items()


def _batched(table: faust.Table, changelog: StateChangelog, encode, *, follows: bool = False) -> str:
    """Register `table`'s changelog topic with the write-behind changelog; its name."""
    name = table.changelog_topic.get_topic_name()
    changelog.table(name, encode=encode, follows=follows,
                    on_stored=lambda p, offset: table.data.set_persisted_offset(faust.types.TP(name, p), offset))
    return name


def read_to_end(consumer, ends_at_tick: dict, tp, next_offset: int | None) -> bool:
    """Has this worker read topic-partition `tp` up to its end (`next_offset` the next offset
    it will be handed; None: its committed offset)? The processor's `caught_up`.

    The end is the consumer's highwater, or the end offset asked at the last clock tick
    (`ends_at_tick`) when higher. A partition not assigned to this worker counts as read:
    another worker reads it, and nothing of it will reach this one.
    """
    try:
        highwater = consumer.highwater(tp)
    except (AssertionError, KeyError):   # aiokafka asserts the partition is assigned
        return True
    if tp in ends_at_tick:
        highwater = max(highwater or 0, ends_at_tick[tp])
    if highwater is None:
        # Unknown until the partition's first fetch answers; empty partitions may stay
        # unknown. Treated as read: a sweep only looks at customers due before the
        # watermark minus the lateness allowance, which absorbs a first fetch.
        return True
    if next_offset is None:
        next_offset = consumer._committed_offset.get(tp) or 0
    return next_offset >= highwater


#: RocksDB memory per partition's database (Faust opens one per table and partition, active
#: and standby): Faust's defaults allow 3 x 64 MiB of memtables and a 2 GiB block cache each,
#: which an index rebuild (it reads every record) fills. Bounded, a partition costs at most
#: 32 + 8 + 2 x 16 = 72 MiB for the customers and 2 x (2 + 1 + 2 x 2) = 14 MiB for the clocks
#: and models: 86 MiB, so 8 partitions (4 active, 4 standby) take at most ~0.7 GiB beside the
#: worker's own memory (docs/operations.md, "Sizing partitions and workers").
ROCKSDB_CUSTOMERS = {"block_cache_size": 32 * 2**20, "block_cache_compressed_size": 8 * 2**20,
                     "write_buffer_size": 16 * 2**20, "max_write_buffer_number": 2}
ROCKSDB_SMALL = {"block_cache_size": 2 * 2**20, "block_cache_compressed_size": 1 * 2**20,
                 "write_buffer_size": 2 * 2**20, "max_write_buffer_number": 2}


def rocksdb_options(settings: Settings, options: dict) -> dict:
    """The table's ``options`` keyword for the RocksDB store (nothing for the memory store)."""
    return {"options": dict(options)} if settings.store != "memory://" else {}


def faust_settings(settings: Settings) -> dict:
    """The Faust app settings a worker runs with: broker, timeouts, producer batching, web
    server, topic declaration. The count-only ceiling of `make bench` (`streams.bench_procs`)
    runs with the same ones, so that its figure is the ceiling of this configuration."""
    return dict(
        broker=[f"kafka://{b}" for b in settings.bootstrap_servers],
        # TLS and SASL for every client Faust makes (consumer, producer, topic creation).
        broker_credentials=client_security(settings).faust_credentials(),
        datadir=str(settings.data_dir),
        # Faust names table files after the table only (<datadir>/v1/tables/customers-0.db): a
        # directory per app id (<datadir>/v1/<app id>/) keeps a new app id from opening another
        # app's RocksDB state. Relative: Faust creates <datadir>, v1 and this one level at a time.
        tabledir=settings.app_id,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        broker_session_timeout=settings.session_timeout_seconds,
        broker_rebalance_timeout=settings.rebalance_timeout_seconds,
        broker_heartbeat_interval=settings.heartbeat_interval_seconds,
        broker_request_timeout=max(40.0, settings.session_timeout_seconds + 10),
        producer_max_batch_size=settings.producer_max_batch_size,
        producer_linger=settings.producer_linger_seconds,
        web_host=settings.web_host,
        web_bind=settings.web_host,
        web_port=settings.web_port,
        web_enabled=True,
        consumer_auto_offset_reset="earliest",
        # Events in the reorder buffer stay unacknowledged on purpose; a rebalance or stop
        # must not wait for them (they are re-read by the partition's next owner).
        stream_wait_empty=False,
        # The env prefix keeps stray FAUST-style variables (BROKER_URL...) from overriding us.
        env_prefix="CHURNWATCH_FAUST_",
        logging_config=None,
    )


def create_app(settings: Settings, params: DetectorParams | None = None) -> Churnwatch:
    """Build the Faust app for `settings` (nothing connects until the worker starts)."""
    params = params or settings.detector_params()
    app = faust.App(
        settings.app_id,
        **faust_settings(settings),
        store="memory://" if settings.store == "memory://" else "rocksdb://",
        # Faust serves every table's contents at /table/ unless told not to (its default).
        web_tables_enabled=settings.serve_tables,
        table_standby_replicas=0 if settings.store == "memory://" else 1,
        consumer_group_instance_id=settings.group_instance_id or None,
    )

    raw = dict(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    customer_topic = app.topic(*settings.customer_topics, settings.clock_ticks_topic,
                               partitions=settings.partitions, **raw)
    market_topic_name = settings.market_events_topic
    warnings_topic = app.topic(settings.warnings_topic, partitions=settings.partitions, **raw)
    dead_letters_topic = app.topic(settings.dead_letters_topic, partitions=settings.partitions, **raw)
    outputs = {settings.warnings_topic: warnings_topic, settings.dead_letters_topic: dead_letters_topic}
    # Unkeyed customer events go back to their own topic, keyed (`Processor._rekey`).
    outputs.update({name: app.topic(name, partitions=settings.partitions, **raw) for name in settings.customer_topics})
    hide = pseudonymiser(settings)

    async def send(out) -> None:
        key, value = out.key, out.value
        if hide is not None and out.topic == settings.warnings_topic:
            key, value = hide.warning(value)
        await outputs[out.topic].send(key=key, value=value, partition=out.partition)

    # State records are our own compact bytes (detectors.state.encode): no JSON around them.
    customers = app.Table("customers", default=None, partitions=settings.partitions, key_type=bytes, value_type=bytes,
                          **rocksdb_options(settings, ROCKSDB_CUSTOMERS))
    clocks = app.Table("clocks", default=None, partitions=settings.partitions, key_type=str, value_type=int,
                       **rocksdb_options(settings, ROCKSDB_SMALL))
    # One online-model checkpoint per partition (key: the partition number), written by the
    # processor while it handles a message of that partition, so the record sits on that
    # partition of the changelog and a worker taking the partition over restores it.
    models = app.Table("models", default=None, partitions=settings.partitions, key_type=bytes, value_type=bytes,
                       **rocksdb_options(settings, ROCKSDB_SMALL))
    acks = _InOrderAcks()
    changelog = None
    if settings.state_flush_records > 0:
        # The two tables written at (nearly) every event: their changelog records are written
        # behind, in batches (streams/changelog.py); model checkpoints stay on Faust's path.
        changelog = StateChangelog(lambda: app.producer._ensure_producer(), max_records=settings.state_flush_records,
                                   acknowledge=acks.done)
    processor = Processor(settings, params, _CustomerTable(customers, changelog),
                          clocks if changelog is None else _ClockTable(clocks, changelog),
                          models=_CustomerTable(models), topic_times_per_event=changelog is not None)

    # End offsets of the customer topics asked of the broker when a clock tick arrives. The
    # consumer's own highwater comes with its last fetch of a partition, and a partition
    # whose records wait in Faust's buffers is not fetched again until they are handled: in
    # the instant a backlogged partition's buffer runs dry, its highwater is stale, and a tick
    # read then would move event time past records not yet fetched (customers judged silent
    # with their orders still unread, then cleared when those arrive).
    ends_at_tick: dict[faust.types.TP, int] = {}

    async def ask_end_offsets(partition: int) -> None:
        tps = [faust.types.TP(topic, partition) for topic in settings.customer_topics]
        try:
            ends = await asyncio.wait_for(app.consumer.highwaters(*tps), timeout=settings.client_timeout_seconds)
        except Exception as error:  # noqa: BLE001 - a slow broker must not stop the stream
            # Without fresh end offsets the tick is judged on the consumer's highwaters, as
            # before; the next tick asks again.
            log.warning("end offsets of partition %d not read (%s): the clock tick is judged on the "
                        "consumer's last fetch", partition, error or type(error).__name__)
            return
        for tp, end in ends.items():
            if end is not None:
                ends_at_tick[tp] = max(ends_at_tick.get(tp, 0), end)

    def caught_up(topic: str, partition: int, next_offset: int | None) -> bool:
        return read_to_end(app.consumer, ends_at_tick, faust.types.TP(topic, partition), next_offset)

    processor.caught_up = caught_up

    market = _MarketPosition()
    processor.market_caught_up = market.caught_up

    # Events the agent has been handed per topic-partition since the last assignment (the
    # stall report's evidence of whether Faust delivers anything at all).
    received: Counter = Counter()
    agent_topics = {*settings.customer_topics, settings.clock_ticks_topic}
    # Set on the way out, before the last commit: nothing is applied after it.
    stopping = asyncio.Event()
    # Clear while the agent is between applying an event and acknowledging it (its outputs
    # and changelog records on their way): the last commit waits for it (see below).
    between_events = asyncio.Event()
    between_events.set()

    @app.agent(customer_topic, name="process")
    async def process(stream):
        # Customers are judged with the market of their event time: wait until the market
        # topic has been read once (see _MarketPosition.ready), saying so when it takes long.
        while not market.ready.is_set():
            try:
                await asyncio.wait_for(market.ready.wait(), timeout=30.0)
            except asyncio.TimeoutError:
                if not market.ends:
                    # Faust starts app tasks, the market reader among them, once the worker has
                    # joined its group and recovered its tables (a restart on the embedded broker
                    # can take a minute): nothing is wrong yet, but say what is being waited for.
                    log.warning("market topic %s not read yet after 30 s: its reader starts once the worker has "
                                "joined its group and recovered its tables; customer events wait", market_topic_name)
                else:
                    log.warning("market topic %s not read to its end after 30 s (read %s of %s): customer events wait",
                                market_topic_name, _offsets_text(market.read), _offsets_text(market.ends))
        # Manual acknowledgement: an event waiting in the reorder buffer (for slower topics to
        # reach its event time) is acknowledged only once applied, so a crash re-reads it.
        async for event in stream.noack().events():
            if stopping.is_set():
                # Fetched before the stop and not applied: left unacknowledged for the next
                # worker (an event applied after the last commit would be read again by it).
                continue
            msg = event.message
            received[msg.topic, msg.partition] += 1
            acks.read(event)
            between_events.clear()
            try:
                if msg.topic == settings.clock_ticks_topic:
                    await ask_end_offsets(msg.partition)
                with metrics.PROCESSING_SECONDS.time():
                    outcome = processor.handle(msg.topic, msg.partition, msg.offset, event.key, event.value,
                                               ref=event)
                metrics.observe_outcome(msg.topic, outcome, tick=msg.topic == settings.clock_ticks_topic)
                for out in outcome.outputs:
                    await send(out)
                if changelog is None:
                    acks.done(outcome.done)
                else:
                    # Acknowledged once the state records they wrote are in the producer, which
                    # Faust flushes before every commit (see changelog.py).
                    changelog.hold(outcome.done)
                    if changelog.due():
                        await changelog.flush()
            finally:
                between_events.set()

    if changelog is not None:
        @app.task
        async def flush_state_changelog():
            while True:
                await asyncio.sleep(settings.state_flush_interval_seconds)
                await changelog.flush()

        @app.on_partitions_revoked.connect
        async def store_before_revoke(sender, revoked, **kwargs):  # noqa: ARG001
            # The partitions' next owner recovers the table from the changelog: everything
            # written here must be there before the group rebalances.
            try:
                await asyncio.wait_for(changelog.flush(wait=True), timeout=settings.rebalance_timeout_seconds / 2)
            except Exception:  # noqa: BLE001 - unacknowledged events are re-read by the next owner
                log.exception("changelog records not stored before the rebalance")

    ticks_topic = app.topic(settings.clock_ticks_topic, partitions=settings.partitions, **raw)

    @app.timer(5.0, on_leader=False)
    async def nudge_idle_partitions():
        # Buffered events wait for the slower topics; when a topic goes quiet, only a message
        # can move the partition on (Faust allows table writes inside stream processing
        # only), so a tick at the current stream time is sent to let the idle rule apply.
        for partition in processor.partitions_to_nudge():
            tick = ClockTick(partition=partition, occurred_at=to_datetime(processor.stream_time(partition) or 1))
            await ticks_topic.send(key=str(partition).encode(), value=to_json_bytes(tick), partition=partition)

    market_topic = app.topic(market_topic_name, partitions=settings.market_partitions, **raw)

    @app.agent(market_topic, name="check_market_events")
    async def check_market_events(stream):
        # The group member owning a market partition dead-letters its bad records once;
        # the per-worker reader below applies the good ones everywhere.
        async for event in stream.events():
            msg = event.message
            outcome = processor.check_market(msg.topic, msg.partition, msg.offset, event.key, event.value)
            metrics.observe_outcome(msg.topic, outcome)
            for out in outcome.outputs:
                await send(out)

    @app.task
    async def follow_market_events():
        await _follow_market(settings, market_topic_name, processor, market)

    _no_delivery_while_streams_resume(app)
    fetch_max_wait(app, settings.fetch_max_wait_seconds)
    broker_watch = _BrokerWatch(settings)

    @app.on_partitions_assigned.connect
    async def on_assigned(sender, assigned, **kwargs):  # noqa: ARG001
        # Faust's monitor keeps the offsets of partitions it no longer owns: their lag would
        # be exported beside the new owner's (a dashboard's sum counts it twice) until a restart.
        metrics.forget_partitions(app.monitor, set(assigned))
        processor.forget_partitions()
        acks.forget()
        received.clear()
        if changelog is not None:
            changelog.forget()
        # A rejoin after the broker lost its data looks like any rebalance: check at once
        # (Faust keeps its old positions where the group has no offsets), but in the
        # background: the admin requests can take seconds on a loaded machine, and a
        # rebalance callback that outlives the rebalance timeout starts another rebalance.
        broker_watch.check_soon()

    @app.on_before_shutdown.connect
    async def commit_on_the_way_out(sender, **kwargs):  # noqa: ARG001
        # Faust's stop commits nothing itself (with stream_wait_empty=False it does not wait
        # for the streams): everything applied since the last periodic commit would be read
        # again by the next worker. The fetcher has stopped here; commit flushes the producer
        # (the changelog records of what was applied) and then commits what is acknowledged.
        # The agent may still be working through events fetched before the stop: applied
        # after this commit, they would be read again by the next worker (254 of 657
        # committed offsets, once, on a loaded machine). It applies none from here on.
        stopping.set()
        try:
            # An event applied while the stop began (its warnings being sent, a tick asking
            # for end offsets) is acknowledged once the agent gets back to it; committing
            # before that leaves it applied, stored and uncommitted: read again by the next
            # worker (102 of 3,630 events once, with a tick's released batch in flight).
            # Bounded: a broker that does not answer costs only re-reading.
            await asyncio.wait_for(between_events.wait(), timeout=settings.client_timeout_seconds + 2)
        except asyncio.TimeoutError:
            log.warning("the event being applied at the stop did not finish in time: it is read again")
        try:
            if changelog is not None:
                # Hands the state records of what was applied to the producer and acknowledges
                # those events; the commit flushes the producer before it commits them. Waits
                # for a periodic flush still handing records over (bounded: a producer that
                # cannot take them only leaves their events to be read again).
                try:
                    await asyncio.wait_for(changelog.flush(), timeout=settings.client_timeout_seconds + 2)
                except asyncio.TimeoutError:
                    log.warning("the changelog records of the last events were not handed over in time: "
                                "those events are read again")
            await app.consumer.commit()
            # Faust lets one commit run at a time: called during its periodic commit (which can
            # take seconds under load on the embedded broker), `commit` waits for that one and
            # returns without committing. That one took its offsets before the flush above
            # acknowledged the held events: they would be read again by the next worker (139
            # of 3,630 events once). A second call commits them.
            await app.consumer.commit()
        except Exception:  # noqa: BLE001 - a failed last commit only means more is read again
            log.exception("committing offsets on the way out failed; the next worker reads them again")

    stalls = _StallWatch(after_seconds=settings.stall_report_seconds)

    @app.timer(15.0, on_leader=False)
    async def watch_progress():
        # A partition with input left to read whose position, watermark and buffer have not
        # moved is reported with where it stands (seen after restarts under load, cause not
        # found: docs/reliability.md); one Faust has handed nothing of is read again.
        if app.rebalancing or stopping.is_set():
            stalls.reset()
            metrics.set_partitions_stalled(0)
            return
        try:
            assigned = {tp for tp in app.consumer.assignment() if tp.topic in agent_topics}
        except Exception:  # noqa: BLE001 - not started or between assignments
            return
        ends = await end_offsets(assigned)
        try:
            stalled = report_stalls({tp for tp in assigned if tp.topic in settings.customer_topics}, ends)
        except Exception:  # noqa: BLE001 - a diagnosis must never stop the worker
            log.exception("checking the partitions' progress failed")
            return
        metrics.set_partitions_stalled(len(stalls.stalled(time.monotonic())))
        for partition in stalled:
            try:
                await read_again_if_never_delivered(partition, assigned, ends)
            except Exception:  # noqa: BLE001 - the next report tries again
                log.exception("partition %d: reading its topics again failed", partition)

    async def end_offsets(tps) -> dict:
        # Asked of the broker: the consumer's own highwater is unknown for a partition it has
        # never fetched, and stale for one it has stopped fetching.
        known = {tp: app.consumer.highwater(tp) for tp in tps}
        try:
            asked = await asyncio.wait_for(app.consumer.highwaters(*tps), timeout=settings.client_timeout_seconds)
        except Exception:  # noqa: BLE001 - a slow broker: the consumer's highwaters, as they are
            return known
        return {tp: asked[tp] if asked.get(tp) is not None else known[tp] for tp in tps}

    async def read_again_if_never_delivered(partition: int, assigned, ends: dict) -> None:
        # A stalled partition of which Faust has handed the agent nothing since the assignment,
        # while the agent waits for its next event: its records were fetched and lost before
        # delivery, or never fetched (twice after a restart under load, cause inside Faust not
        # found: docs/reliability.md). Nothing of it is in flight, so reading it again from
        # the committed offsets loses and repeats nothing (an event applied before a crash is
        # recognised by its id).
        if (not (market.ready.is_set() and between_events.is_set()) or app.rebalancing or app.in_recovery
                or stopping.is_set()):
            return
        offsets = {tp: app.consumer._committed_offset.get(tp) or 0 for tp in assigned
                   if tp.partition == partition and not received[tp.topic, tp.partition]}
        behind = {tp: offset for tp, offset in offsets.items() if offset < (ends.get(tp) or 0)}
        if not behind:
            return
        log.warning("partition %d: nothing handed to the agent since the assignment; reading %s again from %s",
                    partition, ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(behind)),
                    ", ".join(str(offset) for _, offset in sorted(behind.items())))
        # Fetched again, whatever stopped it: the flow on, the partitions among those fetched.
        if not app.consumer.flow_active:
            app.consumer.resume_flow()
        app.consumer.resume_partitions(behind)
        await _read_again(app, behind)

    def report_stalls(assigned, ends: dict) -> list[int]:
        """Log the partitions that have input left and have not moved for a while; return them."""
        reported = []
        now = time.monotonic()
        for partition in sorted({tp.partition for tp in assigned}):
            tps = [tp for tp in assigned if tp.partition == partition]
            left = {f"{tp.topic}[{tp.partition}]": (app.consumer._committed_offset.get(tp), ends.get(tp))
                    for tp in tps}
            behind = any(end is not None and (done or 0) < end for done, end in left.values())
            where = processor.progress(partition)
            moved = (where["watermark"], where["buffered"], tuple(t["next"] for t in where["topics"].values()),
                     tuple(done for done, _ in left.values()))
            if stalls.observe(partition, moved, behind, now):
                log.warning("partition %d: no progress for %.0f s with input left to read (committed, end offset: "
                            "%s); where it stands: %s; Faust's consumer: %s", partition,
                            stalls.still_for(partition, now), left, where, _consumer_state(app, tps, received))
                reported.append(partition)
        return reported

    @app.timer(2.0, on_leader=False)
    async def watch_broker():
        await broker_watch.check()

    @app.timer(10.0, on_leader=False)
    async def publish_population():
        # Customers per level and segment on this worker's partitions (Prometheus sums workers).
        # Partitions recovered after a restart are counted before their first event arrives,
        # and the recovered watermarks are this worker's stream time until events move it.
        if not (app.rebalancing or app.in_recovery or stopping.is_set()):
            try:
                held = {tp.partition for tp in app.consumer.assignment() if tp.topic in agent_topics}
            except Exception:  # noqa: BLE001 - not started or between assignments
                held = set()
            latest = processor.index_recovered(held)
            if latest:
                metrics.observe_stream_time(latest)
        counts = processor.population()
        metrics.set_customer_counts(counts)
        active: dict[str, int] = {}
        for (level, segment), n in counts.items():
            if level != "critical":
                active[segment] = active.get(segment, 0) + n
        metrics.set_customers_active(active)
        metrics.set_unkeyed_held(processor.held_copies())
        churned, processor.churned = processor.churned, {}
        for segment, n in churned.items():
            metrics.customer_churned(segment, n)
        learned, processor.labels_learned = processor.labels_learned, 0
        if learned:
            metrics.model_labels_seen(learned)
        quality = processor.model_quality()
        if quality is not None:
            metrics.set_model_quality(positive_rate=quality.positive_rate, roc_auc=quality.rolling_roc_auc,
                                      log_loss=quality.rolling_log_loss)

    if settings.live_ticks:
        @app.timer(settings.live_tick_interval_seconds, on_leader=True)
        async def live_ticks():
            await _send_live_ticks(settings, app)

    # Faust's own Prometheus sensor (and consumer lag from it) on the registry the metrics endpoint serves.
    metrics.install_faust_sensor(app)
    metrics.set_worker_info(live=settings.live_ticks)
    metrics.start_at_zero([*settings.customer_topics, settings.market_events_topic, settings.clock_ticks_topic],
                          customer_topics=settings.customer_topics)
    return Churnwatch(settings, app, processor, customers, clocks, models)


def fetch_max_wait(app: faust.App, seconds: float) -> None:
    """Let the broker hold a fetch with no new records for `seconds` instead of Faust's 1.5 s.

    Faust 0.15.3 creates its consumer with `fetch_max_wait_ms=1500` and no setting to change
    it (`faust/transport/drivers/aiokafka.py`, `_create_worker_consumer`). A broker may hold
    a fetch that long when fewer than `fetch.min.bytes` are there; the embedded Tansu broker
    holds most fetches close to the full time even with records waiting, so at a steady 500
    events/s a warning took 0.7 s at the median and 1.6 s at p99 to appear, and a Faust agent
    that only forwards took 0.35 / 0.8 s (docs/benchmarks.md, "Produce-to-warning latency").
    The wait is set on Faust's consumer when Faust creates it, before it starts (aiokafka
    hands it to its fetcher at start); nothing else of Faust's consumer changes.
    """
    wait_ms = max(1, round(seconds * 1000))

    def new_consumer(_original=app._new_consumer):
        consumer = _original()
        thread = consumer._thread
        create = thread._create_worker_consumer

        def create_worker_consumer(transport):
            client = create(transport)
            client._fetch_max_wait_ms = wait_ms
            return client

        thread._create_worker_consumer = create_worker_consumer
        return consumer

    app._new_consumer = new_consumer


def _no_delivery_while_streams_resume(app: faust.App) -> None:
    """Close a window in which Faust loses the first records of a partition after a rebalance.

    When table recovery ends, Faust (0.15.3, `faust/tables/recovery.py`
    `on_recovery_completed` and `_resume_streams`) resumes fetching from the stream
    partitions, then awaits the seek to the committed offsets, and only then calls
    `app.flow_control.resume()`, which empties every stream's queue. The consumer's flow is
    still on from reading the changelogs, so records fetched during that await are handed to
    the agent's queue and then emptied out of it: never processed, never acknowledged, and
    the fetch position is already past them. Seen on a restarted worker with a backlog: the
    two records published while it joined were skipped, its committed offset stayed behind
    them, and nothing more happened on that partition until the next rebalance.

    Stopping the consumer's flow first closes the window: a fetch that returns while the
    flow is stopped seeks back to the committed offsets instead of delivering (Faust's
    `Consumer.getmany`), and Faust's own code resumes the flow right after resuming flow
    control, with no await in between. If recovery gives up because another rebalance
    began, the flow stays stopped until that rebalance's recovery resumes it.
    """
    recovery = app.tables.recovery
    for name in ("on_recovery_completed", "_resume_streams"):
        original = getattr(recovery, name)

        async def stopped_first(generation_id: int = 0, _original=original) -> None:
            app.consumer.stop_flow()
            await _original(generation_id)

        setattr(recovery, name, stopped_first)


async def _read_again(app: faust.App, offsets: dict) -> None:
    """Seek topic-partitions to `offsets` in Faust's consumer thread; Faust then hands on their
    records again from there (`seek_wait` also moves Faust's own read offsets back)."""
    await app.consumer.seek_wait(offsets)


def _consumer_state(app: faust.App, tps, received: Counter) -> dict:
    """Faust's side of a stall report: whether its flow is on, and per topic-partition whether
    it is fetched (active, paused, buffered), the last offset Faust handed on, and how many
    events the agent was handed since the assignment."""
    consumer = app.consumer
    active = consumer._active_partitions or set()
    return {
        "flow_active": consumer.flow_active,
        "flow_suspended": consumer.suspend_flow.is_set(),
        "flow_control_active": app.flow_control.is_active(),
        "in_recovery": app.in_recovery,
        "partitions": {f"{tp.topic}[{tp.partition}]": {
            "active": tp in active, "paused": tp in consumer._paused_partitions,
            "buffered": tp in consumer._buffered_partitions, "read_offset": consumer._read_offset.get(tp),
            "received": received[tp.topic, tp.partition]} for tp in sorted(tps)},
    }


class _StallWatch:
    """Says when a partition has had input left to read and not moved for `after_seconds`,
    then again every ten times that while it stays so.

    >>> w = _StallWatch(after_seconds=60)
    >>> [w.observe(1, "a", True, t) for t in (0, 30, 61, 90)]
    [False, False, True, False]
    >>> w.observe(1, "b", True, 100), w.observe(1, "b", True, 170)   # moved: the clock starts again
    (False, True)
    >>> w.observe(2, "x", False, 0), w.observe(2, "x", False, 500)    # nothing left to read: not a stall
    (False, False)
    >>> w.observe(1, "b", True, 769), w.observe(1, "b", True, 771)
    (False, True)
    >>> w.stalled(771)   # partition 1 since 100 (reported or not); 2 has nothing left to read
    [1]
    """

    def __init__(self, after_seconds: float) -> None:
        self.after = after_seconds
        self._since: dict[int, tuple[object, float, float]] = {}   # partition -> (signature, since, last report)

    def observe(self, partition: int, signature, behind: bool, now: float) -> bool:
        if not behind:
            self._since.pop(partition, None)
            return False
        last = self._since.get(partition)
        if last is None or last[0] != signature:
            self._since[partition] = (signature, now, -1.0)
            return False
        _, since, reported = last
        if now - since < self.after or (reported >= 0 and now - reported < 10 * self.after):
            return False
        self._since[partition] = (signature, since, now)
        return True

    def still_for(self, partition: int, now: float) -> float:
        last = self._since.get(partition)
        return 0.0 if last is None else now - last[1]

    def stalled(self, now: float) -> list[int]:
        """The partitions with input left that have not moved for `after` seconds, reported or
        not (what `churnwatch_partitions_stalled` counts)."""
        return sorted(p for p, (_, since, _) in self._since.items() if now - since >= self.after)

    def reset(self) -> None:
        self._since.clear()


class _InOrderAcks:
    """Acknowledges each topic-partition's events to Faust in offset order.

    The reorder buffer finishes events in event-time order, which is not offset order: an
    older event read later is applied first, and duplicates and dead letters are done at
    once. Faust commits the first run of consecutive acknowledged offsets, and on a
    partition the group has never committed (a fresh group, or one taken over from a worker
    that committed nothing) it does not check that the run starts where reading started
    (faust/transport/consumer.py `_new_offset`, `if committed_offset:`): acknowledged 1-50
    with 0 still buffered, it commits 51, and a crash then loses offset 0, neither applied
    nor dead-lettered. Acknowledged in offset order, a commit never passes an event that is
    not done. (Events of a topic-partition are read in offset order.)

    >>> from types import SimpleNamespace as E
    >>> acked = []
    >>> ev = [E(message=E(topic="t", partition=0, offset=o), ack=lambda o=o: acked.append(o)) for o in range(3)]
    >>> acks = _InOrderAcks()
    >>> for e in ev: acks.read(e)
    >>> acks.done([ev[2], ev[1]]); acked
    []
    >>> acks.done([ev[0]]); acked
    [0, 1, 2]
    """

    def __init__(self) -> None:
        self._read: dict[tuple[str, int], deque] = {}
        self._entry: dict[int, list] = {}   # id(event) -> [event, done], for events read and not acknowledged

    def read(self, event) -> None:
        entry = [event, False]
        self._entry[id(event)] = entry
        self._read.setdefault((event.message.topic, event.message.partition), deque()).append(entry)

    def done(self, events) -> None:
        touched = set()
        for event in events:
            entry = self._entry.pop(id(event), None)
            if entry is not None:  # None: read before the last rebalance (re-read since, or revoked)
                entry[1] = True
                touched.add((event.message.topic, event.message.partition))
        for tp in touched:
            queue = self._read[tp]
            while queue and queue[0][1]:
                queue.popleft()[0].ack()

    def forget(self) -> None:
        """After a rebalance: Faust re-reads every partition from its committed offset."""
        self._read.clear()
        self._entry.clear()


#: Exit status when the broker no longer holds the worker's data (see `_BrokerWatch`).
EXIT_BROKER_STATE_LOST = 76


class _BrokerWatch:
    """Notices that the broker no longer holds this worker's data, and stops the worker.

    An in-memory broker that restarts comes back empty; so does a cluster whose topics or
    group were deleted. The worker would rejoin a group without offsets and keep fetching at
    its old positions in re-created partitions (Faust seeks only where the group has an
    offset): it silently skipped their first records, or waited for ever past their end, on
    top of in-memory tables the broker no longer has. Two signs, checked every 2 s and at
    each rebalance, make the worker exit with `EXIT_BROKER_STATE_LOST`, saying why:

    * the cluster id changed: another cluster answers at the same address (the embedded
      broker takes a new id at each start, being a new, empty cluster each time);
    * a committed offset the broker reported before is gone (committed offsets do not go
      away while the group is active, unless their topic was deleted; an operator may reset
      them to lower ones, which does not count).

    Records the worker read in the seconds before the check are applied to states the
    broker has lost anyway: after this exit, start over with empty state.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cluster_id: str | None = None
        self.seen: dict[tuple[str, int], int] = {}  # (topic, partition) -> offset the broker last reported
        self._admin = None
        self._checking = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()

    def _query(self) -> tuple[str | None, dict[tuple[str, int], int]] | None:
        """The cluster id and the group's committed offsets on the input topics; None when the broker does not answer."""
        from streams import kafka_clients

        try:
            if self._admin is None:
                self._admin = kafka_clients.admin_client(self.settings)
            try:
                cluster = self._admin.describe_cluster().get("cluster_id")
            except Exception:  # noqa: BLE001 - brokers before Kafka 2.8 have no DescribeCluster: offsets only
                cluster = None
            answer = self._admin.list_group_offsets({self.settings.app_id: None}).get(self.settings.app_id, {})
        except Exception:  # noqa: BLE001 - broker unreachable: Faust's own reconnection deals with that
            if self._admin is not None:
                try:
                    self._admin.close()
                except Exception:  # noqa: BLE001
                    pass
                self._admin = None
            return None
        inputs = {*self.settings.customer_topics, self.settings.clock_ticks_topic}
        return cluster, {(tp.topic, tp.partition): om.offset for tp, om in answer.items()
                         if tp.topic in inputs and om.offset is not None and om.offset >= 0}

    def _lost(self) -> list[str]:
        answer = self._query()
        if answer is None:
            return []
        cluster, offsets = answer
        lost = []
        if cluster and self.cluster_id and cluster != self.cluster_id:
            lost.append(f"it is another cluster now (cluster id {cluster!r}, was {self.cluster_id!r})")
        self.cluster_id = self.cluster_id or cluster
        lost += [f"{t}[{p}] was committed at {off} and has no offset now" for (t, p), off in sorted(self.seen.items())
                 if (t, p) not in offsets]
        self.seen.update(offsets)
        return lost

    def check_soon(self) -> None:
        """Start a check in the background (see `check`)."""
        task = asyncio.ensure_future(self.check())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def check(self) -> None:
        """Exit the process when the broker has lost this worker's data (see the class docstring)."""
        import os
        import sys

        if self._checking.locked():
            return  # one at a time: a slow broker answer must not pile up threads
        async with self._checking:
            lost = await asyncio.get_running_loop().run_in_executor(None, self._lost)
        if lost:
            message = (f"churnwatch worker: the broker at {self.settings.broker} no longer holds the data of group "
                       f"{self.settings.app_id!r}: {'; '.join(lost[:3])}{f'; and {len(lost) - 3} more' if len(lost) > 3 else ''}. "
                       "It restarted without its data, or the topics or group were deleted. Exiting rather than "
                       "skip records or mix old state with new topics; start over with empty state (a new "
                       "CHURNWATCH_APP_ID, or delete the changelog topics) once the inputs are back on the broker.")
            log.critical(message)
            sys.stderr.write(message + "\n")
            sys.stderr.flush()
            os._exit(EXIT_BROKER_STATE_LOST)


def _offsets_text(offsets: dict) -> str:
    """``{TopicPartition: offset}`` as ``market-events[0]=12, ...`` for a log line.

    >>> from collections import namedtuple
    >>> TP = namedtuple("TP", "topic partition")
    >>> _offsets_text({TP("market-events", 1): 3, TP("market-events", 0): 12})
    'market-events[0]=12, market-events[1]=3'
    """
    return ", ".join(f"{tp.topic}[{tp.partition}]={offset}"
                     for tp, offset in sorted(offsets.items(), key=lambda item: (item[0].topic, item[0].partition)))


class _MarketPosition:
    """How far this worker's market reader has read: the processor's `market_caught_up`."""

    def __init__(self) -> None:
        self.ends: dict = {}        # TopicPartition -> end offset when the reader started
        self.read: dict = {}        # TopicPartition -> next offset to read
        self.consumer = None
        # Set once the market topic has been read to its end the first time: the customer agent
        # starts only then. (A worker reads its backlog in milliseconds; held back behind an
        # unread market topic, its last events would wait for the idle nudge, 30 s later.)
        self.ready = asyncio.Event()

    def caught_up(self) -> bool:
        """True once every market partition has been read to its end (as last reported)."""
        if self.consumer is None or not self.ends:
            return False  # not connected yet: market events may be waiting
        for tp, end in self.ends.items():
            highwater = self.consumer.highwater(tp)
            if self.read.get(tp, 0) < max(end, highwater or 0):
                return False
        return True


async def _follow_market(settings: Settings, topic: str, processor: Processor, position: _MarketPosition) -> None:
    """Every worker reads every market-event partition itself (no consumer group):
    market events are few, keyed by category, and every customer partition needs them.

    They go to the processor's market timeline and count at their event time. Until the
    reader has reached the end of the market topic, the processor's watermark stays at the
    newest market event read, so no customer is judged without the promotions of their time;
    a reader that fails is restarted (loudly) rather than hold the watermark for ever.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from schemas.errors import InvalidEvent

    while True:
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                                    auto_offset_reset="earliest", group_id=None,
                                    fetch_max_wait_ms=max(1, round(settings.fetch_max_wait_seconds * 1000)),
                                    **client_security(settings).client_options())
        try:
            await consumer.start()
            parts = consumer.partitions_for_topic(topic) or set(range(settings.market_partitions))
            tps = [TopicPartition(topic, p) for p in sorted(parts)]
            consumer.assign(tps)
            for tp in tps:  # a restarted reader goes on where it stopped: the timeline keeps what it read
                if position.read.get(tp):
                    consumer.seek(tp, position.read[tp])
                else:
                    await consumer.seek_to_beginning(tp)
            position.ends = await consumer.end_offsets(tps)
            position.consumer = consumer
            while True:
                batch = await consumer.getmany(timeout_ms=1000)
                for tp, records in batch.items():
                    for rec in records:
                        try:
                            processor.handle_market(rec.value or b"", rec.key, rec.partition, rec.offset)
                        except InvalidEvent:
                            pass  # dead-lettered once by the `check_market_events` agent
                        position.read[tp] = rec.offset + 1
                if not position.ready.is_set() and position.caught_up():
                    log.info("market topic %s read to its end: %d market events", topic,
                             len(processor.market_timeline))
                    position.ready.set()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - any failure: say so, reconnect
            log.exception("reading the market topic %s failed; reconnecting in 5 s (customers wait for it)", topic)
            await asyncio.sleep(5)
        finally:
            position.consumer = None
            await consumer.stop()


async def _send_live_ticks(settings: Settings, app: faust.App) -> None:
    """Wall-clock ticks for quiet partitions in live use (event time ~ wall time)."""
    from datetime import datetime, timedelta, timezone

    from schemas.events import to_json_bytes
    from schemas.outputs import ClockTick

    at = datetime.now(timezone.utc) - timedelta(seconds=settings.lateness_seconds)
    topic = app.topic(settings.clock_ticks_topic, key_serializer="raw", value_serializer="raw")
    for p in range(settings.partitions):
        await topic.send(key=str(p).encode(), value=to_json_bytes(ClockTick(partition=p, occurred_at=at)), partition=p)
