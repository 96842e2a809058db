"""A real worker on the embedded broker: bad input, silence end to end, restart."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from streams.replay import partition_for
from streams.broker import free_port
from tests.integration.conftest import assigned, read_topic

pytestmark = pytest.mark.integration

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)


def z(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def login(cid: str, at: datetime, n: int) -> dict:
    return {"type": "login", "event_id": f"{cid}-l{n}", "customer_id": cid, "occurred_at": z(at), "channel": "web"}


def weekly_logins(cid: str, weeks: int) -> list[dict]:
    return [login(cid, T0 + timedelta(days=7 * w), w) for w in range(weeks)]


def write_jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def snapshot(run_cli, settings, tmp_path, name="snap.jsonl") -> dict[str, dict]:
    out = tmp_path / name
    done = run_cli(settings, "snapshot", "--out", str(out), "--timeout", "60", timeout=90)
    assert done.returncode == 0, done.stderr
    return {row["customer_id"]: row for row in map(json.loads, out.read_text().splitlines())}


def warnings(settings, min_count: int) -> list[dict]:
    return [orjson.loads(r.value) for r in read_topic(settings, settings.warnings_topic, min_count=min_count, idle=1.5)]


def test_silent_customer_is_raised_then_cleared_when_they_return(settings_factory, start_worker, run_cli, tmp_path):
    settings = settings_factory()
    worker = start_worker(settings)
    rows = weekly_logins("quiet-1", 12) + weekly_logins("steady-1", 22)
    last_quiet = T0 + timedelta(days=7 * 11)
    advance = T0 + timedelta(days=7 * 21 + 3)
    replay = run_cli(settings, "replay", write_jsonl(tmp_path / "h.jsonl", rows), "--advance-to", z(advance))
    assert replay.returncode == 0, replay.stderr

    raised = [w for w in warnings(settings, min_count=1) if w["state"] == "raised"]
    assert [w["customer_id"] for w in raised] == ["quiet-1"], "only the silent customer is warned"
    first = raised[0]
    silence = next(s for s in first["signals"] if s["kind"] == "silence")
    assert silence["baseline"] == pytest.approx(7.0)
    # published from `warning` on (the default): a weekly visitor five weeks quiet
    assert first["level"] == "warning"
    assert T0 + timedelta(days=7 * 11 + 14) <= datetime.fromisoformat(first["occurred_at"]) < last_quiet + timedelta(days=42)
    assert any(a["action"] == "win_back" for a in first["suggested_actions"])

    back = tmp_path / "back.jsonl"
    write_jsonl(back, [login("quiet-1", advance + timedelta(hours=1), 99)])
    assert run_cli(settings, "replay", str(back)).returncode == 0
    states = [w["state"] for w in warnings(settings, min_count=len(raised) + 1) if w["customer_id"] == "quiet-1"]
    assert states[0] == "raised" and states[-1] == "cleared"
    assert worker.running()


BAD = [
    ("logins", b"not json at all", "malformed_json"),
    ("logins", b"\xff\xfe\x00", "malformed_json"),
    ("logins", b'{"event_id": "b1", "customer_id": "bad-1", "occurred_at": "2025-01-06T09:00:00Z"}', "schema_violation"),
    ("logins", b'{"event_id": "b2", "customer_id": "bad-1", "occurred_at": "yesterday", "channel": "web"}', "schema_violation"),
    ("orders", b'{"event_id": "b3", "customer_id": "bad-1", "occurred_at": "2025-01-06T09:00:00Z", "order_id": "o", '
               b'"amount": -5, "currency": "EUR"}', "schema_violation"),
    ("orders", b'{"event_id": "b4", "customer_id": "bad-1", "occurred_at": "2025-01-06T09:00:00Z", "order_id": "o", '
               b'"amount": NaN, "currency": "EUR"}', "schema_violation"),
    ("orders", b'{"event_id": "b5", "customer_id": "bad-1", "occurred_at": "2025-01-06T09:00:00Z", "order_id": "o", '
               b'"amount": "12", "currency": "EUR"}', "schema_violation"),
    ("logins", b'{"event_id": "b6", "customer_id": "someone-else", "occurred_at": "2025-01-06T09:00:00Z", "channel": "web"}',
     "key_mismatch"),
    ("logins", b'{"event_id": "b7", "customer_id": "bad-1", "occurred_at": "2025-01-06T09:00:00Z", "channel": "web", "pad": "'
               + b"x" * 70_000 + b'"}', "oversize"),
]


def test_bad_input_is_dead_lettered_with_its_reason_and_good_events_still_apply(
        settings_factory, start_worker, produce, run_cli, tmp_path):
    settings = settings_factory()
    start_worker(settings)
    topic = {"logins": settings.logins_topic, "orders": settings.orders_topic}
    good = 0
    for i, (name, value, _) in enumerate(BAD):
        produce(settings, topic[name], value, key="bad-1")
        ok = json.dumps({"event_id": f"g{i}", "customer_id": "bad-1", "occurred_at": z(T0 + timedelta(hours=i)),
                         "channel": "app"}).encode()
        produce(settings, settings.logins_topic, ok, key="bad-1")
        good += 1
    dead = [orjson.loads(r.value) for r in read_topic(settings, settings.dead_letters_topic, min_count=len(BAD))]
    assert sorted(d["reason"] for d in dead) == sorted(reason for _, _, reason in BAD)
    assert all(d["error"] and d["payload_sha256"] for d in dead)
    oversize = next(d for d in dead if d["reason"] == "oversize")
    assert oversize["payload_base64"] is None and oversize["payload_size"] > 70_000
    state = snapshot(run_cli, settings, tmp_path)["bad-1"]
    assert state["events_applied"] == good, "every good event applied once, no bad one half-applied"
    # An operator reads them with `churnwatch tail --dead-letters`: one line each, with the
    # reason, where it came from, the error and the original message.
    shown = run_cli(settings, "tail", "--dead-letters", "--from-beginning", "--max", str(len(BAD)))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert sorted(line.split("  ")[1] for line in lines) == sorted(reason for _, _, reason in BAD)
    negative = next(line for line in lines if '"amount": -5' in line)
    assert f"{settings.orders_topic}[" in negative and "key=bad-1" in negative and "amount" in negative
    assert any("payload not kept" in line for line in lines if "  oversize  " in line)


def test_state_survives_a_worker_restart(settings_factory, start_worker, produce, run_cli, tmp_path):
    settings = settings_factory()
    worker = start_worker(settings)
    rows = weekly_logins("keep-1", 10)
    assert run_cli(settings, "replay", write_jsonl(tmp_path / "a.jsonl", rows)).returncode == 0
    before = snapshot(run_cli, settings, tmp_path, "before.jsonl")["keep-1"]
    assert before["events_applied"] == 10
    assert worker.stop(timeout=30) == 0

    start_worker(settings, "worker-again.log")
    # Re-sending an already applied event (as a crash could) changes nothing; a new one counts.
    again = weekly_logins("keep-1", 11)[-2:]
    assert run_cli(settings, "replay", write_jsonl(tmp_path / "b.jsonl", again)).returncode == 0
    after = snapshot(run_cli, settings, tmp_path, "after.jsonl")["keep-1"]
    assert after["events_applied"] == 11
    assert after["last_active_at"] == z(T0 + timedelta(days=70))


def test_a_customers_unkeyed_events_over_every_partition_are_judged_as_one_history(
        settings_factory, start_worker, produce, run_cli, tmp_path, wait_until):
    """A producer that sends no key: weekly logins land on every partition in turn. The worker
    re-publishes each to the customer's partition, so one state holds the weekly rhythm and
    the silence after it is read against a week, not against the month each partition saw.

    Each login is sent once the one before has been re-published, as events that happen a
    week apart arrive (a history produced all at once is docs/operations.md's worst case)."""
    settings = settings_factory()
    start_worker(settings)
    for w, row in enumerate(weekly_logins("spread-1", 12)):
        row.pop("type")
        produce(settings, settings.logins_topic, json.dumps(row).encode(), key=None, partition=w % settings.partitions)
        read_topic(settings, settings.logins_topic, min_count=2 * (w + 1), idle=0.2, timeout=60)
    wait_until(lambda: snapshot(run_cli, settings, tmp_path).get("spread-1", {}).get("events_applied") == 12, 90, interval=1.0,
               message="the twelve unkeyed logins applied to one state")
    advance = T0 + timedelta(days=7 * 21 + 3)
    rows = weekly_logins("steady-1", 22)
    assert run_cli(settings, "replay", write_jsonl(tmp_path / "h.jsonl", rows), "--advance-to", z(advance)).returncode == 0
    raised = [w for w in warnings(settings, min_count=1) if w["state"] == "raised"]
    assert [w["customer_id"] for w in raised] == ["spread-1"]
    silence = next(s for s in raised[0]["signals"] if s["kind"] == "silence")
    assert silence["baseline"] == pytest.approx(7.0)
    copies = [r for r in read_topic(settings, settings.logins_topic, min_count=12 + 12 + 22) if r.key == b"spread-1"]
    assert len(copies) == 12 and {r.partition for r in copies} == {partition_for(b"spread-1", settings.partitions)}


def test_a_history_produced_without_keys_before_the_worker_starts_is_applied_whole(
        settings_factory, start_worker, produce, run_cli, tmp_path, wait_until):
    """The worst case of unkeyed input: a history written to the topics without keys, then
    read by the worker as a backlog. Each copy waits until every partition has been read past
    it (the end of a partition from the consumer's highwater), so the copies reach the
    customers' partition in event-time order: every event is applied, none is dead-lettered
    late. (How far apart the partitions' backlogs are read depends on the broker's fetches; the
    order itself is checked deterministically in tests/stream/test_processing.py.)"""
    settings = settings_factory()
    assert run_cli(settings, "topics").returncode == 0
    n = 0
    for d in range(30):                        # two customers, a login a day, over every partition
        for cid in ("backlog-1", "backlog-2"):
            row = login(cid, T0 + timedelta(days=d, hours=1 if cid == "backlog-2" else 0), d)
            row.pop("type")
            produce(settings, settings.logins_topic, json.dumps(row).encode(), key=None, partition=n % settings.partitions)
            n += 1
    start_worker(settings)
    wait_until(lambda: {c: r.get("events_applied") for c, r in snapshot(run_cli, settings, tmp_path).items()}
               == {"backlog-1": 30, "backlog-2": 30}, 120, interval=1.0,
               message="both customers' thirty unkeyed logins applied")
    late = [r for r in read_topic(settings, settings.dead_letters_topic, idle=0.5)
            if json.loads(r.value)["reason"] == "late_event"]
    assert late == []
    copies = [r for r in read_topic(settings, settings.logins_topic, min_count=2 * 60) if r.key is not None]
    assert len(copies) == 60


def test_two_workers_re_publish_unkeyed_events_to_each_others_partitions(
        settings_factory, start_worker, produce, run_cli, tmp_path, wait_until):
    """Two workers in one group, one partition each: an unkeyed event read by one worker
    belongs to a customer of the other's partition. Before re-publishing it, the worker asks
    whether every partition has been read past it, the other worker's included (aiokafka
    refuses to answer for a partition not assigned to it: that one counts as read), and the
    copy reaches the customer's partition, where the other worker applies it."""
    settings = settings_factory()
    workers = [start_worker(settings, "worker-a.log"), start_worker(settings.with_overrides(web_port=free_port()),
                                                                       "worker-b.log")]
    wait_until(lambda: {assigned(w, settings.logins_topic) for w in workers} == {"{0}", "{1}"}, 90,
               message="the two workers hold one partition each")
    home = {partition_for(cid.encode(), settings.partitions): cid for cid in (f"pair-{i}" for i in range(20))}
    assert set(home) == {0, 1}
    for n in range(8):
        p = n % 2
        row = login(home[1 - p], T0 + timedelta(days=n // 2), n)
        row.pop("type")
        produce(settings, settings.logins_topic, json.dumps(row).encode(), key=None, partition=p)
        read_topic(settings, settings.logins_topic, min_count=2 * (n + 1), idle=0.2, timeout=60)
    wait_until(lambda: {c: r.get("events_applied") for c, r in snapshot(run_cli, settings, tmp_path).items()}
               == {home[0]: 4, home[1]: 4}, 90, interval=1.0, message="each customer's four logins applied")
    assert all(w.running() and "Crashed" not in w.log_text() for w in workers)
