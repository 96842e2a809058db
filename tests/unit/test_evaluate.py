"""Evaluation maths on hand-made cases whose answers were worked out by hand.

The population (period: 12 months of 365.25/12 days from 2024-01-01):

========  ===========  =======  ===========  =========  ==========================================
customer  persona      churned  last active  usual gap  warnings (day: state level [kinds])
========  ===========  =======  ===========  =========  ==========================================
d1        drifter      yes      day 200      20         150 raised watch [behaviour_drift];
                                                        170 escalated warning [purchase_frequency_drop, activity_drop]
d2        trade_down   yes      day 250      30         240 raised critical [order_value_drop]
d3        complainer   yes      day 180      30         none
a1        abrupt       yes      day 100      10         115 raised warning [silence]  (window ends day 120)
a2        abrupt       yes      day 200      20         250 raised warning [silence]  (window ends day 240)
a3        abrupt       yes      day 300      40         none (window ends day 380: after the period, not due)
s1        steady       no       day 360      15         50 raised warning, 55 escalated critical, 60 cleared,
                                                        100 raised warning  [silence]: 2 episodes
s2        steady       no       day 360      15         day 400 warning: outside the period
s3        noisy_loyal  no       day 360      15         10 raised watch (below min level)
s4        steady       no       day 360      15         20 raised warning [complaint_increase], sent twice
========  ===========  =======  ===========  =========  ==========================================
"""

from __future__ import annotations

import doctest
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import streams.evaluate
from streams.evaluate import (
    EvaluationError,
    calibration,
    evaluate,
    evaluate_files,
    format_report,
    replay_period,
    report_json,
    roc_auc,
    write_plots,
)
from streams.truth import TruthRow, write_truth_csv

START = datetime(2024, 1, 1, tzinfo=UTC)
END = START + timedelta(days=365.25)  # exactly 12 months of 365.25/12 days


def day(n: float) -> datetime:
    return START + timedelta(days=n)


def warning(wid, customer, n, state, level, *kinds):
    return {
        "warning_id": wid, "customer_id": customer, "state": state, "level": level,
        "occurred_at": day(n).strftime("%Y-%m-%dT%H:%M:%SZ"), "risk_score": 0.5,
        "signals": [{"kind": k, "current": 0, "baseline": 1, "unit": "x", "window_days": 7, "detail": ""}
                    for k in kinds],
    }


TRUTH = [
    TruthRow("d1", True, "drifter", day(120), day(200), "drift", 20.0),
    TruthRow("d2", True, "trade_down", day(150), day(250), "trade_down", 30.0),
    TruthRow("d3", True, "complainer_leaver", day(130), day(180), "unresolved_complaints", 30.0),
    TruthRow("a1", True, "abrupt", day(100), day(100), "abrupt", 10.0),
    TruthRow("a2", True, "abrupt", day(200), day(200), "abrupt", 20.0),
    TruthRow("a3", True, "abrupt", day(300), day(300), "abrupt", 40.0),
    TruthRow("s1", False, "steady", None, day(360), "", 15.0),
    TruthRow("s2", False, "steady", None, day(360), "", 15.0),
    TruthRow("s3", False, "noisy_loyal", None, day(360), "", 15.0),
    TruthRow("s4", False, "steady", None, day(360), "", 15.0),
]

WARNINGS = [
    warning("w1", "d1", 150, "raised", "watch", "behaviour_drift"),
    warning("w2", "d1", 170, "escalated", "warning", "purchase_frequency_drop", "activity_drop"),
    warning("w3", "d2", 240, "raised", "critical", "order_value_drop"),
    warning("w4", "a1", 115, "raised", "warning", "silence"),
    warning("w5", "a2", 250, "raised", "warning", "silence"),
    warning("w6", "s1", 50, "raised", "warning", "silence"),
    warning("w7", "s1", 55, "escalated", "critical", "silence"),
    warning("w8", "s1", 60, "cleared", "critical"),
    warning("w9", "s1", 100, "raised", "warning", "silence"),
    warning("w10", "s2", 400, "raised", "critical", "silence"),
    warning("w11", "s3", 10, "raised", "watch", "complaint_increase"),
    warning("w12", "s4", 20, "raised", "warning", "complaint_increase"),
    warning("w12", "s4", 20, "raised", "warning", "complaint_increase"),  # the same warning again
    warning("w13", "zz", 20, "raised", "warning", "silence"),  # not in the truth
]

