"""Rules of thumb scored beside the warnings (streams.baseline_rules), on hand-made histories."""

from __future__ import annotations

import doctest
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import streams.baseline_rules
from detectors.population import Prior, p_alive
from streams.baseline_rules import (
    DAY,
    Histories,
    alive_warnings,
    cycle_warnings,
    read_histories,
    recency_warnings,
)
from streams.evaluate import compare_baselines, evaluate, format_report
from streams.truth import TruthRow, write_truth_csv

T0 = datetime(2024, 1, 1, tzinfo=UTC)
E0 = int(T0.timestamp())


def at(day: float) -> str:
    return (T0 + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_of(text: str) -> float:
    return (datetime.fromisoformat(text.replace("Z", "+00:00")) - T0) / timedelta(days=1)


def spans(warnings):
    """(raised day, cleared day or None) per warning id, in order."""
    out = {}
    for w in warnings:
        key = w["warning_id"].removesuffix(":c")
        if w["state"] == "raised":
            out[key] = [day_of(w["occurred_at"]), None]
        else:
            out[key][1] = day_of(w["occurred_at"])
    return [tuple(v) for v in out.values()]


def history(*events: dict) -> Histories:
    h = Histories()
    for e in events:
        h.add(e)
    h.sort()
    return h


def ev(kind: str, day: float, customer: str = "a", **extra) -> dict:
    return {"type": kind, "customer_id": customer, "occurred_at": at(day), **extra}


def test_recency_raises_after_each_quiet_spell_longer_than_its_days_and_clears_at_the_next_activity():
    h = history(ev("login", 0), ev("page_view", 10), ev("order", 50, status="cancelled"), ev("complaint", 52))
    assert spans(recency_warnings(h, 30, E0 + 100 * DAY)) == [(40.0, 50.0), (82.0, None)]
    assert recency_warnings(h, 60, E0 + 100 * DAY) == []


def test_a_resolution_by_the_seller_is_not_the_customers_activity():
    h = history(ev("login", 0), ev("complaint", 40, status="resolved"))
    assert spans(recency_warnings(h, 30, E0 + 100 * DAY)) == [(30.0, None)]


def test_the_purchase_cycle_rule_waits_for_three_order_days_and_uses_the_mean_gap_so_far():
    # Order days 0, 10, 20 (mean gap 10: raised 20 days after day 20), then 75 (mean 25: 50 days, past the end).
    # A cancelled order is not a purchase; logins do not reset the cycle.
    h = history(*(ev("order", d) for d in (0, 10, 20, 75)), ev("order", 30, status="cancelled"), ev("login", 35))
    assert spans(cycle_warnings(h, E0 + 100 * DAY)) == [(40.0, 75.0)]
    assert cycle_warnings(history(ev("order", 0), ev("order", 10)), E0 + 300 * DAY) == []


def test_p_alive_rule_raises_where_the_published_probability_crosses_one_half():
    prior = Prior(r=2.0, alpha=20.0, s=1.0, beta=300.0)
    days = [0, 5, 9, 15, 20]
    h = history(*(ev("login", d) for d in days))
    (raised, cleared), = spans(alive_warnings(h, E0 + 200 * DAY, prior))
    assert cleared is None
    quiet = raised - 20
    # x = 4 repeat days over 20 days; the raise is where P(alive) falls through 0.5.
    assert p_alive(4, 20.0, quiet - 0.01, prior) > 0.5 > p_alive(4, 20.0, quiet + 0.01, prior)
    # A customer who came back before that point is never warned.
    back = history(*(ev("login", d) for d in [*days, 20 + quiet - 1]))
    assert spans(alive_warnings(back, E0 + int((20 + quiet) * DAY), prior)) == []


def test_compare_baselines_scores_every_rule_with_the_same_truth_and_period(tmp_path: Path):
    # a: churner, active every 5 days to day 50; b: stayer, active every 5 days all year.
    events = [ev("login", d, "a") for d in range(0, 51, 5)] + [ev("login", d, "b") for d in range(0, 361, 5)]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    # a's usual gap (the truth's) is 20 days: warned in time within 40 days of its last
    # activity, which the 30-day rule is (day 80) and the 60- and 90-day rules are not.
    truth = [TruthRow("a", True, "abrupt", None, T0 + timedelta(days=50), "abrupt", 20.0),
             TruthRow("b", False, "steady", None, T0 + timedelta(days=360), "", 5.0)]
    report = evaluate([], truth, period_start=T0, period_end=T0 + timedelta(days=365))
    rows = {r["rule"]: r for r in compare_baselines(report, path, truth)}
    assert rows["Churnwatch, level >= warning"]["warned"] == 0
    for days, in_time in ((30, 1.0), (60, 0.0), (90, 0.0)):
        row = rows[f"no activity for {days} days"]
        assert (row["warned"], row["recall"], row["precision"]) == (1, 1.0, 1.0)
        assert row["false_warnings_per_1000_stayers_per_month"] == 0
        assert row["abrupt_share_in_time"] == in_time, days
    assert rows["no order for 2x own cycle"]["warned"] == 0
    alive = rows["Pareto/NBD P(alive) < 0.5, hindsight fit"]
    assert alive["recall"] == 1.0
    text = format_report(report)
    assert "against rules of thumb" in text and "too few customers to fit" in text   # two customers: CDNOW's
    assert report["baselines_fit"]["customers"] == 0


def test_evaluate_command_scores_the_baselines_only_with_the_events(tmp_path: Path):
    import click
    from click.testing import CliRunner

    import streams.evaluate

    @click.group()
    def cli() -> None:
        pass

    streams.evaluate.register(cli)
    events = [ev("login", d, "a") for d in range(0, 51, 5)] + [ev("login", d, "b") for d in range(0, 361, 5)]
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (tmp_path / "w.jsonl").write_text("")
    write_truth_csv(tmp_path / "truth.csv", [
        TruthRow("a", True, "abrupt", None, T0 + timedelta(days=50), "abrupt", 5.0),
        TruthRow("b", False, "steady", None, T0 + timedelta(days=360), "", 5.0)])
    args = ["evaluate", "--warnings", str(tmp_path / "w.jsonl"), "--truth", str(tmp_path / "truth.csv")]
    refused = CliRunner().invoke(cli, [*args, "--period-end", "2024-12-31T00:00:00Z", "--baselines"])
    assert refused.exit_code != 0 and "give --events" in str(refused.exception)
    done = CliRunner().invoke(cli, [*args, "--events", str(tmp_path / "events.jsonl"), "--baselines", "--json", "-"])
    assert done.exit_code == 0, done.output
    rules = [r["rule"] for r in json.loads(done.output)["baselines"]]
    assert rules[1:4] == ["no activity for 30 days", "no activity for 60 days", "no activity for 90 days"]


def test_histories_are_read_from_a_replay_file(tmp_path: Path):
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps(ev("order", 3)) + "\n" + json.dumps(ev("login", 1)) + "\n"
                    + json.dumps({"type": "market_event", "occurred_at": at(2), "category": "x"}) + "\n")
    h = read_histories(path)
    assert h.active == {"a": [E0 + DAY, E0 + 3 * DAY]} and h.orders == {"a": [E0 + 3 * DAY]}


