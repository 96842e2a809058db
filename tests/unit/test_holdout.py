"""evaluate-holdout: the split, the labels, the scores and the command, on small hand-made histories."""

from __future__ import annotations

import doctest
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

import streams.holdout
import streams.holdout_baselines
from streams.holdout import (HoldoutError, average_precision, evaluate_holdout, format_report, score_split, segment_of,
                             split_replay)
from streams.settings import Settings

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
CUTOFF = T0 + timedelta(days=200)


def _order(customer: str, day: float, status: str = "placed", amount: float = 20.0) -> bytes:
    at = T0 + timedelta(days=day)
    return orjson.dumps({
        "type": "order", "schema_version": 1, "event_id": f"{customer}-{day}-{status}", "customer_id": customer,
        "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "order_id": f"{customer}-{day}", "amount": amount,
        "currency": "EUR", "status": status, "items": 1,
    })


def test_docstring_examples_run():
    assert doctest.testmod(streams.holdout).failed == 0
    assert doctest.testmod(streams.holdout_baselines).failed == 0


def test_average_precision_equals_the_mean_precision_at_each_positive_without_ties():
    rng = random.Random(3)
    for _ in range(20):
        scores = rng.sample(range(1000), 30)
        labels = [rng.random() < 0.4 for _ in scores]
        if not any(labels):
            continue
        ranked = sorted(zip(scores, labels), reverse=True)
        precisions = [sum(y for _, y in ranked[:k + 1]) / (k + 1) for k, (_, y) in enumerate(ranked) if y]
        assert average_precision(scores, labels) == pytest.approx(sum(precisions) / len(precisions))


def test_a_ranking_that_knows_nothing_has_pr_auc_equal_to_the_churn_rate():
    assert average_precision([1.0] * 10, [True] * 3 + [False] * 7) == pytest.approx(0.3)


@pytest.mark.parametrize(("orders", "segment"), [(1, "1"), (2, "2-3"), (3, "2-3"), (4, "4+"), (12, "4+")])
def test_segments_by_calibration_orders(orders: int, segment: str):
    assert segment_of(orders) == segment


def test_split_labels_by_placed_orders_inside_the_holdout_window_only():
    lines = [
        _order("stays", 10), _order("stays", 205),                    # buys again in the window
        _order("cancels", 10), _order("cancels", 205, "cancelled"),   # a cancellation is no purchase
        _order("late", 10), _order("late", 200 + 30),                 # window is [cutoff, cutoff + 30): excluded
        _order("gone", 10),
        _order("newcomer", 201),                                       # first order in the holdout: not scored
        _order("only-returned", 50, "returned"),                      # no purchase in calibration: not scored
    ]
    split = split_replay(lines, CUTOFF, horizon_days=30)
    assert sorted(split.purchases) == ["cancels", "gone", "late", "stays"]
    assert split.holdout_buyers == {"stays"}
    assert split.new_in_holdout == {"newcomer"}
    assert len(split.calibration_lines) == 5  # everything before the cutoff, returns included


def test_split_refuses_a_cutoff_outside_the_history():
    with pytest.raises(HoldoutError, match="no placed order before the cutoff"):
        split_replay([_order("a", 300)], CUTOFF, 30)
    with pytest.raises(HoldoutError, match="the history ends at 2024-01-11T00:00:00Z, before the cutoff"):
        split_replay([_order("a", 10)], CUTOFF, 30)
    with pytest.raises(HoldoutError, match="line 2: not a replay event"):
        split_replay([_order("a", 10), b'{"type": "order"}'], CUTOFF, 30)


