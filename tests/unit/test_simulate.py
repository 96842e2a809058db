"""The behaviour simulator: reproducible files, valid events, ground truth that matches the
events, and personas whose behaviour shows in the data the way a retention team expects."""

from __future__ import annotations

import doctest
import gzip
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import streams.jsonl_io
import streams.personas
import streams.simulate
import streams.simulated_events
import streams.truth
from schemas.events import parse_replay_line
from streams.personas import CATEGORIES, Rates, SimulationConfigError
from streams.simulate import simulate, write_simulation
from streams.truth import read_truth_csv

START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 365
END = START + timedelta(days=DAYS)


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def population():
    """900 customers of the default mix over a year: events grouped per customer, and truth."""
    events, truth = simulate(900, START, DAYS, seed=11)
    events = list(events)
    by_customer: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        if "customer_id" in event:
            by_customer[event["customer_id"]].append(event)
    return events, by_customer, truth


def _of(truth, persona):
    rows = [row for row in truth if row.persona == persona]
    assert rows, f"no {persona} customers in the population"
    return rows


def _placed(events):
    return [e for e in events if e["type"] == "order" and e["status"] == "placed"]


# --- reproducibility --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["events.jsonl", "events.jsonl.gz"])
def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path: Path, name: str):
    paths = []
    for run, seed in enumerate((5, 5, 6)):
        out, truth = tmp_path / f"{run}-{name}", tmp_path / f"{run}-truth.csv"
        write_simulation(out, truth, 120, "2024-01-01", DAYS, seed=seed)
        paths.append((out.read_bytes(), truth.read_bytes()))
    assert paths[0] == paths[1]
    assert paths[0][0] != paths[2][0]
    if name.endswith(".gz"):
        assert gzip.decompress(paths[0][0]).startswith(b'{"type":')


def test_the_events_of_a_run_can_be_iterated_twice_with_the_same_result():
    # Iterating twice formats the same events: callers may count, then write.
    events, _ = simulate(40, START, DAYS, seed=3)
    first = list(events)
    assert len(first) > 40
    assert first == list(events)


# --- validity ---------------------------------------------------------------------------


def test_every_line_is_a_valid_replay_record_with_a_unique_id_in_time_order(tmp_path: Path):
    out = tmp_path / "events.jsonl"
    write_simulation(out, tmp_path / "truth.csv", 300, "2024-01-01", DAYS, seed=2)
    seen: set[str] = set()
    previous = None
    types: Counter[str] = Counter()
    for line in out.read_bytes().splitlines():
        kind, event = parse_replay_line(line)
        types[kind] += 1
        assert event.event_id not in seen
        seen.add(event.event_id)
        assert previous is None or event.occurred_at >= previous
        previous = event.occurred_at
        assert START <= event.occurred_at < END
    assert set(types) == {"login", "page_view", "order", "complaint", "market_event"}


def test_default_population_produces_about_a_hundred_events_per_customer_year(population):
    events, _, truth = population
    per_customer_year = len(events) / len(truth)
    assert 60 <= per_customer_year <= 160


def test_order_statuses_include_cancellations_and_returns_of_earlier_orders(population):
    _, by_customer, _ = population
    placed: dict[str, datetime] = {}
    later = []
    for events in by_customer.values():
        for e in events:
            if e["type"] != "order":
                continue
            if e["status"] == "placed":
                placed[e["order_id"]] = _t(e["occurred_at"])
            else:
                later.append(e)
    statuses = Counter(e["status"] for e in later)
    assert statuses["returned"] > 0 and statuses["cancelled"] > 0
    assert all(e["order_id"] in placed and _t(e["occurred_at"]) > placed[e["order_id"]] for e in later)


# --- ground truth -------------------------------------------------------------------------


def test_truth_file_round_trips_and_has_one_row_per_customer(tmp_path: Path):
    out, truth_path = tmp_path / "events.jsonl", tmp_path / "truth.csv"
    stats = write_simulation(out, truth_path, 200, "2024-01-01", DAYS, seed=4)
    rows = read_truth_csv(truth_path)
    assert len(rows) == stats.customers == 200
    assert truth_path.read_text().splitlines()[0] == (
        "customer_id,churned,persona,decline_started_at,last_active_at,cause,usual_gap_days"
    )
    assert sum(r.churned for r in rows) == stats.churners > 0


def test_a_truth_file_saved_by_a_spreadsheet_with_semicolons_reads_as_the_same_truth(tmp_path: Path):
    from streams.truth import TruthFileError

    commas, semicolons = tmp_path / "truth.csv", tmp_path / "truth-semicolons.csv"
    commas.write_text("customer_id,churned,cause\nc1,1,drift\nc2,0,\n")
    semicolons.write_text("customer_id ; churned;cause\nc1;1;drift\nc2;0;\n")
    fields = lambda rows: [(r.customer_id, r.churned, r.cause) for r in rows]  # noqa: E731
    assert fields(read_truth_csv(semicolons)) == fields(read_truth_csv(commas)) == [("c1", True, "drift"),
                                                                                 ("c2", False, "")]
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,left\nc1,1\n")
    with pytest.raises(TruthFileError, match=r"lacks the column\(s\) churned, customer_id \(its header: 'id,left'\)"):
        read_truth_csv(wrong)


