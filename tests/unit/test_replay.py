"""Replay files: what gets published where, and how bad lines are reported (no broker)."""

from __future__ import annotations

import gzip
import json

import pytest
from aiokafka.partitioner import DefaultPartitioner

from streams.replay import InvalidLine, ReplayError, load_replay_lines, parse_timestamp, partition_for, read_lines
from streams.settings import Settings


def _login(event_id: str, occurred_at: str, customer: str = "cust-1") -> bytes:
    return json.dumps({"type": "login", "event_id": event_id, "customer_id": customer,
                       "occurred_at": occurred_at, "channel": "web"}).encode()


def test_records_are_ordered_by_event_time_and_ties_keep_file_order():
    lines = [
        _login("b", "2025-03-02T00:00:00Z"),
        _login("a1", "2025-03-01T00:00:00Z"),
        _login("c", "2025-03-03T00:00:00+05:00"),  # 2025-03-02T19:00Z
        _login("a2", "2025-03-01T00:00:00Z"),
    ]

    loaded = load_replay_lines(lines, Settings())

    assert [json.loads(r.value)["event_id"] for r in loaded.records] == ["a1", "a2", "b", "c"]
    assert [r.line_number for r in loaded.records] == [2, 4, 1, 3]


def test_without_sorting_records_keep_file_order():
    lines = [_login("b", "2025-03-02T00:00:00Z"), _login("a", "2025-03-01T00:00:00Z")]

    loaded = load_replay_lines(lines, Settings(), sort=False)

    assert [json.loads(r.value)["event_id"] for r in loaded.records] == ["b", "a"]


def test_value_is_the_contract_json_without_type_and_key_is_the_customer():
    loaded = load_replay_lines([_login("e1", "2025-03-01T01:00:00+01:00", "cust-9")], Settings(topic_prefix="x-"))

    record = loaded.records[0]
    assert (record.topic, record.key) == ("x-logins", b"cust-9")
    assert json.loads(record.value) == {"schema_version": 1, "event_id": "e1", "customer_id": "cust-9",
                                        "occurred_at": "2025-03-01T00:00:00Z", "channel": "web", "success": True}


def test_market_events_are_keyed_by_category():
    line = json.dumps({"type": "market_event", "event_id": "m1", "occurred_at": "2025-03-01T00:00:00Z",
                       "kind": "competitor_price_cut", "category": "garden", "strength": 0.3}).encode()

    record = load_replay_lines([line], Settings()).records[0]

    assert (record.topic, record.key) == ("market-events", b"garden")


def test_every_bad_line_is_reported_with_its_number_and_blank_lines_are_ignored():
    lines = [
        _login("ok", "2025-03-01T00:00:00Z"),
        b"   \n",
        b"{not json",
        b'{"type": "login", "event_id": "x", "customer_id": "c", "occurred_at": "yesterday", "channel": "web"}',
        b"\xff\xfe",
    ]

    loaded = load_replay_lines(lines, Settings())

    assert len(loaded.records) == 1
    assert [i.line_number for i in loaded.invalid] == [3, 4, 5]
    assert "occurred_at" in loaded.invalid[1].message
    assert all("\n" not in i.message for i in loaded.invalid)


def test_an_event_above_the_size_limit_is_refused_like_the_worker_would():
    big = json.dumps({"type": "page_view", "event_id": "p", "customer_id": "c", "occurred_at": "2025-03-01T00:00:00Z",
                      "page": "/" + "x" * 2000, "dwell_seconds": 1}).encode()

    loaded = load_replay_lines([big], Settings(max_event_bytes=1024))

    assert loaded.records == []
    assert loaded.invalid[0].line_number == 1
    assert "expected at most 1024 (CHURNWATCH_MAX_EVENT_BYTES)" in loaded.invalid[0].message


def test_invalid_line_reads_as_a_compiler_style_message():
    assert str(InvalidLine(7, "amount: expected a finite number >= 0, got -5")) == (
        "line 7: amount: expected a finite number >= 0, got -5"
    )


def test_gzipped_files_are_recognised_by_content_not_name(tmp_path):
    plain, packed = tmp_path / "a.jsonl", tmp_path / "b.data"
    plain.write_bytes(b"one\ntwo\n")
    packed.write_bytes(gzip.compress(b"one\ntwo\n"))

    assert list(read_lines(plain)) == list(read_lines(packed)) == [b"one\n", b"two\n"]