def test_scores_rank_churners_against_returners_per_segment_and_warnings_count_as_predictions():
    # Four customers; churners c and d. The risk score ranks them perfectly, recency ranks
    # returner b (long quiet) above churner c.
    lines = [_order("a", 190), _order("b", 20), _order("b", 30), _order("c", 100), _order("d", 10),
             *[_order("d", day) for day in (20, 30, 40)], _order("a", 210), _order("b", 215)]
    split = split_replay(lines, CUTOFF, 100)
    snapshot = [
        {"customer_id": "a", "risk_score": 0.1, "open_warning_level": "none"},
        {"customer_id": "b", "risk_score": 0.2, "open_warning_level": "warning"},
        {"customer_id": "c", "risk_score": 0.7, "open_warning_level": "watch"},
        {"customer_id": "d", "risk_score": 0.9, "open_warning_level": "critical"},
    ]
    report = score_split(split, snapshot, baselines=None)
    overall = report["overall"]
    assert (overall["customers"], overall["churned"], overall["churn_rate"]) == (4, 2, 0.5)
    # the risk score is also a probability: its Brier score, (0.1² + 0.2² + 0.3² + 0.1²) / 4
    assert overall["ranking"]["risk_score"] == {"roc_auc": 1.0, "pr_auc": 1.0, "brier": 0.0375}
    # recency days: a 10, b 170, c 100, d 160 -> pairs (c,d) over (a,b): d>a, d<b, c>a, c<b
    assert overall["ranking"]["recency"]["roc_auc"] == 0.5
    assert overall["ranking"]["bgnbd_p_alive"] == {"roc_auc": None, "pr_auc": None, "brier": None}  # not computed
    assert "brier" not in overall["ranking"]["recency"]                    # days, not a probability
    # by risk: a 0.1-0.2 (returned), b 0.2-0.3 (returned), c 0.7-0.8 and d 0.9-1.0 (churned)
    assert [(b["low"], b["customers"], b["churn_share"]) for b in overall["risk_calibration"]["bins"]] == [
        (0.1, 1, 0.0), (0.2, 1, 0.0), (0.7, 1, 1.0), (0.9, 1, 1.0)]
    assert overall["warnings_open_at_cutoff"]["warning"] == {"warned": 2, "precision": 0.5, "recall": 0.5}
    assert overall["warnings_open_at_cutoff"]["watch"] == {"warned": 3, "precision": 2 / 3, "recall": 1.0}
    # the rules of thumb beside them: recency > 90 days warns b, c and d; > 180 days no one
    rules = overall["rules_at_cutoff"]
    assert rules["recency > 90 days"] == {"warned": 3, "precision": 2 / 3, "recall": 1.0}
    assert rules["recency > 180 days"]["warned"] == 0
    assert "BG/NBD P(alive) < 0.5" not in rules                             # no fit: not computed
    text = format_report(
        {**report, "split": {"calibration": ["a", "b"], "holdout": ["b", "c"], "horizon_days": 100,
                             "customers_new_in_holdout": 0, "sample": "all customers"},
         "baselines": {"status": "not asked for"}, "replay": {"events": 0, "seconds": 0, "warnings": 0,
                                                               "dead_letters": 0}})
    assert text.splitlines()[[line.split()[:2] for line in text.splitlines()].index(["Churnwatch", "risk_score"])].split()[2:5] \
        == ["1.000", "1.000", "0.037"]
    assert "the churn rate given to everyone scores 0.250" in text
    assert "  0.9 - 1.0            1       0.90     1.00" in text.splitlines()
    shown = {line.split("  ")[1].strip(): line for line in text.splitlines() if "P(alive) < 0.5" in line or "recency >" in line}
    assert shown["BG/NBD P(alive) < 0.5"].endswith("(not computed)")
    assert shown["recency > 90 days"].split()[4:7] == ["3", "0.667", "1.000"]
    segs = report["by_calibration_orders"]
    assert {s: segs[s]["customers"] for s in segs} == {"1": 2, "2-3": 1, "4+": 1}
    assert segs["1"]["ranking"]["risk_score"]["roc_auc"] == 1.0  # a (returned) vs c (churned)
    assert report["misranked"]["returned_with_highest_risk"][0]["customer_id"] == "b"
    assert report["misranked"]["churned_with_lowest_risk"][0]["customer_id"] == "c"


def test_a_customer_missing_from_the_snapshot_is_an_error_not_a_silent_gap():
    split = split_replay([_order("a", 10), _order("b", 10), _order("a", 210)], CUTOFF, 30)
    with pytest.raises(HoldoutError, match="1 customers with calibration orders have no snapshot row, e.g. 'b'"):
        score_split(split, [{"customer_id": "a", "risk_score": 0.5}], None)


def _population() -> list[bytes]:
    """Weekly buyers: half keep buying through the holdout, half stop 10 weeks before the cutoff."""
    lines = []
    for n in range(12):
        stops = n % 2 == 0
        last = 130 if stops else 260
        lines += [_order(f"weekly-{n:02d}", day + n * 0.1) for day in range(0, last, 7)]
    return sorted(lines, key=lambda line: orjson.loads(line)["occurred_at"])