def test_last_active_at_is_each_customers_last_event_and_churners_leave_inside_the_period(population):
    _, by_customer, truth = population
    for row in truth:
        events = by_customer[row.customer_id]
        assert events, row
        assert row.last_active_at == max(_t(e["occurred_at"]) for e in events)
        if row.churned:
            assert row.decline_started_at is not None and row.cause
            assert row.decline_started_at <= row.last_active_at
            # Quiet time after leaving, so silence can be seen before the period ends.
            assert row.last_active_at <= END - timedelta(days=Rates().tail_days)
        else:
            assert row.decline_started_at is None and row.cause == ""


def test_gradual_leavers_have_four_months_of_history_before_their_decline(population):
    _, by_customer, truth = population
    for row in truth:
        if row.churned and row.cause not in ("never_engaged", "abrupt"):
            assert row.decline_started_at >= START + timedelta(days=120)
            before = [e for e in by_customer[row.customer_id] if _t(e["occurred_at"]) < row.decline_started_at]
            assert before, row


def test_churner_declines_are_spread_over_the_period(population):
    _, _, truth = population
    months = {row.decline_started_at.month for row in truth if row.churned and row.cause != "never_engaged"}
    assert len(months) >= 5


def test_personas_map_to_their_causes_and_the_mix_is_respected(population):
    _, _, truth = population
    counts = Counter(row.persona for row in truth)
    assert counts["steady"] == round(0.55 * 900)
    for row in truth:
        if row.persona in streams.personas.CAUSE_OF_PERSONA:
            assert row.churned and row.cause == streams.personas.CAUSE_OF_PERSONA[row.persona]
        elif row.persona == "new":
            assert row.cause in ("", "never_engaged")
        else:
            assert not row.churned


# --- persona shapes -----------------------------------------------------------------------


def _split(events, when):
    return ([e for e in events if _t(e["occurred_at"]) < when], [e for e in events if _t(e["occurred_at"]) >= when])


def test_trade_down_order_value_falls_below_sixty_percent_of_usual(population):
    _, by_customer, truth = population
    ratios = []
    for row in _of(truth, "trade_down"):
        orders = _placed(by_customer[row.customer_id])
        main = Counter(o["currency"] for o in orders).most_common(1)[0][0]
        before, after = _split([o for o in orders if o["currency"] == main], row.decline_started_at)
        if before and after:
            ratios.append(statistics.mean(o["amount"] for o in after) / statistics.mean(o["amount"] for o in before))
    assert len(ratios) >= 0.8 * len(_of(truth, "trade_down"))
    assert statistics.median(ratios) < 0.6


def test_trade_down_keeps_buying_for_a_while_after_the_value_drops(population):
    _, by_customer, truth = population
    with_orders_after = [
        row for row in _of(truth, "trade_down")
        if _split(_placed(by_customer[row.customer_id]), row.decline_started_at)[1]
    ]
    assert len(with_orders_after) >= 0.8 * len(_of(truth, "trade_down"))


def _rate(events, lo, hi):
    return len([e for e in events if lo <= _t(e["occurred_at"]) < hi]) / max((hi - lo).days, 1)


def test_drifters_order_less_often_then_stop_while_steady_customers_do_not(population):
    _, by_customer, truth = population
    falls = []
    for row in _of(truth, "drifter"):
        orders = _placed(by_customer[row.customer_id])
        before = _rate(orders, START, row.decline_started_at)
        after = _rate(orders, row.decline_started_at, row.last_active_at + timedelta(seconds=1))
        if before > 0:
            falls.append(after / before)
    assert statistics.median(falls) < 0.5
    # Activity thins out before it stops: visits continue into the decline.
    visiting = [
        row for row in _of(truth, "drifter")
        if any(e["type"] != "order" and _t(e["occurred_at"]) > row.decline_started_at
               for e in by_customer[row.customer_id])
    ]
    assert len(visiting) == len(_of(truth, "drifter"))


def test_abrupt_leavers_are_steady_until_they_stop(population):
    _, by_customer, truth = population
    ratios = []
    for row in _of(truth, "abrupt"):
        events = by_customer[row.customer_id]
        assert row.decline_started_at == row.last_active_at
        first = min(_t(e["occurred_at"]) for e in events)
        last_quarter = row.last_active_at - (row.last_active_at - first) / 4
        overall = _rate(events, first, row.last_active_at)
        if overall > 0:
            ratios.append(_rate(events, last_quarter, row.last_active_at) / overall)
    # No slow-down before the stop, unlike drifters.
    assert statistics.median(ratios) > 0.6


