"""From signals to a level: one budget per detector, corroboration across kinds of evidence."""

from __future__ import annotations

import random

import pytest

from builders import DAY, build, complaint, day, login, order, orders_every, page_view
from detectors.competitor_pressure import MarketPressure
from detectors.signal import Signal
from detectors.warning import DetectorParams, assess, level_of


def sig(kind: str, strength: float) -> Signal:
    return Signal(kind, strength, 1.0, 2.0, "unit", 28.0, kind)


@pytest.mark.parametrize("kind", ["silence", "purchase_frequency_drop", "activity_drop", "order_value_drop",
                                  "complaint_increase"])
def test_a_lone_signal_just_over_its_alarm_is_a_watch_not_a_warning(kind):
    assert level_of([sig(kind, 0.6)], "regular") == 1
    assert level_of([sig(kind, 0.65)], "regular") == 1


def test_a_lone_signal_at_warning_strength_is_a_warning_and_core_customers_get_there_sooner():
    assert level_of([sig("silence", 0.7)], "regular") == 2
    assert level_of([sig("silence", 0.62)], "regular") == 1
    assert level_of([sig("silence", 0.62)], "core") == 2


@pytest.mark.parametrize(("segment", "warning", "critical"), [
    ("regular", 0.7, 0.85), ("new", 0.7, 0.85), ("lapsed", 0.7, 0.85), ("growth", 0.65, 0.8), ("core", 0.6, 0.75)])
def test_each_segment_reaches_warning_and_critical_at_its_own_risk(segment, warning, critical):
    # a lone silence counts at its full strength: the risk is the strength
    assert [level_of([sig("silence", r)], segment) for r in (0.499, 0.501)] == [0, 1]
    assert [level_of([sig("silence", r)], segment) for r in (warning - 0.001, warning + 0.001)] == [1, 2]
    assert [level_of([sig("silence", r)], segment) for r in (critical - 0.001, critical + 0.001)] == [2, 3]


def test_two_independent_kinds_of_evidence_together_reach_a_warning():
    # each fires on a steady customer about once in a hundred months: both together are rarer
    assert level_of([sig("order_value_drop", 0.5), sig("complaint_increase", 0.5)], "regular") == 2
    assert level_of([sig("silence", 0.5), sig("order_value_drop", 0.5)], "regular") == 2


def test_signals_about_how_often_the_customer_comes_corroborate_only_through_the_damped_sum():
    # silence, an overdue order and fewer visits are one observation seen three ways
    assert level_of([sig("silence", 0.55), sig("purchase_frequency_drop", 0.55)], "regular") == 1
    assert level_of([sig("silence", 0.55), sig("purchase_frequency_drop", 0.55), sig("activity_drop", 0.55)],
                    "regular") == 2


def test_competitor_pressure_is_not_a_second_kind_of_evidence():
    # it raises the risk beside a decline (and a strong promotion can lift it to a warning),
    # but a rival's offer reaches every customer of the category: it corroborates nothing
    assert level_of([sig("silence", 0.55), sig("competitor_pressure", 0.55)], "regular") == 1
    assert level_of([sig("silence", 0.55), sig("competitor_pressure", 0.95)], "regular") == 2


def steady_daily_visitor(until: int, holiday: tuple[int, int] | None = None, seed: int = 1) -> list:
    """Visits most days, orders about monthly, for `until` days; nothing during `holiday`."""
    rng = random.Random(seed)
    events = []
    for d in range(until):
        if holiday and holiday[0] <= d < holiday[1]:
            continue
        if rng.random() < 0.7:
            events += [login(day(d, 9)), page_view(day(d, 9.1), 60.0)]
        if d % 30 == 3:
            events.append(order(day(d, 20), rng.uniform(60, 90), category="home"))
    return events


def test_a_steady_customer_with_one_holiday_gets_no_warning():
    # 300 days of habit, then three weeks away, then back: a watch at most, never a warning
    events = steady_daily_visitor(360, holiday=(300, 321))
    state, i = None, 0
    for d in range(200, 360):
        now = day(d, 23.9)
        while i < len(events) and events[i].occurred_at.timestamp() <= now:
            state = build([events[i]], state)
            i += 1
        assert assess(state, now).level < 2, d


def test_a_customer_who_vanishes_is_warned_with_their_own_rhythm_as_evidence():
    state = build(steady_daily_visitor(300))
    last = state.last_active
    levels = {d: assess(state, last + d * DAY) for d in (14, 45)}
    assert levels[14].level == 0
    a = levels[45]
    assert a.level >= 2
    silence = next(s for s in a.firing if s.kind == "silence")
    assert silence.current == pytest.approx(45.0, abs=0.1)
    assert silence.baseline < 2.0       # usually active every day or two
    assert "once in" in silence.detail


