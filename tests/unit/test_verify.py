"""The verifier: it passes an honest run and names each way a run can go wrong.

An "honest worker" here is the worker's own `Processor` run over the records once, in
order (what `streams.verify.recompute` does); each test then breaks one thing the way a
fault would (a lost dead letter, an event applied twice, a state that lost an event...)
and checks that the report says so, where, and fails or not as it should.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from click.testing import CliRunner

from detectors.state import decode, encode
from streams.replay import partition_for
from streams.settings import Settings
from streams.verify import Observed, TopicRecord, recompute, verify

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)
S = Settings(partitions=1)


def z(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def login(cid: str, n: int, at: datetime | None = None) -> bytes:
    at = at or T0 + timedelta(days=n)
    return json.dumps({"event_id": f"{cid}-l{n}", "customer_id": cid, "occurred_at": z(at), "channel": "web"}).encode()


def order(cid: str, n: int, amount: float = 40.0) -> bytes:
    return json.dumps({"event_id": f"{cid}-o{n}", "customer_id": cid, "occurred_at": z(T0 + timedelta(days=n, hours=1)),
                       "order_id": f"{cid}-order{n}", "amount": amount, "currency": "EUR"}).encode()


class Topics:
    """Records as a broker would hold them: offsets counted per topic (one partition)."""

    def __init__(self) -> None:
        self.records: list[TopicRecord] = []

    def add(self, topic: str, key: str | None, value: bytes) -> TopicRecord:
        offset = sum(1 for r in self.records if r.topic == topic)
        rec = TopicRecord(topic, 0, offset, key.encode() if key is not None else None, value)
        self.records.append(rec)
        return rec


def history(customers: int = 3, weeks: int = 12) -> Topics:
    topics = Topics()
    for w in range(weeks):
        for c in range(customers):
            cid = f"c{c}"
            topics.add(S.logins_topic, cid, login(cid, 7 * w))
            if w % 3 == c % 3:
                topics.add(S.orders_topic, cid, order(cid, 7 * w))
    return topics


def honest(topics: Topics) -> Observed:
    """What an uninterrupted worker leaves on the topics for these inputs."""
    run = recompute(S, topics.records)
    return Observed(list(topics.records), run.dead_letters, run.warnings, dict(run.customers))


def test_an_honest_run_passes_with_every_record_accounted_for():
    topics = history()
    topics.add(S.logins_topic, "c0", b"not json")
    report = verify(S, honest(topics))
    assert report.ok, report.render()
    assert report.counts == {"records": 49, "applied": 48, "dead_lettered": 1, "duplicates": 0, "rekeyed": 0, "ticks": 0,
                             "market": 0, "customers": 3}
    assert "churnwatch verify: OK" in report.render()


def test_a_redelivered_event_is_a_duplicate_not_a_second_application():
    topics = history()
    again = next(r for r in reversed(topics.records) if r.topic == S.logins_topic and r.key == b"c1")
    topics.add(S.logins_topic, "c1", again.value)
    report = verify(S, honest(topics))
    assert report.ok, report.render()
    assert report.counts["duplicates"] == 1 and report.counts["applied"] == 48


def test_an_unkeyed_event_and_its_keyed_copy_are_accounted_for_and_a_lost_copy_is_reported():
    s4 = Settings(partitions=4)
    home = partition_for(b"c1", 4)
    away = (home + 1) % 4
    unkeyed = TopicRecord(s4.logins_topic, away, 0, None, login("c1", 0))
    copy = TopicRecord(s4.logins_topic, home, 0, b"c1", login("c1", 0))   # what the worker re-published
    run = recompute(s4, [unkeyed, copy])
    report = verify(s4, Observed([unkeyed, copy], run.dead_letters, run.warnings, dict(run.customers)))
    assert report.ok, report.render()
    assert (report.counts["applied"], report.counts["rekeyed"], report.counts["duplicates"]) == (1, 1, 0)
    assert run.dead_letters == [] and "1 unkeyed (applied as their keyed copies)" in report.render()
    # the copy never written: the unkeyed record was applied nowhere
    lost = recompute(s4, [unkeyed])
    report = verify(s4, Observed([unkeyed], lost.dead_letters, lost.warnings, dict(lost.customers)))
    assert not report.ok and report.counts["applied"] == 0
    assert report.accounting == [f"{s4.logins_topic}[{away}]@0 has no Kafka key and no keyed copy of it is on "
                                 f"{s4.logins_topic}[{home}], its customer's partition: lost"]


def test_a_bad_record_missing_from_the_dead_letters_is_reported_lost():
    topics = history()
    bad = topics.add(S.orders_topic, "c2", b'{"event_id": "x"}')
    observed = honest(topics)
    observed.dead_letters = []
    report = verify(S, observed)
    assert not report.ok
    assert any(f"{S.orders_topic}[0]@{bad.offset} is invalid (schema_violation" in p and "lost" in p
               for p in report.accounting), report.accounting


def test_an_event_applied_twice_is_reported_double_counted():
    topics = history()
    observed = honest(topics)
    state = decode(observed.states["c0"])
    state.applied += 1  # what re-applying a re-delivered event after a crash does
    observed.states["c0"] = encode(state)
    report = verify(S, observed)
    assert not report.ok
    assert report.accounting == ["c0: state counts 17 applied events, the inputs account for 16 distinct ones: "
                                 "1 applied twice (double-counted)"]
    assert any(p.startswith("c0: applied differs") for p in report.state)


def test_an_event_both_dead_lettered_and_applied_is_reported():
    topics = history()
    observed = honest(topics)
    # A crash replay refused an event as late although the state already holds it.
    victim = next(r for r in reversed(topics.records) if r.key == b"c2" and r.topic == S.logins_topic)
    observed.dead_letters.append({"source_topic": victim.topic, "partition": 0, "offset": victim.offset,
                                  "reason": "late_event"})
    report = verify(S, observed)
    assert not report.ok
    assert any("c2-l77" in p and "dead-lettered and also applied" in p for p in report.accounting), report.accounting
    assert ("c2: state counts 16 applied events, the inputs account for 15 distinct ones: 1 applied but also "
            "dead-lettered (must be one or the other)") in report.accounting
    assert any(f"@{victim.offset}: dead-lettered as late_event by the worker, - by the recomputation" in p
               for p in report.state)


def test_a_customer_state_that_lost_its_newest_event_is_reported():
    topics = history()
    last = topics.add(S.logins_topic, "c1", login("c1", 90))
    observed = honest(topics)
    without = recompute(S, [r for r in topics.records if r != last])
    observed.states["c1"] = without.customers["c1"]
    report = verify(S, observed)
    assert not report.ok
    text = "\n".join(report.accounting)
    assert "c1: state counts 16 applied events, the inputs account for 17 distinct ones: 1 lost" in text
    assert "applied event 'c1-l90' is missing from the state's recent ids" in text


def test_a_dead_letter_pointing_at_no_record_is_reported():
    observed = honest(history())
    observed.dead_letters.append({"source_topic": S.logins_topic, "partition": 0, "offset": 999, "reason": "late_event"})
    report = verify(S, observed)
    assert not report.ok
    assert f"dead letter for {S.logins_topic}[0]@999 (late_event), a record that is not on the topic" in report.accounting


def test_a_state_whose_evidence_differs_from_the_recomputation_names_the_field():
    observed = honest(history())
    state = decode(observed.states["c0"])
    state.orders[0][1] = 9999.0  # an order amount the inputs never had
    observed.states["c0"] = encode(state)
    report = verify(S, observed)
    assert not report.ok and not report.accounting
    assert len(report.state) == 1
    assert report.state[0].startswith("c0: orders differs:") and "9999.0" in report.state[0]


def test_when_the_worker_judged_differently_the_timing_fields_are_allowed_and_counted():
    observed = honest(history())
    state = decode(observed.states["c1"])
    state.next_due += 3600
    state.level, state.episode = 2, state.episode + 1
    observed.states["c1"] = encode(state)
    report = verify(S, observed)
    assert report.ok, report.render()
    assert report.timing_fields == {"next_due": 1, "level": 1, "episode": 1}


def test_gaps_that_do_not_fall_on_active_days_fail_the_state_check():
    observed = honest(history())
    state = decode(observed.states["c0"])
    state.gaps[-1] += 1  # the customer was not active a day earlier
    observed.states["c0"] = encode(state)
    report = verify(S, observed)
    assert not report.ok
    assert report.state == [f"c0: gaps {state.gaps} ending at day {state.last_active_day} do not fall on active "
                            "days of the applied events"]


def test_gaps_from_another_read_order_are_allowed_when_they_fall_on_active_days():
    # The worker read an order (day 8) after a login of day 10: no gap at day 8.
    topics = Topics()
    topics.add(S.logins_topic, "c9", login("c9", 0))
    topics.add(S.orders_topic, "c9", order("c9", 8))
    topics.add(S.logins_topic, "c9", login("c9", 10))
    observed = honest(topics)
    read_order = recompute(S, [topics.records[0], topics.records[2]])
    state = decode(read_order.customers["c9"])
    from schemas.events import Order, parse_event
    from detectors.state import observe
    state = observe(state, parse_event(Order, topics.records[1].value), partition=0)
    assert state.gaps == [10], "the gap is left whole"
    observed.states["c9"] = encode(state)
    report = verify(S, observed)
    assert report.ok, report.render()
    assert report.read_order_gaps == 1


def _silent(topics: Topics) -> None:
    for w in range(10):
        topics.add(S.logins_topic, "quiet", login("quiet", 7 * w))
    tick = json.dumps({"partition": 0, "occurred_at": z(T0 + timedelta(days=150))}).encode()
    topics.add(S.clock_ticks_topic, "0", tick)


def test_warnings_only_on_the_topic_are_a_separate_figure_that_fails_only_when_strict():
    topics = Topics()
    _silent(topics)
    observed = honest(topics)
    assert observed.warnings, "the silent customer is warned"
    invented = {**observed.warnings[0], "warning_id": "f" * 24, "occurred_at": z(T0 + timedelta(days=3))}
    observed.warnings.append(invented)
    report = verify(S, observed)
    assert report.ok and not report.warnings_match
    assert report.warnings["only_on_topic"] == [f"quiet raised {invented['level']} at {z(T0 + timedelta(days=3))} ({'f' * 24})"]
    assert report.warnings["only_recomputed"] == []
    assert not verify(S, observed, strict_warnings=True).ok


def test_repeated_warnings_and_dead_letters_are_counted_and_allowed():
    topics = Topics()
    _silent(topics)
    topics.add(S.logins_topic, "quiet", b"[]")
    observed = honest(topics)
    observed.warnings.append({**observed.warnings[0], "emitted_at": "2031-01-01T00:00:00Z"})
    observed.dead_letters.append(dict(observed.dead_letters[0]))
    report = verify(S, observed)
    assert report.ok, report.render()
    assert report.repeats == {"dead_letters_repeated": 1, "warning_ids_repeated": 1, "warning_extra_copies": 1,
                              "warning_repeats_differing": 0}


def test_clock_ticks_and_market_events_are_dead_lettered_exactly_when_invalid():
    topics = Topics()
    _silent(topics)
    topics.add(S.clock_ticks_topic, "0", b'{"partition": -1}')
    observed = honest(topics)
    assert verify(S, observed).ok
    observed.dead_letters = []
    report = verify(S, observed)
    assert f"{S.clock_ticks_topic}[0]@1 is invalid (schema_violation) but not dead-lettered" in report.accounting


def test_recomputation_reads_each_topic_in_offset_order_so_lateness_matches_the_worker():
    topics = Topics()
    topics.add(S.logins_topic, "c1", login("c1", 10))
    late = topics.add(S.logins_topic, "c1", login("c1", 5))  # 5 days behind its topic: late
    topics.add(S.orders_topic, "c1", order("c1", 1))  # another topic: not late
    run = recompute(S, topics.records)
    assert [(d["offset"], d["reason"]) for d in run.dead_letters] == [(late.offset, "late_event")]
    assert decode(run.customers["c1"]).applied == 2


def test_snapshot_counts_are_checked_against_the_inputs():
    observed = honest(history())
    rows = [{"customer_id": cid, "events_applied": decode(raw).applied} for cid, raw in observed.states.items()]
    assert verify(S, observed, snapshot=rows).ok
    rows[0]["events_applied"] += 1
    report = verify(S, observed, snapshot=rows)
    assert not report.ok
    assert report.accounting == [f"{rows[0]['customer_id']}: the snapshot says {rows[0]['events_applied']} events "
                                 f"applied, the inputs account for {rows[0]['events_applied'] - 1}"]


def test_json_report_carries_each_verdict():
    observed = honest(history())
    observed.states.pop("c2")
    doc = verify(S, observed).as_dict()
    assert doc["ok"] is False and doc["accounting"]["ok"] is False and doc["state"]["ok"] is True
    assert doc["accounting"]["problems"] == ["c2: 16 applied events but no state: lost"]
    assert orjson.loads(orjson.dumps(doc)) == doc


def test_verify_command_explains_an_unreachable_broker_in_one_line():
    from streams.cli import main

    result = CliRunner().invoke(main, ["verify", "--broker", "127.0.0.1:1", "--timeout", "0"],
                                env={"CHURNWATCH_CLIENT_TIMEOUT_SECONDS": "0.5"})
    assert result.exit_code == 1
    assert "cannot reach the Kafka broker at 127.0.0.1:1" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("field", ["applied", "seen", "daily", "first_seen"])
def test_every_evidence_field_is_compared(field):
    observed = honest(history())
    state = decode(observed.states["c1"])
    if field == "applied":
        state.applied -= 1
    elif field == "seen":
        state.seen = state.seen[1:]
    elif field == "daily":
        state.logins[-1] += 1
    else:
        state.first_seen -= 1
    observed.states["c1"] = encode(state)
    assert any(p.startswith(f"c1: {field} differs") for p in verify(S, observed).state)


def test_an_episode_below_the_published_level_is_in_the_state_only_and_agrees_with_the_topic():
    """Five weeks after a weekly visitor's last login the silence is a `watch`: kept in the
    state, not published by default, and that is no disagreement; published with
    `publish_min_level` watch, its raise missing from the topic is one."""
    topics = Topics()
    for w in range(10):
        topics.add(S.logins_topic, "quiet", login("quiet", 7 * w))
    tick = json.dumps({"partition": 0, "occurred_at": z(T0 + timedelta(days=100))}).encode()
    topics.add(S.clock_ticks_topic, "0", tick)
    observed = honest(topics)
    assert observed.warnings == [] and decode(observed.states["quiet"]).level == 1
    assert verify(S, observed).warnings["disagree_with_states"] == []

    every = S.with_overrides(publish_min_level="watch")
    run = recompute(every, topics.records)
    assert [(w["state"], w["level"]) for w in run.warnings] == [("raised", "watch")]
    assert verify(every, Observed(list(topics.records), run.dead_letters, run.warnings,
                                  dict(run.customers))).warnings["disagree_with_states"] == []
    lost = verify(every, Observed(list(topics.records), run.dead_letters, [], dict(run.customers)))
    assert lost.warnings["disagree_with_states"] == [
        "quiet: 0 raised on the topic, last None None; the state counts 1 episodes, open level watch"]


def test_a_raise_lost_between_state_write_and_send_shows_as_warnings_disagreeing_with_the_state():
    topics = Topics()
    _silent(topics)
    observed = honest(topics)
    assert verify(S, observed).warnings["disagree_with_states"] == []
    raised = next(w for w in observed.warnings if w["state"] == "raised")
    observed.warnings.remove(raised)  # the state counts the episode; the topic never got the warning
    report = verify(S, observed)
    assert report.ok and not report.warnings_match
    last = observed.warnings[-1]
    assert report.warnings["disagree_with_states"] == [
        f"quiet: 0 raised on the topic, last {last['state']} {last['level']}; the state counts 1 episodes, "
        f"open level {last['level']}"]
    assert "1 customers: warnings disagree with the states" in report.render()


def test_an_event_id_reused_after_the_dedup_window_is_named_as_such_not_as_double_counting():
    topics = history(customers=1, weeks=40)
    # a producer that reuses ids: c0's first login id again, on a login after the other 40
    topics.add(S.logins_topic, "c0", login("c0", 0, at=T0 + timedelta(days=300)))
    report = verify(S, honest(topics))
    (problem,) = [p for p in report.accounting if p.startswith("c0:")]
    assert "the same event id is used by different events ('c0-l0')" in problem
    assert "give each event its own id" in problem and "dead-lettered" not in problem
