"""The write-behind changelog of the customers table (streams/changelog.py), against a fake producer.

What a recovering worker relies on: the newest value of each key is the last record of its
partition; each partition's last record of a flush sits in a batch of its own (the embedded
broker's end offset); events are acknowledged only once their records are stored, and a
failed produce sends the records again instead of losing them.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from streams.changelog import StateChangelog


class FakeBatch:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.records: list[tuple[bytes, bytes]] = []

    def append(self, *, key, value, timestamp):
        if len(self.records) >= self.capacity:
            return None
        self.records.append((key, value))
        return object()


class FakeProducer:
    """Batches land in a per-partition log when the test settles their futures."""

    def __init__(self, capacity: int = 100) -> None:
        self.capacity = capacity
        self.sent: list[tuple[int, FakeBatch, asyncio.Future]] = []
        self.log: dict[int, list[tuple[bytes, bytes]]] = {}
        self.topics: list[str] = []
        self.ends: dict[tuple[str, int], int] = {}   # next offset of each topic-partition

    def create_batch(self) -> FakeBatch:
        return FakeBatch(self.capacity)

    async def send_batch(self, batch, topic, *, partition):
        fut = asyncio.get_running_loop().create_future()
        self.sent.append((partition, batch, fut))
        self.topics.append(topic)
        return fut

    def settle(self, *, fail: bool = False) -> None:
        for topic, (partition, batch, fut) in zip(self.topics, self.sent):
            if fut.done():
                continue
            if fail:
                fut.set_exception(ConnectionError("broker down"))
                continue
            fut.set_result(SimpleNamespace(offset=self.ends.get((topic, partition), 0)))
            self.ends[(topic, partition)] = self.ends.get((topic, partition), 0) + len(batch.records)
            self.log.setdefault(partition, []).extend(batch.records)


T = "app-customers-changelog"


def make(producer: FakeProducer, max_records: int = 1000):
    stored: dict[int, int] = {}
    acked: list = []
    cl = StateChangelog(lambda: producer, max_records=max_records, acknowledge=acked.extend)
    cl.table(T, on_stored=lambda p, o: stored.__setitem__(p, o))
    return cl, stored, acked


def run(coro):
    return asyncio.run(coro)


def test_newest_value_per_key_last_record_alone_and_events_acknowledged_once_stored():
    async def go():
        producer = FakeProducer()
        cl, stored, acked = make(producer)
        cl.set(T, 0, b"a", b"a1")
        cl.set(T, 0, b"b", b"b1")
        cl.set(T, 1, b"c", b"c1")
        cl.set(T, 0, b"a", b"a2")          # supersedes a1, and a is now written last
        cl.hold(["e1", "e2", "e3", "e4"])
        assert cl.pending == 3
        assert acked == []
        await cl.flush()
        # Acknowledged once handed to the producer (Faust flushes the producer before any
        # commit); stored offsets only once the broker has answered.
        assert acked == ["e1", "e2", "e3", "e4"] and stored == {}
        # partition 0: [b1] then [a2] alone; partition 1: [c1] alone
        batches = [(p, b.records) for p, b, _ in producer.sent]
        assert batches == [(0, [(b"b", b"b1")]), (0, [(b"a", b"a2")]), (1, [(b"c", b"c1")])]
        producer.settle()
        await cl.flush(wait=True)
        assert acked == ["e1", "e2", "e3", "e4"]
        assert producer.log == {0: [(b"b", b"b1"), (b"a", b"a2")], 1: [(b"c", b"c1")]}
        assert stored == {0: 1, 1: 0}, "the offset of each partition's last record"
        assert cl.pending == 0
    run(go())


def test_full_batches_are_split_and_the_last_record_still_goes_alone():
    async def go():
        producer = FakeProducer(capacity=2)
        cl, stored, acked = make(producer)
        for i in range(6):
            cl.set(T, 0, f"k{i}".encode(), b"v")
        await cl.flush()
        sizes = [len(b.records) for _, b, _ in producer.sent]
        assert sizes == [2, 2, 1, 1]
        producer.settle()
        await cl.flush(wait=True)
        assert [k for k, _ in producer.log[0]] == [f"k{i}".encode() for i in range(6)]
        assert stored == {0: 5}
    run(go())


def test_a_failed_produce_is_sent_again():
    async def go():
        producer = FakeProducer()
        cl, stored, acked = make(producer)
        cl.set(T, 0, b"a", b"a1")
        cl.set(T, 0, b"b", b"b1")
        cl.hold(["e1"])
        await cl.flush()
        producer.settle(fail=True)
        await cl.flush(wait=True)
        assert stored == {} and cl.pending == 2, "both records wait for the next flush"
        cl.set(T, 0, b"b", b"b2")          # newer than the failed b1: only b2 goes
        cl.hold(["e2"])
        assert cl.pending == 2
        await cl.flush()
        producer.settle()
        await cl.flush(wait=True)
        assert producer.log == {0: [(b"a", b"a1"), (b"b", b"b2")]}
        assert acked == ["e1", "e2"] and stored == {0: 1}
    run(go())


def test_a_failed_produce_does_not_resend_a_value_older_than_a_later_flush_carried():
    """The broker refuses one request and takes the next: the newer value, stored by the
    later flush, must stay the last record of its key (a restarted worker recovers it)."""
    async def go():
        producer = FakeProducer()
        cl, stored, acked = make(producer)
        cl.set(T, 0, b"a", b"a1")
        cl.set(T, 0, b"b", b"b1")
        await cl.flush()
        cl.set(T, 0, b"a", b"a2")          # a newer value, handed over by the next flush
        await cl.flush()
        first = [fut for _, _, fut in producer.sent[:2]]   # the first flush: [a1], [b1]
        for fut in first:
            fut.set_exception(ConnectionError("request timed out"))
        producer.settle()                  # the second flush's [a2] is stored
        await cl.flush(wait=True)
        assert cl.pending == 1, "only b1 waits to be sent again: a1 was superseded by a2"
        await cl.flush()
        producer.settle()
        await cl.flush(wait=True)
        assert producer.log == {0: [(b"a", b"a2"), (b"b", b"b1")]}
    run(go())


def test_due_after_max_records_distinct_keys():
    producer = FakeProducer()
    cl, _, _ = make(producer, max_records=3)
    cl.set(T, 0, b"a", b"1")
    cl.set(T, 0, b"a", b"2")
    cl.set(T, 1, b"b", b"1")
    assert not cl.due()
    cl.set(T, 1, b"c", b"1")
    assert cl.due()


def test_forget_drops_held_events_after_a_rebalance():
    async def go():
        producer = FakeProducer()
        cl, _, acked = make(producer)
        cl.set(T, 0, b"a", b"1")
        cl.hold(["old"])
        cl.forget()
        await cl.flush()
        producer.settle()
        await cl.flush(wait=True)
        assert acked == [] and producer.log == {0: [(b"a", b"1")]}
    run(go())


def test_tables_keep_their_own_topics_encodings_and_stored_offsets():
    async def go():
        producer = FakeProducer()
        cl, stored, acked = make(producer)
        clocks: dict[int, int] = {}
        cl.table("app-clocks-changelog", encode=lambda k, v: (f'"{k}"'.encode(), str(v).encode()),
                 on_stored=lambda p, o: clocks.__setitem__(p, o))
        for t in range(100):                     # a clock moving on: one record per key and flush
            cl.set("app-clocks-changelog", 1, "1", t)
            cl.set("app-clocks-changelog", 1, "1/orders", t)
        cl.set(T, 1, b"c", b"state")
        cl.hold(["e"])
        assert cl.pending == 3
        await cl.flush()
        producer.settle()
        await cl.flush(wait=True)
        sent = sorted(zip(producer.topics, [b.records for _, b, _ in producer.sent]))
        assert sent == [("app-clocks-changelog", [(b'"1"', b"99")]), ("app-clocks-changelog", [(b'"1/orders"', b"99")]),
                        (T, [(b"c", b"state")])]
        assert clocks == {1: 1} and stored == {1: 0} and acked == ["e"]
    run(go())


def test_the_worker_writes_clock_records_as_faust_and_the_bootstrap_do():
    """The clocks table's records written behind are byte for byte Faust's own encoding,
    which the bootstrap's records (streams/bootstrap.py) also follow."""
    import orjson

    from streams.app import _ClockTable, create_app
    from streams.settings import Settings

    cw = create_app(Settings(app_id="cw-encoding-check"))
    producer = FakeProducer()
    cl = StateChangelog(lambda: producer, max_records=10)
    table = _ClockTable(cw.clocks, cl)
    topic = cw.clocks.changelog_topic
    faust_key = topic.prepare_key("3/orders", cw.clocks.key_serializer)[0]
    faust_value = topic.prepare_value(1717171717, cw.clocks.value_serializer)[0]
    assert (faust_key, faust_value) == (orjson.dumps("3/orders"), orjson.dumps(1717171717))
    assert cl._encode[table._topic]("3/orders", 1717171717) == (faust_key, faust_value)