def test_a_complaint_alone_does_not_let_competitor_pressure_fire():
    # a rival's promotion in the customer's category and an unanswered complaint: a reason
    # for service recovery, but no sign that the customer is actually leaving
    events = steady_daily_visitor(200) + [complaint(day(195), "k1", "opened", "logistics", "high")]
    events.sort(key=lambda e: e.occurred_at)
    state = build(events)
    now = day(199)
    market = {"home": MarketPressure("home", 0.9, "competitor_promotion", day(190))}
    a = assess(state, now, market=market)
    kinds = {s.kind: s for s in a.signals}
    assert kinds["complaint_increase"].fires
    assert not kinds["competitor_pressure"].fires
    assert a.level == 1
    assert "service_recovery" in [x.action for x in a.actions]


def test_a_lapsed_one_time_buyer_is_warned_with_a_win_back_and_looked_at_weekly_not_daily():
    from detectors.population import DEFAULT_PRIOR
    from detectors.warning import apply, decide, next_due

    s = build([order(day(0), 40.0)])
    quiet = assess(s, day(200), prior=DEFAULT_PRIOR)
    assert quiet.level >= 1 and [x.kind for x in quiet.firing] == ["silence"]
    assert [a.action for a in quiet.actions] == ["win_back"]
    s = apply(s, quiet, decide(s, quiet))
    assert next_due(s, day(200), prior=DEFAULT_PRIOR) == day(207)      # no calendar-drifting signal to follow

    regular = build([login(day(7 * w)) for w in range(20)])
    gone = assess(regular, day(7 * 19 + 40))
    regular = apply(regular, gone, decide(regular, gone))
    assert regular.level in (1, 2)
    assert next_due(regular, day(7 * 19 + 40)) <= day(7 * 19 + 41)     # activity windows move daily


def test_rechecks_of_an_open_warning_stop_once_the_customer_has_been_quiet_past_every_window():
    """A customer gone for good was assessed every week for ever; a replay whose event time
    jumped far ahead (a year typed wrong) assessed each such customer thousands of times on
    the way, a sweep taking minutes for three customers. After `recheck_quiet_days` of quiet
    nothing a recheck follows moves any more (visit, complaint and spend windows are empty),
    so only an event or a crossing time of silence's own is due; the verdicts are unchanged:
    the same warnings on the fourth outside population (docs/quality.md)."""
    from detectors.population import DEFAULT_PRIOR
    from detectors.warning import WarningParams, apply, decide, next_due

    s = build([login(day(7 * w)) for w in range(30)] + [order(day(7 * w + 1), 50.0) for w in range(0, 30, 4)])
    last = day(7 * 29)
    gone = assess(s, last + 300 * DAY, prior=DEFAULT_PRIOR)
    s = apply(s, gone, decide(s, gone))
    assert s.level == 3
    assert next_due(s, last + 300 * DAY, prior=DEFAULT_PRIOR) == last + 307 * DAY      # weekly at critical
    # past 400 days of quiet: nothing calendar-drifting left to follow, nothing further to cross
    assert next_due(s, last + 401 * DAY, prior=DEFAULT_PRIOR) == 0
    later = assess(s, last + 40_000 * DAY, prior=DEFAULT_PRIOR)
    assert (later.level, decide(s, later)) == (3, None)     # what a recheck would have found, a century on
    forever = DetectorParams(warning=WarningParams(recheck_quiet_days=0))
    assert next_due(s, last + 401 * DAY, forever, prior=DEFAULT_PRIOR) == last + 408 * DAY


def test_a_late_order_into_a_full_order_list_moves_the_purchase_frequency_due_time():
    """The purchase-frequency crossing times are kept in the state between orders; a late
    order that lands inside a full list (the oldest one drops out, the newest stays the
    same) changes the customer's rhythm, and the kept times must follow it."""
    from detectors.state import StateParams
    from detectors.warning import next_due

    params = StateParams(max_orders=12)
    # A buyer every 20 days for a year and a half; 12 orders kept.
    s = build(orders_every(20, 0, 600), params=params)
    now = day(581)
    next_due(s, now)                     # computes and keeps the crossing times
    late = build([order(day(570), 100.0)], state=s, params=params)
    assert len(late.orders) == 12 and late.orders[-1][0] == s.orders[-1][0]
    fresh = late.copy()
    fresh.pf_due = []
    assert next_due(late, now) == next_due(fresh, now)