SNAPSHOT = [
    {"customer_id": c, "risk_score": s, "level": lv, "segment": "core", "signals": []}
    for c, s, lv in [("d1", 0.9, "critical"), ("d2", 0.7, "warning"), ("d3", 0.4, "watch"),
                     ("a1", 0.7, "warning"), ("a2", 0.2, "none"), ("a3", 0.4, "none"),
                     ("s1", 0.4, "warning"), ("s2", 0.1, "none"), ("s3", 0.7, "watch"), ("s4", 0.2, "none"),
                     ("zz", 0.99, "critical")]
]


@pytest.fixture(scope="module")
def report():
    return evaluate(WARNINGS, TRUTH, snapshot=SNAPSHOT, period_start=START, period_end=END)


def test_precision_and_recall_count_customers_warned_at_or_above_the_level(report):
    # Warned: d1, d2, a1, a2 (churners), s1, s4 (stayers). s3 only reached "watch".
    assert (report["warned"], report["warned_churners"], report["warned_stayers"]) == (6, 4, 2)
    assert report["precision"] == pytest.approx(4 / 6)
    assert report["recall"] == pytest.approx(4 / 6)


def test_lead_time_runs_from_the_first_qualifying_warning_to_the_last_activity(report):
    # d1 30 (its day-150 watch does not count), d2 10, a1 -15, a2 -50.
    assert report["lead_time_days"] == {"median": -2.5, "p25": pytest.approx(-23.75), "p75": 15.0, "n": 4}
    assert report["distributions"]["lead_time_days"] == [-50.0, -15.0, 10.0, 30.0]
    assert report["gradual_lead_time_days"] == {"median": 20.0, "n": 2, "share_at_least_14": 0.5}


def test_abrupt_leavers_are_judged_only_once_their_window_has_passed(report):
    assert report["abrupt"] == {
        "leavers": 3, "due": 2, "not_due": 1, "warned_in_time": 1, "share_in_time": 0.5,
        "median_days_after_last_activity": 32.5,
    }


def test_false_warnings_count_raise_episodes_of_stayers_per_thousand_per_month(report):
    # s1: two episodes (escalation is not a new one; a raise after "cleared" is); s4: one,
    # its repeated id counted once. 3 episodes / (4 stayers x 12 months) x 1000 = 62.5.
    assert report["months"] == 12.0
    assert report["false_warning_episodes"] == 3
    assert report["false_warnings_per_1000_stayers_per_month"] == pytest.approx(62.5)


def test_snapshot_auc_counts_ties_as_one_half(report):
    snap = report["snapshot"]
    # Churners 0.9 0.7 0.4 0.7 0.2 0.4 vs stayers 0.4 0.1 0.7 0.2: 4+3.5+2.5+3.5+1.5+2.5 = 17.5 of 24.
    assert snap["roc_auc"] == pytest.approx(17.5 / 24)
    assert (snap["matched"], snap["missing_from_snapshot"], snap["unknown_customers"]) == (10, 0, 1)
    assert snap["mean_risk_churned"] == pytest.approx(0.55) and snap["mean_risk_stayers"] == pytest.approx(0.35)
    # Level >= warning in the snapshot: d1, d2, a1, s1.
    assert snap["level_precision"] == pytest.approx(0.75) and snap["level_recall"] == pytest.approx(0.5)