def test_evaluation_replays_the_calibration_through_the_worker_and_ranks_customers_who_stopped_first(tmp_path: Path):
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"\n".join(_population()) + b"\n")
    report = evaluate_holdout(Settings(), path, CUTOFF, 56, baselines=False)
    overall = report["overall"]
    assert (overall["customers"], overall["churned"]) == (12, 6)
    assert overall["ranking"]["risk_score"]["roc_auc"] == 1.0
    # Ten weeks of silence for a weekly buyer: the worker has a warning open at the cutoff.
    assert overall["warnings_open_at_cutoff"]["warning"] == {"warned": 6, "precision": 1.0, "recall": 1.0}
    assert report["replay"]["events"] == sum(1 for line in _population() if orjson.loads(line)["occurred_at"] <
                                             CUTOFF.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert report["split"]["holdout"] == ["2024-07-19T00:00:00Z", "2024-09-13T00:00:00Z"]
    assert report["baselines"]["status"].startswith("not asked for")
    assert "notes" not in report["split"]     # 200 days of calibration, a holdout within the data
    # the risk score asks about the churn horizon (90 days), the holdout about 56: the report says so
    assert report["split"]["risk_horizon_days"] == 90
    assert "(the risk score is the chance of no activity within 90 days, CHURNWATCH_CHURN_HORIZON_DAYS; " \
        "the holdout asks about 56)" in format_report(report)


def test_a_short_calibration_and_a_holdout_past_the_data_are_noted(tmp_path: Path):
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"\n".join(_population()) + b"\n")    # days 0 to 260

    report = evaluate_holdout(Settings(), path, T0 + timedelta(days=60), 250, baselines=False)

    past, short = report["split"]["notes"]
    assert past.startswith("the holdout window ends 2024-11-06, after the last event")
    assert short.startswith("the calibration covers only 60 days of history")
    text = format_report(report)
    assert f"note: {past}" in text and f"note: {short}" in text


def test_bgnbd_and_pareto_nbd_rank_a_lapsed_frequent_buyer_as_riskier_than_an_active_one():
    rng = random.Random(5)
    cutoff = 200 * 86_400
    summaries = {}
    for n in range(300):
        rate = rng.choice([7, 14, 30, 60])
        stop = rng.choice([60, 120, 200])
        first = rng.randrange(0, 60)
        times = [d * 86_400 for d in range(first, stop, rate)] or [first * 86_400]
        summaries[f"c{n}"] = streams.holdout_baselines.summarise(times, cutoff)
    summaries["active"] = streams.holdout_baselines.summarise([d * 86_400 for d in range(0, 200, 7)], cutoff)
    summaries["lapsed"] = streams.holdout_baselines.summarise([d * 86_400 for d in range(0, 100, 7)], cutoff)
    scores, fitted = streams.holdout_baselines.model_scores(summaries, 60)
    for name in streams.holdout_baselines.SCORE_NAMES[1:]:
        assert scores["lapsed"][name] > scores["active"][name], name
    # scores.csv holds the models' own figures, under names that say what they are
    published = {c: dict(streams.holdout._published(n, v) for n, v in scores[c].items()) for c in ("active", "lapsed")}
    for model in ("bgnbd", "pnbd"):
        assert 0.0 <= published["lapsed"][f"{model}_p_alive"] < published["active"][f"{model}_p_alive"] <= 1.0
        assert 0.0 <= published["lapsed"][f"{model}_expected_orders"] < published["active"][f"{model}_expected_orders"]
    assert set(fitted["bgnbd"]) == {"r", "alpha", "a", "b"} and set(fitted["pnbd"]) == {"r", "alpha", "s", "beta"}


def test_a_baseline_fit_that_does_not_converge_leaves_its_columns_empty_and_says_why(capsys):
    day = 86_400
    # eight customers, as a small export has them: lifetimes' BG/NBD fit does not converge
    histories = [[0, 31, 60], [4, 120], [9], [40, 41], [60], [1], [92, 110], [14]]
    summaries = {f"c{i}": streams.holdout_baselines.summarise([d * day for d in h], 121 * day)
                 for i, h in enumerate(histories)}
    scores, fitted = streams.holdout_baselines.model_scores(summaries, 120)
    assert "did not converge" in fitted["bgnbd"]["error"]
    assert all("bgnbd_p_alive" not in s for s in scores.values())
    assert capsys.readouterr().out == "", "lifetimes' optimiser dump is not printed"