def _silence(strength: float) -> Signal:
    return Signal("silence", strength, 60, 14, "days since last activity", 60, "no activity for 60 days")


def test_loyalty_points_are_suggested_to_a_long_standing_customer_who_still_buys_not_to_one_long_gone():
    from detectors.segment import ValueFigures
    from detectors.state import CustomerState
    from detectors.warning import suggest_actions

    state = CustomerState("c")
    active = ValueFigures("regular", 600.0, 8, 800.0)
    gone = ValueFigures("lapsed", 0.0, 0, 800.0)
    assert [a.action for a in suggest_actions(state, 0, [_silence(0.9)], 2, active)] == ["win_back", "loyalty_points"]
    assert [a.action for a in suggest_actions(state, 0, [_silence(0.9)], 2, gone)] == ["win_back"]
    # a watch is too early for either reward or call
    assert [a.action for a in suggest_actions(state, 0, [_silence(0.55)], 1, active)] == ["win_back"]


def test_fewer_visits_from_a_customer_who_still_orders_call_for_an_offer_not_a_win_back():
    from detectors.segment import ValueFigures
    from detectors.warning import suggest_actions

    fewer = Signal("activity_drop", 0.75, 2, 24, "logins per 56 days", 56, "active on 2 of the last 56 days")
    value = ValueFigures("regular", 600.0, 8, 200.0)
    ordering = build([order(day(100), 80.0)])
    assert [a.action for a in suggest_actions(ordering, day(120), [fewer], 2, value)] == ["targeted_offer"]
    # no order within the signal's 56 days: a win-back, as for silence
    assert [a.action for a in suggest_actions(ordering, day(160), [fewer], 2, value)] == ["win_back"]
    # silence first: the customer is quiet, whatever they ordered
    assert [a.action for a in suggest_actions(ordering, day(120), [_silence(0.8), fewer], 2, value)] == ["win_back"]


def test_a_cleared_warning_shows_where_the_signals_it_carried_stand_now_not_the_strongest_other():
    from detectors.segment import ValueFigures
    from detectors.state import CustomerState
    from detectors.warning import Assessment, Transition, warning_payload

    value = ValueFigures("regular", 600.0, 8, 800.0)
    back = Signal("silence", 0.05, 2, 14, "days since last activity", 2, "no activity for 2 days")
    other = Signal("order_value_drop", 0.45, 145.0, 100.0, "EUR per order", 90, "145% of usual")
    a = Assessment("c", 100 * DAY, 0.1, 0, value, (other, back), ())
    cleared = warning_payload(CustomerState("c"), a, Transition("cleared", 2, "w1"), cleared_kinds=["silence"])
    assert [s["kind"] for s in cleared["signals"]] == ["silence"] and cleared["suggested_actions"] == []
    # with nothing known of what it carried, the strongest signal, as before
    assert [s["kind"] for s in warning_payload(CustomerState("c"), a, Transition("cleared", 2, "w1"))["signals"]] \
        == ["order_value_drop"]


def test_a_warning_keeps_the_activity_habit_from_when_activity_drop_joins_it_until_it_clears():
    from detectors import activity
    from detectors.segment import ValueFigures
    from detectors.warning import Assessment, apply, decide

    s = build([login(day(d)) for d in range(0, 168) if d % 5 in (0, 2)] +
              [login(day(d)) for d in range(173, 225, 10)])
    v = ValueFigures("regular", 0.0, 0, 400.0)
    quiet = Assessment("c", day(224), 0.72, 2, v, (sig("silence", 0.75),), ())
    s = apply(s, quiet, decide(s, quiet))
    assert s.level == 2 and s.habit == []                       # no activity drop in it
    falling = Assessment("c", day(230), 0.9, 3, v, (sig("silence", 0.8), sig("activity_drop", 0.9)), ())
    s = apply(s, falling, decide(s, falling))
    assert s.kinds == ["activity_drop", "silence"]
    assert s.habit == activity.habit(s, day(230)) and s.habit[2] >= activity.ActivityParams().min_baseline_active_days
    calm = Assessment("c", day(300), 0.1, 0, v, (), ())
    assert decide(s, calm) is None        # nothing from the customer since the raise: not recovered
    s = build([login(day(299))], s)
    s = apply(s, calm, decide(s, calm))
    assert s.level == 0 and s.habit == []