def test_snapshot_risk_is_scored_as_a_probability_by_brier_score_and_slices(report):
    cal = report["snapshot"]["calibration"]
    # Churners 0.9 0.7 0.4 0.7 0.2 0.4 miss 1 by 0.01+0.09+0.36+0.09+0.64+0.36 = 1.55 squared;
    # stayers 0.4 0.1 0.7 0.2 miss 0 by 0.16+0.01+0.49+0.04 = 0.70: (1.55 + 0.70) / 10.
    assert cal["brier"] == pytest.approx(0.225)
    assert cal["reference"] == pytest.approx(0.24) and cal["skill"] == pytest.approx(1 - 0.225 / 0.24)
    assert [(b["low"], b["customers"], round(b["churn_share"], 3)) for b in cal["bins"]] == [
        (0.1, 1, 0.0), (0.2, 2, 0.5), (0.4, 3, 0.667), (0.7, 3, 0.667), (0.9, 1, 1.0)]
    # |0.1 - 0| + 2 |0.2 - 0.5| + 3 |0.4 - 2/3| + 3 |0.7 - 2/3| + |0.9 - 1|, over 10 customers
    assert cal["gap"] == pytest.approx(0.17)
    text = format_report(report)
    assert "snapshot Brier score (risk_score vs churned)            0.225  (the churn rate alone 0.240; skill 0.06)" \
        in text.splitlines()
    assert "0.4 - 0.5            3       0.40     0.67" in text.splitlines()


def test_a_calibrated_score_has_skill_and_a_small_gap_and_the_churn_rate_alone_has_none():
    rng = random.Random(3)
    scores = [rng.random() for _ in range(20_000)]
    labels = [rng.random() < s for s in scores]          # churns with the probability it is given
    cal = calibration(scores, labels)
    assert cal["skill"] > 0.3 and cal["gap"] < 0.02
    assert all(abs(b["mean_score"] - b["churn_share"]) < 0.05 for b in cal["bins"])
    rate = sum(labels) / len(labels)
    assert calibration([rate] * len(labels), labels)["skill"] == pytest.approx(0.0, abs=1e-6)
    # the same ranking squeezed towards 1 ranks as well and is a worse probability
    squeezed = calibration([0.5 + s / 2 for s in scores], labels)
    assert squeezed["skill"] < 0 < cal["skill"] and squeezed["gap"] > 0.2


def test_breakdown_by_persona_cause_and_signal(report):
    abrupt = report["by_persona"]["abrupt"]
    assert (abrupt["customers"], abrupt["churners"], abrupt["warned"]) == (3, 3, 2)
    assert abrupt["recall"] == pytest.approx(2 / 3) and abrupt["precision"] == 1.0
    assert abrupt["median_lead_days"] == -32.5
    steady = report["by_persona"]["steady"]
    assert (steady["warned"], steady["recall"], steady["precision"], steady["false_warning_episodes"]) == (2, None, 0.0, 3)
    assert steady["false_warnings_per_1000_per_month"] == pytest.approx(3000 / 36)
    assert report["by_persona"]["noisy_loyal"]["false_warnings_per_1000_per_month"] == 0.0
    assert set(report["by_cause"]) == {"drift", "trade_down", "unresolved_complaints", "abrupt"}
    assert report["by_cause"]["unresolved_complaints"]["recall"] == 0.0
    assert report["by_signal"] == {
        "activity_drop": {"warned_churners": 1, "warned_stayers": 0},
        "complaint_increase": {"warned_churners": 0, "warned_stayers": 1},
        "order_value_drop": {"warned_churners": 1, "warned_stayers": 0},
        "purchase_frequency_drop": {"warned_churners": 1, "warned_stayers": 0},
        "silence": {"warned_churners": 2, "warned_stayers": 1},
    }  # behaviour_drift rode only on a watch-level warning