def test_docstring_examples_run():
    assert doctest.testmod(streams.baseline_rules).failed == 0


@pytest.mark.parametrize("status", ["opened", "escalated", "reopened"])
def test_complaints_other_than_resolutions_are_activity(status):
    assert history(ev("complaint", 1, status=status)).active == {"a": [E0 + DAY]}


def test_the_snapshot_ranking_is_scored_beside_recency_and_p_alive_on_the_same_customers(tmp_path: Path):
    # a and b log in every 3 days to the end of the year; a bought every 30 days until day
    # 150 and stopped (a churner as a buyer), b buys all year. c, a churner, left on day 200;
    # d, a stayer, logs in every 10 days. e is in the snapshot but not in the truth.
    events = [ev("login", d, c) for c in "ab" for d in range(0, 361, 3)]
    events += [ev("order", d, "a", status="placed") for d in range(0, 151, 30)]
    events += [ev("order", d, "b", status="placed") for d in range(0, 361, 30)]
    events += [ev("login", d, "c") for d in range(0, 201, 4)] + [ev("login", d, "d") for d in range(0, 361, 10)]
    events += [ev("login", 5, "e")]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in sorted(events, key=lambda e: e["occurred_at"])))
    end = T0 + timedelta(days=365)
    truth = [TruthRow(c, y, "p", None, None, "", 5.0) for c, y in (("a", True), ("b", False), ("c", True), ("d", False))]
    # a snapshot that ranks the buyer who stopped first, then the customer who left
    snapshot = [{"customer_id": c, "risk_score": r} for c, r in (("a", 0.8), ("b", 0.1), ("c", 0.7), ("d", 0.2), ("e", 0.9))]
    report = evaluate([], truth, snapshot=snapshot, period_start=T0, period_end=end)
    compare_baselines(report, path, truth, snapshot)
    auc = {r["score"]: r["roc_auc"] for r in report["baselines_ranking"]}
    assert {r["customers"] for r in report["baselines_ranking"]} == {4}
    assert auc["Churnwatch risk_score"] == 1.0 == report["snapshot"]["roc_auc"]
    # a logged in 5 days before the end, as b and d did: recency ties a with both stayers
    # (pairs a-b, a-d one half each; c above both)
    assert auc["days since last activity"] == 0.75
    # days since the last order: a 215, b 5; c and d never ordered, counted from day 0 (365)
    # a-b 1, a-d 0, c-b 1, c-d one half
    assert auc["days since last order"] == 0.625
    # P(alive) reads active days only: a and b have the same ones
    assert auc["Pareto/NBD 1 - P(alive), hindsight fit"] < 1.0
    # probabilities get a Brier score beside their ranking, days since do not:
    # (0.2² + 0.1² + 0.3² + 0.2²) / 4 for the risk score
    brier = {r["score"]: r["brier"] for r in report["baselines_ranking"]}
    assert brier["Churnwatch risk_score"] == pytest.approx(0.045) and brier["days since last activity"] is None
    assert 0.0 <= brier["Pareto/NBD 1 - P(alive), hindsight fit"] <= 1.0
    text = format_report(report)
    assert "ranking every customer at the period end (4 customers)" in text
    assert "days since last activity" in text.split("ranking every customer")[1]
    # without a snapshot, no ranking section
    plain = evaluate([], truth, period_start=T0, period_end=end)
    compare_baselines(plain, path, truth)
    assert "baselines_ranking" not in plain and "ranking every customer" not in format_report(plain)