def test_a_truncated_gzip_file_is_a_replay_error(tmp_path):
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(b"one\ntwo\n" * 100)[:30])

    with pytest.raises(ReplayError, match="cannot read"):
        list(read_lines(broken))


def test_partitions_match_the_partitioner_faust_uses_so_customers_stay_co_partitioned():
    faust_partitioner = DefaultPartitioner()
    for count in (1, 2, 4, 12):
        everyone = list(range(count))
        for i in range(500):
            key = f"cust-{i}".encode()
            assert partition_for(key, count) == faust_partitioner(key, everyone, everyone)


@pytest.mark.parametrize("text", ["2025-03-04T10:00:00", "2025-03-04 10:00", "tomorrow", "1700000000", "2025-3-4"])
def test_advance_to_needs_an_rfc3339_time_with_offset_or_a_date(text):
    with pytest.raises(ReplayError, match="expected a date .* or an RFC 3339 timestamp"):
        parse_timestamp(text)


def test_advance_to_a_date_is_its_midnight_utc():
    assert parse_timestamp("2025-03-04") == parse_timestamp("2025-03-04T00:00:00Z")


def test_advance_to_is_held_in_utc():
    assert parse_timestamp("2025-03-04T01:30:00-02:00").isoformat() == "2025-03-04T03:30:00+00:00"


def test_a_file_of_ordered_stretches_is_put_in_order_as_it_is_read_like_the_in_memory_sort(tmp_path):
    from streams.replay import ReplayFile, records_in_order, scan_replay

    # Two exports concatenated (each in event-time order), a tie across them, a blank line and a bad line.
    lines = [
        _login("a1", "2025-03-01T00:00:00Z"), _login("a2", "2025-03-03T00:00:00Z", "cust-2"), b"",
        _login("a3", "2025-03-05T00:00:00Z"),
        _login("b1", "2025-03-02T00:00:00Z"), b'{"type": "login"}', _login("b2", "2025-03-03T00:00:00Z"),
        _login("b3", "2025-03-04T00:00:00+05:00", "cust-3"),
    ]
    path = tmp_path / "two.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    settings = Settings(partitions=4)
    scan = scan_replay(ReplayFile(path), settings)
    assert (scan.records, scan.invalid_count, scan.runs) == (6, 1, [1, 5])
    assert [i.line_number for i in scan.invalid] == [6]
    streamed = list(records_in_order(ReplayFile(path), settings, scan))
    in_memory = load_replay_lines(lines, settings).records
    assert streamed == in_memory
    assert [json.loads(r.value)["event_id"] for r in streamed] == ["a1", "b1", "a2", "b2", "b3", "a3"]
    assert sum(scan.counts.values()) == 6


class _Sends:
    """A producer that records what was sent and where each flush fell."""

    def __init__(self) -> None:
        self.log: list = []

    def send(self, topic, value, key, partition):
        self.log.append((topic, partition, key, value))

        class _Future:
            def add_errback(self, fn):
                return self
        return _Future()

    def flush(self):
        self.log.append("flush")

    def close(self, timeout=None):
        pass


def test_records_read_as_they_go_are_sent_as_a_list_of_them_is_with_each_partitions_last_alone(monkeypatch):
    import streams.replay as replay

    settings = Settings(partitions=4)
    lines = [_login(f"e{i}", f"2025-03-{1 + i % 28:02d}T00:00:00Z", f"cust-{i % 7}") for i in range(60)]
    records = load_replay_lines(lines, settings).records
    scan = replay.scan_replay(lines, settings)
    monkeypatch.setattr(replay, "check_topics", lambda settings, topics: None)
    sent = {}
    for name, source, counts in (("list", records, None), ("stream", iter(records), scan.counts)):
        fake = _Sends()
        monkeypatch.setattr(replay, "producer", lambda settings, batch_size, fake=fake: fake)
        result = replay.publish(settings, source, counts=counts)
        assert result.total == 60
        sent[name] = fake.log
    assert sent["stream"] == sent["list"]
    # After the bulk flush, each partition's last record in a request of its own.
    log = sent["list"]
    tail = log[log.index("flush") + 1:]
    assert len(tail) == 2 * len(scan.counts) and tail[1::2] == ["flush"] * len(scan.counts)
    lasts = {(t, p): v for t, p, _, v in (x for x in log if x != "flush")}
    assert {(t, p): v for t, p, _, v in tail[0::2]} == lasts