def test_breakdown_by_the_evidence_of_each_customers_first_warning(report):
    # d1's first qualifying warning (day 170) carried two signals together; s1 was first
    # warned on silence (day 50), later again; d1's day-150 watch does not count.
    assert report["by_first_evidence"] == {
        "silence": {"warned_churners": 2, "warned_stayers": 1},
        "activity_drop+purchase_frequency_drop": {"warned_churners": 1, "warned_stayers": 0},
        "complaint_increase": {"warned_churners": 0, "warned_stayers": 1},
        "order_value_drop": {"warned_churners": 1, "warned_stayers": 0},
    }
    text = format_report(report)
    assert "first warning carried" in text
    assert any(line.split() == ["silence", "2", "1", "0.67"] for line in text.splitlines())


def test_inputs_that_were_left_out_are_counted(report):
    assert report["input"] == {"warnings": 14, "duplicates": 1, "outside_period": 1, "unknown_customers": 1,
                               "qualifying": 8, "not_qualifying": 3}
    assert sum(v for k, v in report["input"].items() if k != "warnings") == 14, "every warning read is accounted for"


def test_targets_are_judged(report):
    targets = report["targets"]
    assert targets["recall"] == {"value": pytest.approx(4 / 6), "target": ">= 0.9", "met": False}
    assert targets["gradual_median_lead_days"]["met"] is True
    assert targets["false_warnings_per_1000_stayers_per_month"]["met"] is False
    assert targets["precision"] == {"value": pytest.approx(4 / 6), "target": ">= 0.8", "met": False}
    assert targets["abrupt_share_in_time"] == {"value": 0.5, "target": ">= 0.9", "met": False}


def test_every_gradual_cause_counts_and_each_boundary_is_inside():
    """Boundaries, each exactly on its edge, and the two gradual causes the table above lacks.

    g1 (unresolved complaints) warned exactly 14 days before its last activity, g2
    (competitor) 10 days before: gradual median 12, half at least 14. b1 (gap 10) warned
    exactly at the end of its window (day 100 + 20): in time. b2's window ends exactly at
    the period's end: due, not warned. t1 and t2 are stayers warned exactly at the period's
    first and last instants: both inside it.
    """
    truth = [
        TruthRow("g1", True, "complainer_leaver", day(80), day(100), "unresolved_complaints", 30.0),
        TruthRow("g2", True, "competitor_lured", day(80), day(100), "competitor", 30.0),
        TruthRow("b1", True, "abrupt", day(100), day(100), "abrupt", 10.0),
        TruthRow("b2", True, "abrupt", day(345.25), day(345.25), "abrupt", 10.0),
        TruthRow("t1", False, "steady", None, day(360), "", 15.0),
        TruthRow("t2", False, "steady", None, day(360), "", 15.0),
    ]
    warnings = [warning("x1", "g1", 86, "raised", "warning", "complaint_increase"),
                warning("x2", "g2", 90, "raised", "warning", "competitor_pressure", "purchase_frequency_drop"),
                warning("x3", "b1", 120, "raised", "warning", "silence"),
                warning("x4", "t1", 0, "raised", "warning", "silence"),
                warning("x5", "t2", 365.25, "raised", "warning", "silence")]

    r = evaluate(warnings, truth, period_start=START, period_end=END)

    assert r["gradual_lead_time_days"] == {"median": 12.0, "n": 2, "share_at_least_14": 0.5}
    assert r["abrupt"]["due"] == 2 and r["abrupt"]["warned_in_time"] == 1 and r["abrupt"]["share_in_time"] == 0.5
    assert r["input"]["outside_period"] == 0 and r["false_warning_episodes"] == 2


def test_a_lower_min_level_counts_watch_warnings(report):
    low = evaluate(WARNINGS, TRUTH, period_start=START, period_end=END, min_level="watch")
    assert low["warned"] == 7 and low["precision"] == pytest.approx(4 / 7)
    assert sorted(low["distributions"]["lead_time_days"]) == [-50.0, -15.0, 10.0, 50.0]  # d1 from day 150
    assert low["false_warning_episodes"] == 4
    assert low["snapshot"] is None
    high = evaluate(WARNINGS, TRUTH, period_start=START, period_end=END, min_level="critical")
    # Only d2 and s1 (its escalation) reached critical.
    assert (high["warned"], high["warned_churners"], high["false_warning_episodes"]) == (2, 1, 1)