def test_a_failed_hand_over_keeps_records_and_events_for_the_next_flush():
    async def go():
        producer = FakeProducer()
        cl, stored, acked = make(producer)
        broken = {"yes": True}
        send_batch = producer.send_batch

        async def failing(batch, topic, *, partition):
            if broken["yes"]:
                raise ConnectionError("no metadata")
            return await send_batch(batch, topic, partition=partition)

        producer.send_batch = failing
        cl.set(T, 0, b"a", b"a1")
        cl.hold(["e1"])
        await cl.flush()
        assert acked == [] and cl.pending == 1
        broken["yes"] = False
        await cl.flush()
        producer.settle()
        await cl.flush(wait=True)
        assert acked == ["e1"] and producer.log == {0: [(b"a", b"a1")]}
    run(go())


def test_clock_records_are_handed_over_only_once_the_states_before_them_are_stored():
    """A clock stored before the states it covers would make a crash's re-read events look
    late (dead-lettered although never applied by the next owner)."""
    async def go():
        producer = FakeProducer()
        clocks = "app-clocks-changelog"
        cl, stored, acked = make(producer)
        clock_stored: dict[int, int] = {}
        cl.table(clocks, on_stored=lambda p, o: clock_stored.__setitem__(p, o), follows=True)
        cl.set(T, 0, b"a", b"a1")
        cl.set(clocks, 0, "0", 100)
        cl.hold(["e1"])
        await cl.flush()
        assert producer.topics == [T] and acked == ["e1"], "states handed over and the event acknowledged"
        cl.set(T, 0, b"a", b"a2")
        cl.set(clocks, 0, "0", 200)
        await cl.flush()
        await asyncio.sleep(0)
        assert clocks not in producer.topics, "no clock before the states of both flushes are stored"
        producer.settle()                  # the states of both flushes are stored
        for _ in range(5):
            await asyncio.sleep(0)
        assert producer.topics.count(clocks) == 1, "then the first flush's clocks"
        producer.settle()
        for _ in range(5):
            await asyncio.sleep(0)
        assert producer.topics.count(clocks) == 2, "and once they are stored, the second's"
        producer.settle()
        await cl.flush(wait=True)
        assert clock_stored == {0: 1} and stored == {0: 1}

        # States that fail to be stored hold their clocks back, and both go with the next flush.
        cl.set(T, 0, b"a", b"a3")
        cl.set(clocks, 0, "0", 300)
        await cl.flush()
        producer.settle(fail=True)
        await cl.flush(wait=True)
        assert producer.topics.count(clocks) == 2 and cl.pending == 2
        await cl.flush()
        producer.settle()
        for _ in range(5):
            await asyncio.sleep(0)
        producer.settle()
        await cl.flush(wait=True)
        assert producer.topics.count(clocks) == 3 and clock_stored == {0: 2} and cl.pending == 0
    run(go())


