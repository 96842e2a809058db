"""The embedded broker and the command-line tools, against a running broker."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaProducer

from schemas.events import ChurnWarning, to_json_bytes
from streams.broker import expected_topics, free_port
from streams.replay import partition_for

pytestmark = pytest.mark.integration

T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)


def _line(event_type: str, **fields) -> str:
    return json.dumps({"type": event_type, **fields})


LOGIN_LATE = _line("login", event_id="e-2", customer_id="cust-1", occurred_at="2025-03-02T09:00:00Z", channel="app")
LOGIN_EARLY = _line("login", event_id="e-1", customer_id="cust-1", occurred_at="2025-03-01T09:00:00+01:00",
                    channel="web")
PAGE_VIEW = _line("page_view", event_id="e-3", customer_id="cust-2", occurred_at="2025-03-01T10:00:00Z",
                  page="/shoes/42", category="shoes", dwell_seconds=31.5, session_id=None)
ORDER = _line("order", event_id="e-4", customer_id="cust-3", occurred_at="2025-03-01T11:00:00Z",
              order_id="o-1", amount=59.9, currency="EUR", category="shoes")
COMPLAINT = _line("complaint", event_id="e-5", customer_id="cust-4", occurred_at="2025-03-01T12:00:00Z",
                  complaint_id="k-1", status="opened", category="logistics", severity="high")
MARKET = _line("market_event", event_id="m-1", occurred_at="2025-03-01T13:00:00Z",
               kind="competitor_promotion", category="shoes", strength=0.6)


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return lines[0]


def _warning(customer: str, state: str = "raised") -> bytes:
    return to_json_bytes(
        ChurnWarning(
            warning_id=f"w-{customer}-{state}",
            customer_id=customer,
            state=state,
            level="warning",
            risk_score=0.71,
            occurred_at=T0,
            emitted_at=T0,
            segment="core",
            signals=[{"kind": "silence", "current": 41, "baseline": 12, "unit": "days", "window_days": 56,
                      "detail": "no activity for 41 days; usual gap 12 days"}],
            suggested_actions=[{"action": "personal_call", "reason": "silent core customer"}],
            model_version="rules-1",
        )
    )


# --- broker and topics --------------------------------------------------------------------


def test_every_topic_is_created_with_its_configured_partition_count(settings_factory, run_cli):
    settings = settings_factory(create_topics=False, partitions=3, market_partitions=2)

    result = run_cli(settings, "topics")

    assert result.returncode == 0, result.stderr
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        described = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(list(expected_topics(settings)))}
    finally:
        admin.close()
    assert described == {
        **{topic: 3 for topic in settings.customer_topics},
        settings.clock_ticks_topic: 3,
        settings.market_events_topic: 2,
        settings.warnings_topic: 3,
        settings.dead_letters_topic: 3,
        f"{settings.app_id}-customers-changelog": 3,
        f"{settings.app_id}-clocks-changelog": 3,
        f"{settings.app_id}-models-changelog": 3,
    }
    assert f"{settings.logins_topic}\t3 partitions\tcreated" in result.stdout.splitlines()


def test_topics_again_finds_them_in_place(settings_factory, run_cli):
    settings = settings_factory()

    result = run_cli(settings, "topics")

    assert result.returncode == 0, result.stderr
    assert all(line.endswith("\texists") for line in result.stdout.splitlines())


def test_a_topic_with_another_partition_count_is_refused_by_name(settings_factory, run_cli):
    settings = settings_factory(partitions=2)

    result = run_cli(settings.with_overrides(partitions=3), "topics")

    assert result.returncode == 1
    assert f"topic '{settings.logins_topic}' has 2 partitions but CHURNWATCH_PARTITIONS says 3" in _one_line_error(result)


def test_broker_command_serves_in_the_foreground_until_sigterm(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "broker", "--port", str(port), "--log", str(tmp_path / "broker.log")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("CHURNWATCH_")},
    )
    try:
        assert process.stdout.readline().strip() == f"broker ready at 127.0.0.1:{port}"
        admin = KafkaAdminClient(bootstrap_servers=f"127.0.0.1:{port}")
        try:
            assert {"logins", "page-views", "orders", "complaints", "market-events", "clock-ticks",
                    "churn-warnings", "churn-dead-letters"} <= set(admin.list_topics())
        finally:
            admin.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        # the setting workers on it need, with the address to give them
        assert ("set CHURNWATCH_PRODUCER_MAX_BATCH_SIZE=1" in (err := process.stderr.read())
                and f"CHURNWATCH_BROKER=127.0.0.1:{port}" in err)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_broker_command_refuses_a_port_in_use_in_one_line(broker, run_cli):
    host, _, port = broker.address.rpartition(":")

    result = run_cli(None, "broker", "--port", port, "--host", host, timeout=20)

    assert result.returncode == 1
    assert f"{broker.address} is already in use" in _one_line_error(result)


# --- replay -------------------------------------------------------------------------------


def test_replay_sends_each_event_type_to_its_topic_keyed_by_customer_or_category(
    settings_factory, run_cli, consume_all, tmp_path
):
    settings = settings_factory()
    replay_file = _write(tmp_path / "events.jsonl", [LOGIN_LATE, PAGE_VIEW, ORDER, COMPLAINT, MARKET, LOGIN_EARLY])

    result = run_cli(settings, "replay", str(replay_file))

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("published 6 events")
    logins = consume_all(settings, settings.logins_topic, min_count=2)
    assert [(r.key, json.loads(r.value)["event_id"]) for r in logins] == [(b"cust-1", "e-1"), (b"cust-1", "e-2")]
    assert logins[0].partition == partition_for(b"cust-1", settings.partitions)
    first = json.loads(logins[0].value)
    assert "type" not in first
    assert first["occurred_at"] == "2025-03-01T08:00:00Z"  # normalised to UTC
    for topic, key, event_id in [
        (settings.page_views_topic, b"cust-2", "e-3"),
        (settings.orders_topic, b"cust-3", "e-4"),
        (settings.complaints_topic, b"cust-4", "e-5"),
        (settings.market_events_topic, b"shoes", "m-1"),
    ]:
        records = consume_all(settings, topic, min_count=1, idle=0.3)
        assert [(r.key, json.loads(r.value)["event_id"]) for r in records] == [(key, event_id)], topic


def test_replay_of_a_gzipped_file_in_file_order(settings_factory, run_cli, consume_all, tmp_path):
    settings = settings_factory()
    replay_file = tmp_path / "events.jsonl.gz"
    replay_file.write_bytes(gzip.compress((LOGIN_LATE + "\n" + LOGIN_EARLY + "\n").encode()))

    result = run_cli(settings, "replay", "--no-sort", str(replay_file))

    assert result.returncode == 0, result.stderr
    logins = consume_all(settings, settings.logins_topic, min_count=2)
    assert [json.loads(r.value)["event_id"] for r in logins] == ["e-2", "e-1"]


def test_advance_to_sends_one_tick_to_every_partition_of_the_tick_topic(
    settings_factory, run_cli, consume_all, tmp_path
):
    settings = settings_factory(partitions=3)
    replay_file = _write(tmp_path / "events.jsonl", [LOGIN_EARLY])

    result = run_cli(settings, "replay", str(replay_file), "--advance-to", "2025-04-01T02:00:00+02:00")

    assert result.returncode == 0, result.stderr
    assert "advanced event time of 3 partitions" in result.stdout
    ticks = consume_all(settings, settings.clock_ticks_topic, min_count=3)
    assert [(r.partition, r.key, json.loads(r.value)["partition"], json.loads(r.value)["occurred_at"])
            for r in ticks] == [(p, str(p).encode(), p, "2025-04-01T00:00:00Z") for p in range(3)]


def test_advance_to_without_a_file_only_moves_event_time(settings_factory, run_cli, consume_all):
    settings = settings_factory(partitions=2)

    result = run_cli(settings, "replay", "--advance-to", "2025-04-01")

    assert result.returncode == 0, result.stderr
    assert "published" not in result.stdout and "advanced event time of 2 partitions" in result.stdout
    ticks = consume_all(settings, settings.clock_ticks_topic, min_count=2)
    assert sorted(json.loads(r.value)["occurred_at"] for r in ticks) == ["2025-04-01T00:00:00Z"] * 2
    nothing = run_cli(settings, "replay")
    assert nothing.returncode == 2 and "give a FILE to publish, or --advance-to TS alone" in nothing.stderr


def test_invalid_lines_are_reported_by_number_and_nothing_is_published(
    settings_factory, run_cli, consume_all, tmp_path
):
    settings = settings_factory()
    replay_file = _write(
        tmp_path / "events.jsonl",
        [LOGIN_EARLY, "not json", ORDER.replace("59.9", "-1"), "", _line("refund", event_id="r-1")],
    )

    result = run_cli(settings, "replay", str(replay_file), "--advance-to", "2025-04-01T00:00:00Z")

    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert errors[0].startswith(f"{replay_file}:2: ")
    assert errors[1] == f"{replay_file}:3: amount: expected a finite number from 0 to 10^15, got -1"
    assert errors[2].startswith(f"{replay_file}:5: type: expected one of")
    assert errors[3] == f"Error: 3 invalid lines in {replay_file}; nothing was published (--skip-invalid publishes the valid ones)"
    assert "Traceback" not in result.stderr
    for topic in (settings.logins_topic, settings.orders_topic, settings.clock_ticks_topic):
        assert consume_all(settings, topic, idle=0.5) == [], topic


def test_skip_invalid_publishes_the_valid_lines(settings_factory, run_cli, consume_all, tmp_path):
    settings = settings_factory()
    replay_file = _write(tmp_path / "events.jsonl", [LOGIN_EARLY, "{}", ORDER])

    result = run_cli(settings, "replay", "--skip-invalid", str(replay_file))

    assert result.returncode == 0, result.stderr
    assert "skipped 1 invalid lines" in result.stdout
    assert len(consume_all(settings, settings.logins_topic, min_count=1)) == 1
    assert len(consume_all(settings, settings.orders_topic, min_count=1)) == 1


def test_replay_to_missing_topics_names_the_command_that_creates_them(settings_factory, run_cli, tmp_path):
    settings = settings_factory(create_topics=False)
    replay_file = _write(tmp_path / "events.jsonl", [LOGIN_EARLY])

    result = run_cli(settings, "replay", str(replay_file))

    assert result.returncode == 1
    assert "create the topics with `churnwatch topics`" in _one_line_error(result)


def test_rate_paces_events_per_wall_second(settings_factory, run_cli, consume_all, tmp_path):
    settings = settings_factory()
    lines = [_line("login", event_id=f"e-{i}", customer_id=f"cust-{i}", occurred_at="2025-03-01T00:00:00Z",
                   channel="web") for i in range(10)]
    replay_file = _write(tmp_path / "events.jsonl", lines)

    result = run_cli(settings, "replay", "--rate", "20", str(replay_file))

    assert result.returncode == 0, result.stderr
    records = consume_all(settings, settings.logins_topic, min_count=10)
    assert len(records) == 10
    # The producer stamps each record when it is sent. At 20 events/s they leave 50 ms apart,
    # except each partition's last record, held back and sent after the others (at most
    # four here, one burst): at least five gaps of ~50 ms. Sent as fast as possible (no
    # --rate), all ten leave within a few milliseconds.
    stamps = sorted(r.timestamp for r in records)
    paced_gaps = [b - a for a, b in zip(stamps, stamps[1:]) if b - a >= 40]
    assert len(paced_gaps) >= 5, stamps


# --- tail ---------------------------------------------------------------------------------


def test_tail_prints_warnings_as_json_lines_and_exits_when_idle(settings_factory, run_cli, produce):
    settings = settings_factory()
    sent = [_warning("cust-1"), _warning("cust-2"), _warning("cust-1", "cleared")]
    for value in sent:
        produce(settings, settings.warnings_topic, value, key=json.loads(value)["customer_id"])

    started = time.monotonic()
    result = run_cli(settings, "tail", "--json", "--from-beginning", "--idle-timeout", "2")

    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == sorted(v.decode() for v in sent)
    assert time.monotonic() - started < 15
    # the count on standard error, so an empty topic is not just silence
    assert f"3 warnings on {settings.warnings_topic}; none more for 2 s" in result.stderr


def test_tail_prints_readable_lines_and_stops_after_max(settings_factory, run_cli, produce):
    settings = settings_factory()
    for customer in ("cust-1", "cust-2"):
        produce(settings, settings.warnings_topic, _warning(customer), key=customer, partition=0)

    result = run_cli(settings, "tail", "--from-beginning", "--max", "1")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "2025-03-01T00:00Z  RAISED  warning  cust-1  core  risk=0.71  silence: 41 days vs usual 12 days  → personal_call"
    ]


def test_tail_without_from_beginning_shows_only_new_warnings(settings_factory, run_cli, produce, tmp_path):
    settings = settings_factory()
    # Old warnings in one multi-record batch: the embedded broker then reports the end
    # offset as if only the first record were there.
    batching = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, batch_size=65536, linger_ms=100)
    for customer in ("old-1", "old-2", "old-3"):
        batching.send(settings.warnings_topic, _warning(customer), key=customer.encode(), partition=0)
    batching.flush()
    batching.close()
    out = tmp_path / "tail.out"

    with open(out, "w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "tail", "--json", "--idle-timeout", "10"],
            stdout=sink, stderr=subprocess.PIPE, text=True,
            env={**{k: v for k, v in os.environ.items() if not k.startswith("CHURNWATCH_")}, **settings.to_env()},
        )
        # Let tail start and position itself at the end before the new warning (its start-up
        # imports take seconds on a loaded two-core machine).
        time.sleep(6)
        produce(settings, settings.warnings_topic, _warning("new"), key="new", partition=0)
        assert process.wait(timeout=40) == 0, process.stderr.read()

    assert [json.loads(line)["customer_id"] for line in out.read_text().splitlines()] == ["new"]


# --- an unreachable broker ----------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["topics"],
        ["replay", "{file}"],
        ["replay", "{file}", "--advance-to", "2025-04-01T00:00:00Z"],
        ["tail", "--idle-timeout", "1"],
        ["snapshot", "--timeout", "3"],
    ],
    ids=["topics", "replay", "replay-advance", "tail", "snapshot"],
)
def test_every_command_fails_in_one_line_within_seconds_when_the_broker_is_unreachable(args, run_cli, tmp_path):
    address = f"127.0.0.1:{free_port()}"
    replay_file = _write(tmp_path / "events.jsonl", [LOGIN_EARLY])
    args = [a.format(file=replay_file) for a in args]

    started = time.monotonic()
    result = run_cli(None, *args, "--broker", address, env={"CHURNWATCH_CLIENT_TIMEOUT_SECONDS": "2"}, timeout=30)

    assert result.returncode != 0
    assert address in _one_line_error(result)
    assert time.monotonic() - started < 15