def test_a_warning_does_not_clear_while_the_customer_has_sent_nothing_since_it_was_raised():
    """The evidence behind an open warning can fall without news from the customer: a
    small partition's population refit moved a lapsed newcomer's P(alive) from 0.50 to 0.66
    overnight (`make run`, 2024-02-15), which cleared the warning, and it was raised again
    eight days later with nothing in between. Only the customer can show a recovery; their
    next event lets the same evidence clear it."""
    from detectors.segment import ValueFigures
    from detectors.warning import Assessment, apply, decide

    s = build([login(day(d)) for d in (0, 3, 9)])
    v = ValueFigures("new", 0.0, 0, 0.0)
    lapsed = Assessment("c", day(39), 0.74, 2, v, (sig("silence", 0.7),), ())
    s = apply(s, lapsed, decide(s, lapsed))
    assert (s.level, s.episode) == (2, 1)
    for later in (41, 60, 200):
        refit = Assessment("c", day(later), 0.35, 0, v, (sig("silence", 0.3),), ())
        assert decide(s, refit) is None
    back = build([login(day(49))], s)
    step = decide(back, Assessment("c", day(49), 0.35, 0, v, (sig("silence", 0.3),), ()))
    assert step is not None and step.state == "cleared"


def test_a_cleared_complaint_warning_shows_the_complaint_resolved_not_another_signal():
    """Through the worker's processing: an unanswered complaint raises a service-recovery
    watch; once it is resolved and the customer goes on visiting, the warning clears, and the
    cleared step carries the complaint (strength 0, "all resolved"), not whatever other
    signal happens to be strongest then. (A `watch` episode: published here with
    `publish_min_level` watch; by default the topic carries episodes from `warning` on.)"""
    import json
    from datetime import datetime, timedelta, timezone

    from streams.offline import run_offline
    from streams.settings import Settings

    utc = timezone.utc
    t0 = datetime(2024, 1, 1, 9, tzinfo=utc)
    at = lambda d, h=0: (t0 + timedelta(days=d, hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    events = [{"type": "login", "schema_version": 1, "customer_id": "c1", "occurred_at": at(d),
               "channel": "web", "success": True, "event_id": f"l{d}"} for d in range(0, 200, 3)]
    events += [{"type": "order", "schema_version": 1, "customer_id": "c1", "occurred_at": at(d, 1),
                "order_id": f"o{d}", "amount": 80.0, "currency": "EUR", "status": "placed", "items": 1,
                "category": "books", "event_id": f"o{d}"} for d in range(0, 200, 20)]
    events += [{"type": "complaint", "schema_version": 1, "customer_id": "c1", "occurred_at": at(120, 2),
                "complaint_id": "k1", "status": status, "category": "logistics", "severity": "high",
                "event_id": f"k1-{status}"} for status in ("opened",)]
    events += [{"type": "complaint", "schema_version": 1, "customer_id": "c1", "occurred_at": at(123, 2),
                "complaint_id": "k1", "status": "resolved", "category": "logistics", "severity": "high",
                "event_id": "k1-resolved"}]
    events.sort(key=lambda e: e["occurred_at"])
    result = run_offline(Settings(partitions=1, publish_min_level="watch"), [json.dumps(e).encode() for e in events],
                         advance_to=t0 + timedelta(days=200))
    assert result.dead_letters == []
    steps = [(w["state"], [s["kind"] for s in w["signals"]]) for w in result.warnings]
    raised = [w for w in result.warnings if w["state"] == "raised"]
    assert raised and raised[0]["signals"][0]["kind"] == "complaint_increase", steps
    assert raised[0]["occurred_at"] == at(121, 2)        # the 24 h response deadline
    cleared = [w for w in result.warnings if w["state"] == "cleared"]
    assert cleared, steps
    assert [s["kind"] for s in cleared[0]["signals"]] == ["complaint_increase"], steps
    assert "all resolved" in cleared[0]["signals"][0]["detail"] and cleared[0]["signals"][0]["strength"] == 0.0


def test_a_complaint_warning_that_ends_because_the_complaint_went_stale_says_so():
    """A high-severity complaint never answered, the customer ordering every week: the
    warning it raised clears once the complaint has had no update for half a year (taken as
    settled outside the complaint system), and the cleared step shows that complaint, not an
    unrelated signal that happens to be the strongest."""
    import json
    from datetime import datetime, timedelta, timezone

    from streams.offline import run_offline
    from streams.settings import Settings
    from streams.tail import format_warning

    utc = timezone.utc
    t0 = datetime(2023, 6, 1, 10, tzinfo=utc)
    at = lambda d, h=0: (t0 + timedelta(days=d, hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    events = [{"type": "order", "customer_id": "c5", "occurred_at": at(d), "order_id": f"o{d}",
               "amount": 40.0 + (d * 7919 % 41), "currency": "EUR", "event_id": f"o{d}"} for d in range(0, 570, 7)]
    events.append({"type": "complaint", "customer_id": "c5", "occurred_at": at(264), "complaint_id": "k1",
                   "status": "opened", "category": "logistics", "severity": "high", "event_id": "k1"})
    events.sort(key=lambda e: e["occurred_at"])
    result = run_offline(Settings(partitions=1, publish_min_level="watch"), [json.dumps(e).encode() for e in events],
                         advance_to=t0 + timedelta(days=575))
    assert result.dead_letters == []
    steps = [(w["state"], w["occurred_at"], [s["kind"] for s in w["signals"]]) for w in result.warnings]
    assert steps[0][0] == "raised" and steps[0][2] == ["complaint_increase"], steps
    cleared = [w for w in result.warnings if w["state"] == "cleared"]
    assert cleared, steps
    # not before the half year without an update (the customer kept ordering all along)
    assert cleared[0]["occurred_at"] >= at(264 + 180), steps
    assert [s["kind"] for s in cleared[0]["signals"]] == ["complaint_increase"], steps
    assert "taken as settled outside the complaint system" in format_warning(cleared[0])


def test_the_risk_score_of_a_quiet_customer_is_the_gone_probability_not_silences_saturated_strength():
    """Silence at full strength sets the level (critical), but the ranking score stays the
    population's graded gone probability: two customers both 'impossibly' quiet to silence
    still rank by how likely each is to be gone."""
    from detectors import population

    events = [login(day(d, 9)) for d in range(0, 210, 7)] + [order(day(d, 10), 80.0) for d in (30, 120)]
    state = build(sorted(events, key=lambda e: e.occurred_at))
    params = DetectorParams()
    now = state.last_active + 60 * DAY
    a = assess(state, now, params)
    assert [(s.kind, s.strength) for s in a.signals if s.fires] == [("silence", 1.0)]
    assert a.level == 3
    gone = population.gone_probability(state, now, population.DEFAULT_PRIOR, params.population)
    assert 0.5 < gone < 0.99
    assert a.risk_score == round(gone, 6)


@pytest.mark.parametrize("level, kind, kept", [
    (2, "purchase_frequency_drop", True),     # a purchase-frequency warning, published by default
    (3, "purchase_frequency_drop", True),
    (1, "purchase_frequency_drop", False),    # only a `watch`: not a published verdict
    (2, "silence", False),                    # the orders were not its evidence
])
def test_the_order_that_answers_a_purchase_frequency_warning_is_kept_when_it_clears(level, kind, kept):
    from detectors.segment import ValueFigures
    from detectors.state import decode, encode
    from detectors.warning import Assessment, apply, decide

    s = build(orders_every(14, 0, 197) + [login(day(d)) for d in range(0, 240, 2)])
    v = ValueFigures("regular", 0.0, 0, 400.0)
    dry = Assessment("c", day(230), 0.8, level, v, (sig(kind, 0.8),), ())
    s = apply(s, dry, decide(s, dry))
    assert s.answered == 0
    s = build([order(day(252), 80.0), order(day(253), 80.0)], s)   # the answer, and one more
    calm = Assessment("c", day(253), 0.1, 0, v, (), ())
    s = apply(s, calm, decide(s, calm))
    assert s.level == 0
    assert s.answered == (day(252) if kept else 0)
    assert decode(encode(s)).answered == s.answered


def test_an_answered_drought_is_left_out_of_the_alarm_but_still_ranks_the_customer():
    """A fortnightly buyer back from a 56-day drought with one order (day 252), 15 days on:
    the trickle over the drought fires, but that drought's warning was answered by the
    order, so no level; the risk score, which ranks every customer, still weighs it."""
    events = orders_every(14, 0, 197) + [order(day(252), 100.0)] + [login(day(d)) for d in range(0, 268, 2)]
    before = build(events)
    answered = build(events)
    answered.answered = day(252)
    now = day(267)
    a, b = assess(before, now), assess(answered, now)
    assert a.level >= 1 and any(s.kind == "purchase_frequency_drop" and s.fires for s in a.signals)
    assert b.level == 0 and not any(s.fires for s in b.signals)
    assert b.risk_score == a.risk_score > 0.5