def test_complainer_leavers_leave_with_serious_complaints_at_least_one_unresolved(population):
    _, by_customer, truth = population
    for row in _of(truth, "complainer_leaver"):
        complaints = [e for e in by_customer[row.customer_id] if e["type"] == "complaint"]
        opened_since = {
            c["complaint_id"] for c in complaints
            if c["status"] == "opened" and _t(c["occurred_at"]) >= row.decline_started_at
        }
        recent = [c for c in complaints if c["complaint_id"] in opened_since]
        assert len({c["complaint_id"] for c in recent}) >= 2
        assert {c["category"] for c in recent} <= {"product", "logistics", "service"}
        final = {}
        for c in recent:
            final[c["complaint_id"]] = c["status"]
        assert any(status != "resolved" for status in final.values())


def test_noisy_loyal_customers_complain_far_more_than_steady_ones_but_keep_buying(population):
    _, by_customer, truth = population

    def complaints(row):
        return len([e for e in by_customer[row.customer_id] if e["type"] == "complaint" and e["status"] == "opened"])

    noisy, steady = _of(truth, "noisy_loyal"), _of(truth, "steady")
    assert statistics.mean(map(complaints, noisy)) > 5 * statistics.mean(map(complaints, steady))
    late = END - timedelta(days=120)
    still_buying = [r for r in noisy if any(_t(o["occurred_at"]) >= late for o in _placed(by_customer[r.customer_id]))]
    assert len(still_buying) >= 0.8 * len(noisy)
    # Their complaints get resolved (the last state of each complaint opened before the
    # final month is "resolved").
    final: dict[str, tuple[str, datetime]] = {}
    for row in noisy:
        for e in by_customer[row.customer_id]:
            if e["type"] == "complaint":
                opened = final.get(e["complaint_id"], (None, _t(e["occurred_at"])))[1]
                final[e["complaint_id"]] = (e["status"], opened)
    settled = [s for s, opened in final.values() if opened < END - timedelta(days=60)]
    assert settled and all(s == "resolved" for s in settled)


def test_competitor_lured_customers_stop_buying_their_category_after_a_matching_market_event(population):
    events, by_customer, truth = population
    market = [e for e in events if e["type"] == "market_event"]
    main_orders = Counter()
    span_days = Counter()
    lured = _of(truth, "competitor_lured")
    for row in lured:
        before, after = _split(_placed(by_customer[row.customer_id]), row.decline_started_at)
        # A competitor acted in a category just before the decline; the one of those the
        # customer bought most is what lured them.
        acted = {
            m["category"] for m in market
            if row.decline_started_at - timedelta(days=6) <= _t(m["occurred_at"]) <= row.decline_started_at
        }
        assert acted, row
        bought = Counter(o["category"] for o in before)
        main = max(sorted(acted), key=lambda c: bought[c])
        main_orders["before"] += bought[main]
        main_orders["all before"] += len(before)
        main_orders["after"] += sum(o["category"] == main for o in after)
        main_orders["bought main before"] += bought[main] > 0
        span_days["before"] += (row.decline_started_at - START).days
        span_days["after"] += max((row.last_active_at - row.decline_started_at).days, 1)
    assert main_orders["bought main before"] >= 0.9 * len(lured)
    assert main_orders["before"] >= 0.6 * main_orders["all before"]
    rate_before = main_orders["before"] / span_days["before"]
    rate_after = main_orders["after"] / span_days["after"]
    assert rate_after < 0.3 * rate_before


def test_market_events_hit_categories_without_anyone_leaving(population):
    events, _, truth = population
    lured = {
        e["category"] for e in events if e["type"] == "market_event"
    }
    assert len(lured) == len(CATEGORIES)
    assert sum(e["type"] == "market_event" for e in events) > sum(r.persona == "competitor_lured" for r in truth) / 5


def test_new_customers_join_part_way_and_some_leave_after_their_first_order(population):
    _, by_customer, truth = population
    rows = _of(truth, "new")
    firsts = [min(_t(e["occurred_at"]) for e in by_customer[r.customer_id]) for r in rows]
    assert all(f >= START + timedelta(days=7) for f in firsts)
    never = [r for r in rows if r.churned]
    assert never and len(never) < len(rows) / 2
    for row in never:
        assert row.cause == "never_engaged"
        assert len(_placed(by_customer[row.customer_id])) == 1


def test_seasonal_customers_buy_in_a_few_seasons_and_stay(population):
    _, by_customer, truth = population
    for row in _of(truth, "seasonal"):
        months = {_t(o["occurred_at"]).month for o in _placed(by_customer[row.customer_id])}
        assert 1 <= len(months) <= 7
        assert any(e["type"] != "order" for e in by_customer[row.customer_id])


