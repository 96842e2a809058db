"""Write-behind changelog for the worker's hot tables: one produce batch per partition, not a send per write.

Every event changes its customer's state (the `customers` table), and in a replay or a
backlog nearly every event also moves a partition's clock (the `clocks` table). Faust sends
a table's changelog record per write, each through its own producer future, buffer task and
sensor calls: on bench (b) the `customers` records alone cost ~190 µs of a worker's
~940 µs per event (docs/benchmarks.md, "Changelog records written behind"). Here the worker
still writes the tables' local stores at once (reads see the new values), and the changelog
records wait in :class:`StateChangelog`, the newest value per key, until
:meth:`StateChangelog.flush` hands each partition's records to the producer as whole batches
(aiokafka ``send_batch``).

What keeps this as safe as Faust's own path:

* **Acknowledgement once the records are in the producer.** The events whose state a
  flush carries are acknowledged to Faust (:meth:`hold`) only once the flush has handed
  their records to the producer, and Faust flushes the producer (waits until the broker has
  stored everything handed to it) before every commit. So a commit never covers an event
  whose records are not stored, as with Faust's own sends; a crash before the commit re-reads
  the events, and they are applied again.
* **Order.** Flushes are serialized, and batches of one partition go to the producer in
  the order they were made: the newest value of a key is the last on the changelog.
* **Clocks never ahead of the states.** A partition's clock says up to which event time
  its events were applied; after a crash, a re-read event older than the restored clock is
  recognised as applied by its customer's restored state, or else dead-lettered as late.
  So a clock record must not be stored before the state records written before it: a
  table registered with ``follows=True`` (the `clocks` table) has its records handed to
  the producer only once every earlier flush's records of the other tables are stored
  (Faust's send per write gives no such order: one produce request can carry a clock's
  batch and only the first of several queued state batches). A clock that lags is
  safe: it is only a floor, and the events after it are read again (a topic's time that
  lags judges lateness more leniently until the topic's next event; the worker writes those
  times as applied events move them, so they lag by at most a flush).
* **The embedded broker's end offset.** Tansu reports a partition's end offset as the first
  offset of its newest batch plus one (why the tests run with one record per batch), and
  Faust's recovery reads up to that offset. Each partition's last record of a flush goes in
  a batch of its own, so the end offset after a flush is exact whatever the batch size.
* **RocksDB's persisted offset** (where a restarted worker's recovery starts) is set from
  that last record's offset, as Faust's own changelog callback does.
* **A failed hand-over** keeps the records for the next flush and the events
  unacknowledged; **a failed produce** (the broker down longer than the request timeout)
  sends the records again with the next flush, unless a newer value of the key has arrived
  since: written and not flushed yet, or handed over by a later flush (which is still in
  flight, since a flush completes only after the flushes before it). (Its events were acknowledged already: as with Faust's own sends, a commit made
  between the failure and the resend could cover them; a worker that then crashes before
  the resend loses those changes.)
* **Rebalance and stop**: the worker flushes and waits before its partitions are revoked
  and before its last commit.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Iterable

log = logging.getLogger(__name__)


class StateChangelog:
    """Pending changelog records of the worker's hot tables, sent in batches.

    Each table is registered with :meth:`table`: its changelog topic, how its keys and
    values become bytes (at flush time, once per record sent), and `on_stored(partition,
    offset)`, called with the offset of each partition's last record once stored (the table
    store's ``set_persisted_offset``). `producer_of()` returns the aiokafka producer (Faust's
    own, once started); `acknowledge(events)` is called with the events held since the
    previous flush, once everything they wrote has been handed to that producer.
    """

    def __init__(self, producer_of: Callable[[], Any], *, max_records: int,
                 acknowledge: Callable[[list], None] = lambda events: None) -> None:
        self.max_records = max_records
        self._producer_of = producer_of
        self._acknowledge = acknowledge
        self._encode: dict[str, Callable[[Any, Any], tuple[bytes, bytes]]] = {}
        self._on_stored: dict[str, Callable[[int, int], None]] = {}
        self._follows: set[str] = set()
        self._last: asyncio.Task | None = None   # the newest flush's completion (they form a chain)
        self._failures = 0   # flushes whose leading records failed to be stored (and were put back)
        self._pending: dict[tuple[str, int], dict[Any, Any]] = {}
        self._count = 0
        self._held: list = []
        self._lock = asyncio.Lock()
        self._in_flight: set[asyncio.Task] = set()
        # Records handed over by the flushes not complete yet, by flush number: a failed
        # flush's record is not sent again when a later flush carries a newer value of its key.
        self._flights: dict[int, tuple[dict, dict]] = {}
        self._flush_no = 0
        self.records_sent = 0
        self.batches_sent = 0

    def table(self, topic: str, *, encode: Callable[[Any, Any], tuple[bytes, bytes]] = lambda k, v: (k, v),
              on_stored: Callable[[int, int], None] = lambda p, o: None, follows: bool = False) -> None:
        """Register a table's changelog `topic`; with `follows`, its records are handed over only
        once the other tables' records of the same and earlier flushes are stored."""
        self._encode[topic] = encode
        self._on_stored[topic] = on_stored
        if follows:
            self._follows.add(topic)

    def set(self, topic: str, partition: int, key: Any, value: Any) -> None:
        """Remember the newest value of `key` for the next flush."""
        records = self._pending.get((topic, partition))
        if records is None:
            records = self._pending[(topic, partition)] = {}
        if key in records:
            # Superseded: only the newest value goes out (moved to the end, so records keep
            # the order of their last write).
            del records[key]
        else:
            self._count += 1
        records[key] = value

    def hold(self, events: Iterable) -> None:
        """Events to acknowledge once the records written so far are stored."""
        self._held.extend(events)

    @property
    def pending(self) -> int:
        """Records waiting for a flush."""
        return self._count

    def due(self) -> bool:
        return self._count >= self.max_records

    async def flush(self, *, wait: bool = False) -> None:
        """Hand every pending record to the producer and acknowledge the held events; with
        `wait`, return once the broker has stored them (before a rebalance: the partitions'
        next owner reads the changelog).

        Without `wait` the broker's answer is awaited in the background.
        """
        if not self._count and not self._held and not self._lock.locked() and not (wait and self._in_flight):
            return
        # A flush already handing records over holds the lock: wait for it even with nothing
        # left to take, so that the events it carries are acknowledged when this one returns.
        # The last flush before the worker's last commit must cover them: returning at once
        # left them out of that commit, and the producer then closed under the other flush.
        async with self._lock:
            if self._count or self._held:
                await self._hand_over()
        if wait and self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    async def _hand_over(self) -> None:
        """Hand the pending records to the producer and acknowledge the held events (under the lock)."""
        pending, self._pending, self._count = self._pending, {}, 0
        held, self._held = self._held, []
        lead = {tp: r for tp, r in pending.items() if tp[0] not in self._follows}
        follow = {tp: r for tp, r in pending.items() if tp[0] in self._follows}
        futures = []
        try:
            producer = self._producer_of()
            for (topic, partition), records in lead.items():
                futures.extend(await self._send(producer, topic, partition, records))
        except Exception:  # noqa: BLE001 - not handed over: keep them for the next flush
            log.exception("changelog records not handed to the producer; kept for the next flush")
            self._requeue(pending, held)
            return
        if held:
            self._acknowledge(held)
        self._flush_no += 1
        self._flights[self._flush_no] = (lead, follow)
        task = asyncio.ensure_future(self._complete(futures, lead, follow, self._last, self._failures,
                                                    self._flush_no))
        self._last = task
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _send(self, producer, topic: str, partition: int, records: dict) -> list:
        """Batches of `records` for `partition` of `topic`, the last record alone; their futures."""
        encode = self._encode[topic]
        items = [encode(k, v) for k, v in records.items()]
        futures = []
        batch, in_batch = None, 0
        for key, value in items[:-1]:
            if batch is None:
                batch, in_batch = producer.create_batch(), 0
            if batch.append(key=key, value=value, timestamp=None) is None:
                # Full (the producer's batch size): send it, start the next with this record.
                futures.append((topic, partition, in_batch, await producer.send_batch(batch, topic, partition=partition)))
                batch = producer.create_batch()
                batch.append(key=key, value=value, timestamp=None)
                in_batch = 0
            in_batch += 1
        if batch is not None:
            futures.append((topic, partition, in_batch, await producer.send_batch(batch, topic, partition=partition)))
        last = producer.create_batch()
        key, value = items[-1]
        last.append(key=key, value=value, timestamp=None)
        futures.append((topic, partition, 1, await producer.send_batch(last, topic, partition=partition)))
        return futures

    async def _complete(self, futures: list, lead: dict, follow: dict, previous: asyncio.Task | None,
                        failures: int, number: int) -> None:
        """Wait for this flush's records to be stored, then hand over its following records
        once the previous flush is complete too and none of its records, nor of an earlier
        flush, are waiting to be sent again. `failures` is the count of failed flushes whose
        records had been put back by this flush's hand-over (so they went with it or before);
        `number` is the flush's number."""
        try:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            stored = await self._stored(futures, lead, count_failure=True, number=number)
            if not stored or self._failures != failures:
                # The states these clocks cover are not all stored yet: the clocks go again with
                # the next flush, after those states.
                self._requeue(follow, [], number)
                return
            if follow:
                try:
                    producer = self._producer_of()
                    sent = []
                    for (topic, partition), records in follow.items():
                        sent.extend(await self._send(producer, topic, partition, records))
                except Exception:  # noqa: BLE001 - not handed over: keep them for the next flush
                    log.exception("clock records not handed to the producer; kept for the next flush")
                    self._requeue(follow, [], number)
                    return
                await self._stored(sent, follow, number=number)
        finally:
            self._flights.pop(number, None)

    async def _stored(self, futures: list, pending: dict, *, count_failure: bool = False,
                      number: int | None = None) -> bool:
        """Await the produce `futures` of `pending`; True if all were stored (else requeued)."""
        stored: dict[tuple[str, int], int] = {}
        failed = None
        for topic, partition, n, fut in futures:
            try:
                meta = await fut
            except Exception as exc:  # noqa: BLE001 - handled below: sent again by the next flush
                failed = exc
                continue
            if meta is not None:   # None: a producer that does not wait for acknowledgements
                stored[(topic, partition)] = max(stored.get((topic, partition), -1), meta.offset + n - 1)
            self.records_sent += n
            self.batches_sent += 1
        if failed is not None:
            log.error("changelog records not stored (%s); sending them again with the next flush", failed)
            # Everything goes again (a record stored twice is harmless: the newest value is last).
            self._requeue(pending, [], number)
            if count_failure:
                self._failures += 1
            return False
        for (topic, partition), offset in stored.items():
            self._on_stored[topic](partition, offset)
        return True

    def _requeue(self, pending: dict, held: list, number: int | None = None) -> None:
        """Put `pending` back for the next flush, except the keys with a newer value: written
        since, or (for flush `number`'s records) handed over by a later flush."""
        later = [f for n, f in self._flights.items() if number is not None and n > number]
        for tp, records in pending.items():
            newer = self._pending.get(tp, {})
            merged = {k: v for k, v in records.items()
                      if k not in newer and not any(k in f[0].get(tp, ()) or k in f[1].get(tp, ()) for f in later)}
            self._count += len(merged)
            merged.update(newer)
            self._pending[tp] = merged
        self._held[:0] = held

    def forget(self) -> None:
        """Drop the held events (after a rebalance, Faust no longer expects their acknowledgement)."""
        self._held.clear()