class SlowProducer(FakeProducer):
    """`send_batch` waits for the test to open the gate: a producer whose buffer is full under load."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def send_batch(self, batch, topic, *, partition):
        await self.gate.wait()
        return await super().send_batch(batch, topic, partition=partition)


def test_a_flush_called_while_another_hands_over_returns_only_once_its_events_are_acknowledged():
    """The worker's last flush before its last commit, while the periodic flush is still handing
    records to a slow producer: returning at once (nothing left to take) let the commit leave
    those events out, and the producer then closed under the periodic flush, so the next worker
    read them again (139 of 513 committed offsets in a SIGTERM under load)."""
    async def go():
        producer = SlowProducer()
        cl, _, acked = make(producer)
        cl.set(T, 0, b"a", b"a1")
        cl.hold(["e1"])
        periodic = asyncio.ensure_future(cl.flush())
        await asyncio.sleep(0)            # the periodic flush has taken the records and waits on the producer
        assert acked == [] and cl.pending == 0
        last = asyncio.ensure_future(cl.flush())
        await asyncio.sleep(0.01)
        assert not last.done(), "the last flush returned while the events it must cover were still being handed over"
        producer.gate.set()
        await asyncio.wait_for(last, 1)
        assert acked == ["e1"], "by the time the last flush returns, the events held before it are acknowledged"
        await periodic
    run(go())