def test_steady_customers_have_real_variance_long_pauses_and_favourite_categories(population):
    _, by_customer, truth = population
    steady = _of(truth, "steady")
    long_pause = concentrated = 0
    for row in steady:
        times = sorted(_t(o["occurred_at"]) for o in _placed(by_customer[row.customer_id]))
        gaps = [(b - a).total_seconds() / 86400 for a, b in zip(times, times[1:])]
        if gaps and max(gaps) >= 2 * row.usual_gap_days:
            long_pause += 1
        cats = Counter(o["category"] for o in _placed(by_customer[row.customer_id]))
        if times and cats.most_common(1)[0][1] / len(times) >= 0.7:
            concentrated += 1
    # A detector tuned on clean rhythms would false-alarm on these; one buying mostly in
    # one category is not by itself a competitor-lured leaver.
    assert long_pause >= 0.3 * len(steady)
    assert concentrated >= 0.15 * len(steady)
    rhythms = sorted(r.usual_gap_days for r in steady)
    assert rhythms[len(rhythms) // 10] < 20 and rhythms[-len(rhythms) // 10] > 80


def test_cross_border_customers_pay_in_their_own_currency_with_realistic_magnitudes(population):
    _, by_customer, truth = population
    currencies: dict[str, set[str]] = {}
    jpy_amounts = []
    for row in truth:
        orders = _placed(by_customer[row.customer_id])
        currencies[row.customer_id] = {o["currency"] for o in orders}
        jpy_amounts += [o["amount"] for o in orders if o["currency"] == "JPY"]
    foreign = [c for c, cur in currencies.items() if cur - {"EUR"}]
    assert 0.05 * len(truth) <= len(foreign) <= 0.16 * len(truth)
    assert {c for cur in currencies.values() for c in cur} == {"EUR", "GBP", "SEK", "JPY"}
    assert any(len(cur) == 2 for cur in currencies.values())  # a few pay in two
    assert all(len(cur - {"EUR"}) <= 1 for cur in currencies.values())
    assert all(a == int(a) for a in jpy_amounts) and statistics.median(jpy_amounts) > 1000


def test_events_follow_a_daily_rhythm(population):
    events, _, _ = population
    hours = Counter(_t(e["occurred_at"]).hour for e in events if e["type"] == "login")
    assert hours[19] + hours[20] > 3 * (hours[2] + hours[3])


# --- settings -----------------------------------------------------------------------------


def test_unknown_persona_in_the_mix_is_refused_with_the_known_names():
    with pytest.raises(SimulationConfigError, match="unknown persona 'loyal': expected one of steady"):
        simulate(10, START, DAYS, seed=1, mix={"loyal": 1.0})


def test_a_period_too_short_for_churner_history_is_refused_with_the_minimum():
    with pytest.raises(SimulationConfigError, match="at least 180 days"):
        simulate(10, START, 90, seed=1)


def test_a_population_of_stayers_can_be_short():
    events, truth = simulate(10, START, 30, seed=1, mix={"steady": 1.0})
    assert not any(r.churned for r in truth) and len(list(events)) > 0


def test_mix_text_is_parsed_and_checked():
    assert streams.personas.parse_mix("steady=0.7, abrupt=0.3") == {"steady": 0.7, "abrupt": 0.3}
    with pytest.raises(SimulationConfigError, match="expected persona=share"):
        streams.personas.parse_mix("steady")


@pytest.mark.parametrize(
    "module", [streams.simulate, streams.personas, streams.truth, streams.jsonl_io, streams.simulated_events]
)
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.failed == 0


def test_simulate_command_writes_both_files_and_says_what_it_made(tmp_path: Path):
    import click
    from click.testing import CliRunner

    @click.group()
    def cli() -> None:
        pass

    streams.simulate.register(cli)
    out = tmp_path / "sim" / "events.jsonl.gz"
    result = CliRunner().invoke(cli, ["simulate", "--customers", "50", "--seed", "9", "--out", str(out),
                                      "--mix", "steady=0.8,abrupt=0.2", "--rates", "vacations_per_year=3"])
    assert result.exit_code == 0, result.output
    assert "for 50 customers (10 churners)" in result.output
    assert f"ground truth -> {tmp_path / 'sim' / 'truth.csv'}; period end 2024-12-31T00:00:00Z" in result.output
    assert len(read_truth_csv(tmp_path / "sim" / "truth.csv")) == 50
    assert gzip.decompress(out.read_bytes()).count(b"\n") > 1000
    bad = CliRunner().invoke(cli, ["simulate", "--rates", "holidays=2", "--out", str(out)])
    assert bad.exit_code != 0 and "unknown rate 'holidays'" in str(bad.exception)
