"""`churnwatch bootstrap --warnings`: the history's warning steps published as a worker publishes them (no broker)."""

from __future__ import annotations

from datetime import datetime, timezone

import orjson

from streams import bootstrap as boot
from streams.offline import run_offline
from streams.privacy import Pseudonymiser
from streams.replay import partition_for
from streams.settings import Secret, Settings
from streams.simulate import write_simulation


class _Sent:
    def add_errback(self, _callback):
        return self


class _Producer:
    """Records what is sent and which sends each flush closed."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes, int]] = []
        self.flushes: list[int] = []

    def send(self, topic, *, key, value, partition):
        self.sent.append((topic, key, value, partition))
        return _Sent()

    def flush(self):
        self.flushes.append(len(self.sent))

    def close(self, timeout=None):
        pass


def _history(tmp_path, settings):
    events = tmp_path / "events.jsonl"
    write_simulation(events, tmp_path / "truth.csv", 60, "2024-01-01", 365, seed=5)
    return run_offline(settings, open(events, "rb")).warnings


def test_the_open_episodes_are_published_in_order_on_their_customers_partitions(tmp_path, monkeypatch):
    settings = Settings(partitions=4)
    warnings = _history(tmp_path, settings)
    producer = _Producer()
    monkeypatch.setattr(boot.kafka_clients, "producer", lambda *a, **k: producer)
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

    chosen = boot.warnings_to_publish(warnings, "open")
    boot.publish_warnings(settings, chosen, at)

    sent = [orjson.loads(value) for _, _, value, _ in producer.sent]
    # every open episode's steps, none of a closed one, each customer's in the run's order
    assert chosen and len(chosen) < len(warnings)
    assert all(w["state"] != "cleared" for w in sent)
    key = lambda w: (w["customer_id"], w["occurred_at"], w["warning_id"])
    assert sorted(map(key, sent)) == sorted(map(key, chosen))
    for cid in {w["customer_id"] for w in sent}:
        assert [w["warning_id"] for w in sent if w["customer_id"] == cid] == \
               [w["warning_id"] for w in chosen if w["customer_id"] == cid]
    # as a worker publishes them: the contract, keyed and partitioned by customer, emitted now
    assert all(t == settings.warnings_topic and k == orjson.loads(v)["customer_id"].encode() and p == partition_for(k, 4)
               for t, k, v, p in producer.sent)
    assert {w["emitted_at"] for w in sent} == {"2026-01-02T03:04:05Z"}
    by_id = {w["warning_id"]: w for w in chosen}
    assert all({**w, "emitted_at": None} == {**by_id[w["warning_id"]], "emitted_at": None} for w in sent)
    # each partition's last step went out in a request of its own (exact end offsets on the
    # embedded broker): after the first flush, one send per flush
    assert all(b - a == 1 for a, b in zip(producer.flushes, producer.flushes[1:]))
    assert len(producer.flushes) == 1 + len({p for *_, p in producer.sent})
    last_of = {partition_for(w["customer_id"].encode(), 4): w["warning_id"] for w in chosen}
    alone = producer.sent[producer.flushes[0]:]
    assert {p: orjson.loads(v)["warning_id"] for *_, v, p in alone} == last_of


def test_the_steps_are_published_as_they_are_read(tmp_path, monkeypatch):
    """A one-pass stream of steps (as `--warnings all` reads them back from its spill files)
    is published whole: the same sends as from a list."""
    settings = Settings(partitions=4)
    warnings = _history(tmp_path, settings)
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    sends = []
    for steps in (warnings, (w for w in warnings)):
        producer = _Producer()
        monkeypatch.setattr(boot.kafka_clients, "producer", lambda *a, **k: producer)
        boot.publish_warnings(settings, steps, at)
        sends.append((producer.sent, producer.flushes))
    assert sends[0] == sends[1] and len(sends[0][0]) == len(warnings) > 0


def test_pseudonymised_workers_publish_pseudonyms_so_does_the_bootstrap(tmp_path, monkeypatch):
    settings = Settings(partitions=4, pseudonymise_key=Secret("k"))
    warnings = _history(tmp_path, settings)
    producer = _Producer()
    monkeypatch.setattr(boot.kafka_clients, "producer", lambda *a, **k: producer)
    boot.publish_warnings(settings, warnings, datetime(2026, 1, 1, tzinfo=timezone.utc))
    hide = Pseudonymiser(settings.pseudonymise_key)
    assert len(producer.sent) == len(warnings)
    clear = {w["customer_id"] for w in warnings}
    for _, key, value, partition in producer.sent:
        customer = orjson.loads(value)["customer_id"]
        assert customer not in clear and key == customer.encode() and partition == partition_for(key, 4)
    assert {orjson.loads(v)["customer_id"] for *_, v, _ in producer.sent} == {hide.customer(c) for c in clear}