def test_scoring_watch_on_warnings_published_from_warning_on_says_so(report):
    """Workers publish from `warning` on by default: a `watch` evaluation of such a file
    scores the same customers as `warning`, and the report says why instead of passing it off
    as the early signs' figures."""
    published = [w for w in WARNINGS if w["level"] != "watch"]
    watch = evaluate(published, TRUTH, period_start=START, period_end=END, min_level="watch")
    assert "CHURNWATCH_PUBLISH_MIN_LEVEL" in watch["note"]
    assert "note: no warning at level watch" in format_report(watch)
    assert "note" not in evaluate(WARNINGS, TRUTH, period_start=START, period_end=END, min_level="watch")
    assert "note" not in evaluate(published, TRUTH, period_start=START, period_end=END)


def test_without_a_start_the_period_is_taken_as_the_year_before_its_end_and_said_so():
    r = evaluate([], TRUTH, period_end=END)
    assert r["period_start"] == "2024-01-01T06:00:00Z" and r["period_start_assumed"] is True
    assert "start assumed one year before the end" in format_report(r).splitlines()[0]
    assert evaluate([], TRUTH, period_start=START, period_end=END)["period_start_assumed"] is False


def test_no_warnings_at_all_gives_zero_recall_and_no_precision():
    r = evaluate([], TRUTH, period_start=START, period_end=END)
    assert r["recall"] == 0.0 and r["precision"] is None and r["lead_time_days"]["median"] is None
    assert r["targets"]["precision"]["met"] is None


@pytest.mark.parametrize(
    "scores, labels, expected",
    [
        ([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], 1.0),
        ([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1], 0.0),
        ([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1], 0.5),
        ([0.3, 0.3, 0.6], [1, 0, 1], 0.75),
    ],
)
def test_roc_auc_on_small_cases(scores, labels, expected):
    assert roc_auc(scores, labels) == pytest.approx(expected)


def test_roc_auc_equals_the_share_of_correctly_ordered_pairs_with_many_ties():
    rng = random.Random(7)
    scores = [rng.choice([0.0, 0.1, 0.25, 0.5, 0.75, 1.0]) for _ in range(300)]
    labels = [rng.random() < 0.2 + 0.6 * s for s in scores]
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    pairs = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    assert roc_auc(scores, labels) == pytest.approx(pairs / (len(pos) * len(neg)))


def test_bad_inputs_are_refused_with_what_was_expected():
    with pytest.raises(EvaluationError, match="level 'severe': expected one of watch, warning, critical"):
        evaluate([], TRUTH, period_start=START, period_end=END, min_level="severe")
    with pytest.raises(EvaluationError, match="is not after period_start"):
        evaluate([], TRUTH, period_start=END, period_end=START)
    with pytest.raises(EvaluationError, match="warning #1 lacks the field 'occurred_at'"):
        evaluate([{"warning_id": "w", "customer_id": "d1", "state": "raised"}], TRUTH,
                 period_start=START, period_end=END)


def test_files_give_the_same_report_and_the_outputs_are_readable(tmp_path: Path, report):
    (tmp_path / "w.jsonl").write_text("".join(json.dumps(w) + "\n" for w in WARNINGS))
    (tmp_path / "s.jsonl").write_text("".join(json.dumps(s) + "\n" for s in SNAPSHOT))
    write_truth_csv(tmp_path / "truth.csv", TRUTH)
    from_files = evaluate_files(tmp_path / "w.jsonl", tmp_path / "truth.csv", snapshot_path=tmp_path / "s.jsonl",
                                period_start=START, period_end=END)
    assert from_files == report
    data = json.loads(report_json(report))
    assert data["recall"] == pytest.approx(4 / 6) and "distributions" not in data
    assert "_scores" not in data["snapshot"]
    text = format_report(report)
    assert "recall (warned churners / churners)                     0.667  >= 0.9   NO" in text
    assert "abrupt leavers warned within 2x usual gap (1/2 due)     0.500  >= 0.9   NO" in text
    assert "median lead time, gradual leavers (days)                 20.0  >= 14    yes" in text
    assert "snapshot ROC AUC (risk_score vs churned)                0.729" in text
    assert "steady                           3        0       2       -      0.00       -       83.33" in text
    assert "silence                                    2               1" in text