def test_evaluate_holdout_command_converts_once_and_writes_report_and_scores(tmp_path: Path):
    import click
    from click.testing import CliRunner

    @click.group()
    def cli() -> None:
        pass

    streams.holdout.register(cli)
    rows = ["customer date n spend"]
    for line in _population():
        e = orjson.loads(line)
        rows.append(f"{e['customer_id']} {e['occurred_at'][:10].replace('-', '')} 1 {e['amount']:.2f}")
    export = tmp_path / "log.txt"
    export.write_text("\n".join(rows) + "\n")
    args = ["evaluate-holdout", str(export), "--cutoff", "2024-07-19", "--horizon", "56", "--no-baselines",
            "--out", str(tmp_path / "out"), "--quantity-column", "n"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "12 customers with calibration orders, 6 churned (no order in the holdout): 50.0%" in first.output
    assert "converted:" in first.output
    second = CliRunner().invoke(cli, args)
    assert "cached:" in second.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["overall"]["ranking"]["risk_score"]["roc_auc"] == 1.0
    scores = (tmp_path / "out" / "scores.csv").read_text().splitlines()
    assert scores[0].startswith("customer_id,calibration_orders,segment,churned,open_warning_level,signals,risk_score")
    assert len(scores) == 13


def test_a_shop_apis_orders_in_json_lines_are_converted_not_taken_for_a_replay_file(tmp_path: Path):
    from click.testing import CliRunner

    from streams.cli import main as cli

    export = tmp_path / "orders.jsonl"
    with open(export, "wb") as f:
        for n, line in enumerate(_population()):
            e = orjson.loads(line)
            f.write(orjson.dumps({"id": n, "customer": {"id": e["customer_id"]}, "created_at": e["occurred_at"],
                                  "total_price": f"{e['amount']:.2f}", "currency": "EUR"}) + b"\n")
    result = CliRunner().invoke(cli, ["evaluate-holdout", str(export), "--cutoff", "2024-07-19", "--horizon", "56",
                                      "--no-baselines", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "converted:" in result.output and "read as JSON lines" in result.output
    assert "12 customers with calibration orders, 6 churned (no order in the holdout): 50.0%" in result.output

    # basket lines without an order id: the conversion's note is printed here too
    lines = export.read_bytes().splitlines()
    export.write_bytes(b"".join(line + b"\n" + line + b"\n" for line in lines))
    again = CliRunner().invoke(cli, ["evaluate-holdout", str(export), "--cutoff", "2024-07-19", "--horizon", "56",
                                     "--no-baselines", "--out", str(tmp_path / "out")])
    assert again.exit_code == 0, again.output
    assert f"note: {len(lines) * 2:,} orders share their customer and time with another" in again.output


def test_warnings_raised_in_the_holdout_are_scored_for_customers_who_stop_at_the_cutoff(tmp_path: Path):
    # Weekly buyers: 4 stop a week before the cutoff (no warning open yet), 4 keep buying.
    lines = []
    for n in range(8):
        last = 194 if n < 4 else 260
        lines += [_order(f"weekly-{n}", day + n * 0.1) for day in range(0, last, 7)]
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"\n".join(sorted(lines, key=lambda line: orjson.loads(line)["occurred_at"])) + b"\n")
    report = evaluate_holdout(Settings(), path, CUTOFF, 56, baselines=False, holdout_warnings=True)
    assert report["overall"]["warnings_open_at_cutoff"]["warning"]["warned"] == 0
    h = report["holdout_warnings"]
    assert (h["warned_in_holdout"], h["precision"], h["false_alarms"], h["recall"]) == (4, 1.0, 0, 1.0)
    assert 14 <= h["median_days_quiet_when_warned"] <= 56
    assert "warnings raised in the holdout (level >= warning, none open at the cutoff): 4 customers" in \
        streams.holdout.format_report(report)


def test_a_sample_keeps_the_same_customers_with_all_their_events():
    lines = [_order(f"c{n}", day) for n in range(40) for day in (10, 100, 205)]
    full = split_replay(lines, CUTOFF, 30)
    quarter = split_replay(lines, CUTOFF, 30, sample=4)
    again = split_replay(lines, CUTOFF, 30, sample=4)
    assert 0 < len(quarter.purchases) < len(full.purchases)
    assert quarter.purchases == again.purchases
    assert all(quarter.purchases[c] == full.purchases[c] for c in quarter.purchases)
    assert quarter.holdout_buyers == set(quarter.purchases)
    assert len(quarter.calibration_lines) == 2 * len(quarter.purchases)


def test_a_history_with_bad_lines_is_refused_naming_every_one_of_them(tmp_path: Path):
    good = _population()
    bad = [b'{"type": "order", "customer_id": "x"', b'{"type": "purchase", "customer_id": "y", "event_id": "e", '
           b'"occurred_at": "2024-02-01T00:00:00Z"}', b'[1, 2]']
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"\n".join([good[0], bad[0], good[1], bad[1], bad[2], *good[2:]]) + b"\n")

    with pytest.raises(HoldoutError) as refused:
        evaluate_holdout(Settings(), path, CUTOFF, 56, baselines=False)

    message = str(refused.value)
    assert message.startswith("3 invalid replay lines")
    assert [line.split(":")[0].strip() for line in message.splitlines()[1:]] == ["line 2", "line 4", "line 5"]
    assert "purchase" in message.splitlines()[2]


def test_a_wrong_cutoff_is_refused_before_the_export_is_converted(tmp_path: Path):
    from click.testing import CliRunner

    from streams.cli import main

    export = tmp_path / "orders.csv"
    export.write_text("customer_id,date,amount\nc1,2024-01-01,10\nc1,2024-02-01,12\n")
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["evaluate-holdout", str(export), "--cutoff", "2024-13-01", "--horizon", "90",
                                       "--out", str(out)])
    assert result.exit_code != 0 and "2024-13-01" in result.output and "Traceback" not in result.output
    assert not (out / "cache").exists()       # nothing converted, nothing cached