def test_period_can_be_read_from_a_replay_file(tmp_path: Path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"type":"login","occurred_at":"2024-03-01T10:00:00Z"}\n'
                    '{"type":"login","occurred_at":"2024-01-01T00:00:05Z"}\n')
    assert replay_period(path) == (datetime(2024, 1, 1, 0, 0, 5, tzinfo=UTC), datetime(2024, 3, 1, 10, tzinfo=UTC))


def test_plots_are_written_when_matplotlib_is_there_and_explained_when_not(tmp_path: Path, report):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(EvaluationError, match=r"pip install 'churnwatch\[plots\]'"):
            write_plots(report, tmp_path)
        return
    written = write_plots(report, tmp_path)
    assert [p.name for p in written] == ["risk_score_distribution.png", "risk_score_calibration.png",
                                         "lead_time_histogram.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)


def test_docstring_examples_run():
    assert doctest.testmod(streams.evaluate).failed == 0


def test_evaluate_command_prints_the_table_or_json_and_needs_a_period(tmp_path: Path):
    import click
    from click.testing import CliRunner

    @click.group()
    def cli() -> None:
        pass

    streams.evaluate.register(cli)
    (tmp_path / "w.jsonl").write_text("".join(json.dumps(w) + "\n" for w in WARNINGS))
    (tmp_path / "s.jsonl").write_text("".join(json.dumps(s) + "\n" for s in SNAPSHOT))
    write_truth_csv(tmp_path / "truth.csv", TRUTH)
    args = ["evaluate", "--warnings", str(tmp_path / "w.jsonl"), "--truth", str(tmp_path / "truth.csv"),
            "--snapshot", str(tmp_path / "s.jsonl"), "--period-start", "2024-01-01T00:00:00Z",
            "--period-end", "2024-12-31T06:00:00Z"]
    table = CliRunner().invoke(cli, args)
    assert table.exit_code == 0, table.output
    assert "snapshot ROC AUC (risk_score vs churned)                0.729" in table.output
    as_json = CliRunner().invoke(cli, [*args, "--json", "-"])
    assert json.loads(as_json.output)["false_warnings_per_1000_stayers_per_month"] == pytest.approx(62.5)
    piped = CliRunner().invoke(cli, ["evaluate", "--warnings", "-", *args[3:], "--json", "-"],
                               input=(tmp_path / "w.jsonl").read_text())
    assert json.loads(piped.output)["recall"] == pytest.approx(4 / 6)
    missing = CliRunner().invoke(cli, args[:7])
    assert missing.exit_code != 0 and "give --period-end" in str(missing.exception)
    # a date is its midnight UTC, as --advance-to reads it: the same period as the times above
    dates = [*args[:8], "2024-01-01", "--period-end", "2024-12-31", "--json", "-"]
    assert json.loads(CliRunner().invoke(cli, dates).output)["period_end"] == "2024-12-31T00:00:00Z"
    naive = CliRunner().invoke(cli, [*args[:10], "2024-12-31 06:00"])
    assert naive.exit_code != 0 and "--period-end='2024-12-31 06:00': expected a date" in str(naive.exception)


def test_a_target_not_met_points_the_reader_to_why_not(report):
    text = format_report(report).splitlines()
    assert any(line.split()[-1] == "NO" for line in text if line.startswith("recall"))
    assert any(line.startswith("(targets: the project's goals, not this run's pass marks") for line in text)
    met = dict(report, targets={k: dict(v, met=True if v["met"] is not None else None)
                                for k, v in report["targets"].items()})
    assert not any(line.startswith("(targets:") for line in format_report(met).splitlines())
