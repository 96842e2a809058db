"""Activity drop: visits, page views and time on site falling against the customer's baseline."""

from __future__ import annotations

import random
import re

import pytest

from builders import DAY, T0, build, day, login, page_view
from detectors.activity import ActivityParams, binomial_cdf, evaluate, habit, next_change
from detectors.state import CustomerState


def state_with(active: dict[int, tuple[int, int, int, int]], first_seen_day: int = 0) -> CustomerState:
    """A state from {day: (logins, views, dwell seconds, bounces)} (days counted from epoch day 0)."""
    days = sorted(active)
    return CustomerState("c", first_seen=first_seen_day * DAY, days=days,
                         logins=[active[d][0] for d in days], views=[active[d][1] for d in days],
                         dwell=[active[d][2] for d in days], bounces=[active[d][3] for d in days])


def logins_on(days):
    return {d: (1, 2, 120, 0) for d in days}


def spread(n: int) -> list[int]:
    """`n` active days spread over the window (days 57..84), the last on day 84: a slower pace,
    not one quiet spell and a return (which `silence` judges, see
    test_a_return_from_one_quiet_spell_is_left_to_silence)."""
    return [84 - round(i * 28 / n) for i in range(n)]


# For states built by `state_with`: evaluated at NOW, the window is days 57..84 and the
# baseline days 1..56 (first_seen at day 0 is exactly twelve weeks before NOW).
NOW = 84 * DAY
BASELINE = range(1, 57)
EVERY_OTHER_DAY = range(1, 57, 2)       # 28 active days: 14 expected per 28 days


def test_fourteen_logins_a_month_falling_to_two_fires_with_logins_in_the_evidence():
    # a login every other day for eight weeks (14 per 28 days), then two in four weeks
    s = build([page_view(day(0))] + [login(day(d)) for d in range(1, 57, 2)] + [login(day(60)), login(day(80))])
    sig = evaluate(s, day(84))
    assert sig.kind == "activity_drop"
    assert sig.fires
    assert sig.unit == "logins per 28 days"
    assert sig.current == 2.0
    assert sig.baseline == 14.0
    assert sig.window_days == 28.0
    assert sig.detail.startswith("active on 2 of the last 28 days, usually 14.0 (P=")
    assert "logins 2 vs 14.0" in sig.detail


def test_page_views_time_on_site_and_bounces_are_reported_alongside():
    base = {d: (1, 4, 600, 0) for d in EVERY_OTHER_DAY}
    now = {66: (1, 6, 30, 5), 84: (0, 4, 20, 4)}
    sig = evaluate(state_with({**base, **now}), NOW)
    assert "page views 10 vs 56.0" in sig.detail
    assert "time on site 1 vs 140 minutes" in sig.detail
    assert "bounce share 90% vs 0% (rising)" in sig.detail


def test_a_rising_bounce_share_sharpens_a_drop():
    base = {d: (1, 4, 600, 0) for d in EVERY_OTHER_DAY}
    plain = evaluate(state_with({**base, 66: (1, 6, 300, 0), 84: (0, 4, 300, 0)}), NOW)
    bouncing = evaluate(state_with({**base, 66: (1, 6, 30, 5), 84: (0, 4, 20, 4)}), NOW)
    assert plain.fires and bouncing.fires
    assert bouncing.strength == pytest.approx(min(1.0, plain.strength + 0.1))


def test_a_rising_bounce_share_alone_never_fires():
    base = {d: (1, 4, 600, 0) for d in EVERY_OTHER_DAY}
    steady_but_bouncy = {d: (1, 4, 20, 4) for d in range(57, 85, 2)}
    sig = evaluate(state_with({**base, **steady_but_bouncy}), NOW)
    assert "(rising)" in sig.detail
    assert not sig.fires


def test_a_steady_visitor_with_random_habits_is_never_flagged():
    rng = random.Random(4)
    events = []
    for d in range(240):
        for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
            events.append(login(day(d, rng.uniform(7, 23))))
            events.append(page_view(day(d, 23.5), dwell_seconds=rng.uniform(5, 300)))
    events.sort(key=lambda e: e.occurred_at)
    s, i, verdicts = None, 0, 0
    for d in range(240):
        while i < len(events) and events[i].occurred_at.timestamp() <= day(d, 23.99):
            s = build([events[i]], s)
            i += 1
        if s is not None:
            sig = evaluate(s, day(d, 23.99))
            assert sig is None or not sig.fires, d
            verdicts += sig is not None
    assert verdicts >= 140     # judged from the twelfth week on, not silent for lack of a verdict


def test_a_quiet_spell_longer_than_the_customers_pace_is_left_to_silence():
    """A daily visitor three weeks into a holiday: 7 active days of the last 28 against 28.
    The quiet beyond their pace is silence's to judge (with everyone's yearly breaks); the
    visits before it show no fall. A visitor fallen to one day in ten keeps its quiet days."""
    away = build([login(day(d)) for d in range(0, 90)])
    sig = evaluate(away, day(111, 23))
    assert sig.window_days == 7.0 and not sig.fires      # days 84..90 judged: 6 active, then quiet
    assert sig.detail.startswith("active on 6 of 7 days before the last 21 quiet ones (silence judges those)")
    fallen = state_with(logins_on(list(range(1, 57)) + [60, 70, 80]))
    sig = evaluate(fallen, at(88))                       # 8 quiet days: within the pace of 10
    assert sig.window_days == 28.0 and sig.fires


def test_a_daily_visitor_away_for_two_weeks_is_not_flagged():
    days = [d for d in range(120) if not 90 <= d < 104]
    s = build([login(day(d)) for d in days])
    for d in range(90, 120):
        assert not evaluate(s, day(d, 23)).fires, d


def test_a_customer_known_for_less_than_twelve_weeks_gets_no_verdict():
    s = build([login(day(d)) for d in range(0, 90)])
    assert evaluate(s, day(83)) is None
    assert evaluate(s, day(84)) is not None


def test_a_customer_without_a_habit_in_the_baseline_gets_no_verdict():
    s = build([login(day(d)) for d in (0, 10, 20, 30, 40)] + [login(day(200))])
    assert evaluate(s, day(90)) is None       # 5 active days in the baseline


@pytest.mark.parametrize("current_days, fires", [
    (12, False),   # ratio 0.43: unusual enough for this test (P = 0.003) but not a big enough fall
    (11, True),    # ratio 0.39
])
def test_the_fall_must_be_big_as_well_as_unusual(current_days, fires):
    loose = ActivityParams(p_fire=0.01)
    s = state_with({**logins_on(BASELINE), **logins_on(spread(current_days))})
    sig = evaluate(s, NOW, loose)
    assert sig.detail.startswith(f"active on {current_days} of the last 28 days, usually 28.0")
    assert sig.fires is fires
    if not fires:
        assert sig.strength == pytest.approx(0.45)


@pytest.mark.parametrize("current_days, fires", [
    (3, False),    # P = 0.0024: within this visitor's noise
    (2, True),     # P = 0.00065
])
def test_the_fall_must_be_unusual_for_this_customer(current_days, fires):
    s = state_with({**logins_on(EVERY_OTHER_DAY), **logins_on(spread(current_days))})
    sig = evaluate(s, NOW)
    assert sig.current <= 0.4 * sig.baseline
    assert sig.fires is fires


def test_a_return_from_one_quiet_spell_is_left_to_silence():
    # a daily visitor away for 27 days (57-83), back at the usual pace from day 84
    away = {**logins_on(BASELINE), **logins_on(range(84, 88))}
    for today in (84, 87):
        sig = evaluate(state_with({d: v for d, v in away.items() if d <= today}), today * DAY + DAY - 1)
        assert not sig.fires, sig.detail
        assert "days of a quiet spell they came back from left to silence" in sig.detail
    # counted whole, the return day reads as a fall: 1 active day of 28 against 28
    whole = evaluate(state_with({d: v for d, v in away.items() if d <= 84}), NOW, ActivityParams(spell_gate=0.0))
    assert whole.fires and whole.strength == 1.0
    # a slower pace is many shorter spells: the rest of the window shows it, judged whole
    slower = evaluate(state_with({**logins_on(BASELINE), **logins_on(spread(4))}), NOW)
    assert slower.fires and "quiet spell" not in slower.detail
    # one spell and a slow return is a fall: 2 visits in the 9 days from the return on
    slow_return = evaluate(state_with({**logins_on(BASELINE), **logins_on((76, 84))}), NOW)
    assert slow_return.fires and "quiet spell" not in slow_return.detail


def test_a_page_view_only_customer_gets_page_views_as_the_measure():
    base = {d: (0, 3, 100, 0) for d in BASELINE}
    sig = evaluate(state_with({**base, 70: (0, 1, 25, 0), 84: (0, 1, 25, 0)}), NOW)
    assert sig.unit == "page views per 28 days"
    assert (sig.current, sig.baseline) == (2.0, 84.0)
    assert sig.fires


def test_binomial_tail_matches_its_definition():
    assert binomial_cdf(0, 3, 0.5) == pytest.approx(0.125)
    assert binomial_cdf(1, 3, 0.5) == pytest.approx(0.5)
    assert binomial_cdf(-1, 3, 0.5) == 0.0


def test_activity_leaves_rechecks_to_the_sweeps():
    s = state_with({**logins_on(EVERY_OTHER_DAY), 70: (1, 1, 10, 0), 84: (1, 1, 10, 0)})
    assert evaluate(s, NOW).fires
    assert next_change(s, NOW) is None


# Twelve active days a month (two in every five days) for 24 weeks, then one every ten days:
# the "10-15 logins a month down to 2-3".
TWELVE_A_MONTH = [d for d in range(0, 168) if d % 5 in (0, 2)]
THREE_A_MONTH_FROM_168 = list(range(173, 400, 10))


def at(d: int) -> int:
    """Epoch seconds of 23:00 on day `d` counted from epoch day 0, as `state_with` counts."""
    return d * DAY + 23 * 3600


def _twelve_then_three(upto_day: int) -> CustomerState:
    return state_with(logins_on(TWELVE_A_MONTH + [d for d in THREE_A_MONTH_FROM_168 if d <= upto_day]))


def test_a_moderate_fall_too_small_for_four_weeks_fires_over_eight():
    # Four weeks into the fall: 3 active days against 11.2 expected, P = 0.015 on the
    # 28-day scale (not unusual enough), and the 56-day window still half in the old habit.
    early = evaluate(_twelve_then_three(196), at(196))
    assert not early.fires
    # Eight weeks in: 6 active days in the last 56 against 22.4 expected from the 112 before.
    s = _twelve_then_three(224)
    sig = evaluate(s, at(224))
    assert sig.fires
    assert sig.unit == "logins per 56 days"
    assert sig.window_days == 56.0
    assert (sig.current, sig.baseline) == (6.0, 22.5)
    assert sig.detail.startswith("active on 6 of the last 56 days, usually 22.5 (P=")
    # The four-week scale alone would still say nothing.
    short_only = evaluate(s, at(224), ActivityParams(long_window_days=0))
    assert not short_only.fires and short_only.window_days == 28.0


def test_the_long_scale_stays_quiet_for_the_same_habit_kept():
    s = state_with(logins_on([d for d in range(0, 400) if d % 5 in (0, 2)]))
    for d in range(168, 400, 7):
        sig = evaluate(s, at(d))
        assert not sig.fires, d
        assert sig.strength < 0.2, d


def test_the_long_scale_needs_twenty_four_weeks_of_history():
    s = _twelve_then_three(224)
    shifted = CustomerState("c", first_seen=60 * DAY, days=[d for d in s.days if d >= 60],
                            logins=[1] * sum(1 for d in s.days if d >= 60),
                            views=[2] * sum(1 for d in s.days if d >= 60),
                            dwell=[120] * sum(1 for d in s.days if d >= 60),
                            bounces=[0] * sum(1 for d in s.days if d >= 60))
    sig = evaluate(shifted, at(224))   # known for 164 days: only the 28-day scale judges
    assert sig.window_days == 28.0
    assert not sig.fires


def _warned(s: CustomerState, raised_day: int) -> CustomerState:
    s.level, s.kinds, s.raised_at = 1, ["activity_drop"], at(raised_day)
    s.last_event = max(s.last_event, at(max(s.days)))
    return s


# The tests of the hold judge the windows an open warning is held on, without the span since
# the fall began (`lasting_min_days`, tested below), which months later is the stronger.
HELD_ONLY = ActivityParams(lasting_min_days=0)


def test_an_open_warning_is_held_against_the_habit_before_it_and_does_not_clear_while_the_customer_stays_low():
    # Raised on day 224 (eight weeks into three a month); by day 250 the sliding baseline
    # holds the lower weeks too and the fall no longer looks unusual against it.
    sliding = evaluate(_twelve_then_three(250), at(250))
    assert not sliding.fires
    held = evaluate(_warned(_twelve_then_three(250), 224), at(250))
    assert held.fires
    assert "before the warning" in held.detail and held.current <= 0.4 * held.baseline


def test_an_open_warning_clears_once_the_customer_is_back_to_their_habit():
    back = TWELVE_A_MONTH + [d for d in THREE_A_MONTH_FROM_168 if d <= 230] + [
        d for d in range(231, 262) if d % 5 in (0, 2)]
    sig = evaluate(_warned(state_with(logins_on(back)), 224), at(261))
    assert not sig.fires


def test_an_open_warning_is_held_against_the_kept_habit_after_the_buckets_have_forgotten_it():
    # Raised on day 224; seven months later the 26 weeks of buckets start on day 211, after
    # the habit of twelve a month. The habit kept at the raise still holds the warning open.
    raised = _twelve_then_three(224)
    kept = habit(raised, at(224))
    assert kept[:3] == [57, 169, 45]        # the 112 days before the eight-week window: 45 active days
    forgotten = _warned(_twelve_then_three(399), 224)
    assert not evaluate(forgotten, at(399)).fires      # without it, the buckets' lower weeks are the baseline
    forgotten.habit = kept
    sig = evaluate(forgotten, at(399), HELD_ONLY)
    assert sig.fires
    assert "before the warning" in sig.detail
    assert sig.baseline == pytest.approx(45 * 56 / 112)     # logins per 56 days before the warning


def test_a_kept_habit_clears_the_warning_once_the_customer_is_back_to_it():
    back = TWELVE_A_MONTH + [d for d in THREE_A_MONTH_FROM_168 if d <= 340] + [
        d for d in range(341, 400) if d % 5 in (0, 2)]
    s = _warned(state_with(logins_on(back)), 224)
    s.habit = habit(_twelve_then_three(224), at(224))
    assert not evaluate(s, at(399)).fires


def test_an_open_warning_holds_while_the_fall_is_still_there_though_it_is_less_unusual_than_to_raise():
    # After the raise (day 224), one visit a week: 4 active days in the last 28 against 11.0
    # before the warning (P = 0.04), 8 in 56 against 22.5 (P = 0.002): neither within its
    # raising budget, both about a third of the habit: the warning stays open. Back to
    # two-thirds of the habit, it clears.
    later = TWELVE_A_MONTH + [d for d in THREE_A_MONTH_FROM_168 if d <= 224]
    weekly = _warned(state_with(logins_on(later + list(range(231, 400, 7)))), 224)
    weekly.habit = habit(_twelve_then_three(224), at(224))
    sig = evaluate(weekly, at(399), HELD_ONLY)
    assert sig.fires and sig.strength == 0.5
    assert sig.detail.startswith("active on 4 of the last 28 days, before the warning 11.0 (P=0.036)")
    # on the raising budget alone
    assert not evaluate(weekly, at(399), ActivityParams(hold_p=0.0, lasting_min_days=0)).fires
    most = _warned(state_with(logins_on(later + [d for d in range(231, 400) if d % 4 == 0])), 224)
    most.habit = weekly.habit
    assert not evaluate(most, at(399)).fires


def test_an_open_warning_holds_through_a_quiet_spell_after_the_fall_without_escalating():
    # Weekly visits after the raise, then four weeks of quiet: raising leaves a quiet spell
    # beyond the pace to silence, and judges only the window's first day (nothing unusual
    # there); holding counts the quiet days (0 of 28 against 11.0 before the warning).
    later = TWELVE_A_MONTH + [d for d in THREE_A_MONTH_FROM_168 if d <= 224] + list(range(231, 372, 7))
    s = _warned(state_with(logins_on(later)), 224)
    s.habit = habit(_twelve_then_three(224), at(224))
    sig = evaluate(s, at(399), HELD_ONLY)
    assert sig.fires and sig.strength == 0.5
    assert sig.detail.startswith("active on 0 of the last 28 days, before the warning 11.0")
    assert not evaluate(s, at(399), ActivityParams(hold_p=0.0, lasting_min_days=0)).fires
    # Over the months since the fall, the quiet spell is still left to silence: the span
    # judged ends where the weekly pace no longer explains the quiet.
    lasting = evaluate(s, at(399))
    assert "days before the last 21 quiet ones (silence judges those), before the warning" in lasting.detail


def test_a_fall_that_lasts_is_judged_over_the_whole_span_since_it_began():
    # Twelve active days a month, then three from day 168; warned on day 224 (eight weeks in),
    # the habit kept then ends on day 169. Eight weeks against the habit say no more after
    # four months of the lower pace than after two; the 131 days since the fall began do.
    s = _warned(_twelve_then_three(299), 224)
    s.habit = habit(_twelve_then_three(224), at(224))
    eight_weeks = evaluate(s, at(299), HELD_ONLY)
    sig = evaluate(s, at(299))
    assert eight_weeks.window_days == 56.0 and eight_weeks.strength < 0.78     # under `warning` alone
    assert sig.window_days == 131.0
    assert sig.detail.startswith("active on 13 of the last 131 days, before the warning 52.6 (P=")
    assert sig.strength >= 0.78                 # x 0.9: `warning` on this signal alone
    assert sig.strength > eight_weeks.strength


def test_the_span_since_the_fall_waits_four_weeks_beyond_the_eight_week_window():
    # 83 days after the habit ends the span adds too little to what the sliding and held
    # eight-week windows weigh: it is not judged, and the eight weeks speak.
    s = _warned(_twelve_then_three(251), 224)
    s.habit = habit(_twelve_then_three(224), at(224))
    assert evaluate(s, at(251)) == evaluate(s, at(251), HELD_ONLY)


def test_a_customer_back_at_their_habit_is_not_escalated_by_the_months_they_were_low():
    # One active day a month for four months after the habit, then back to twelve a month
    # for the last eight weeks: over the 26 weeks of buckets kept the span since the fall is
    # still about a third of the habit (26 active days against 73 expected, P = 1.4e-5, which
    # would fire), but what they do now is the habit: it clears.
    low = [d for d in range(169, 343, 30)]
    back = TWELVE_A_MONTH + low + [d for d in range(344, 400) if d % 5 in (0, 2)]
    s = _warned(state_with(logins_on(back)), 224)
    s.habit = habit(_twelve_then_three(224), at(224))
    assert not evaluate(s, at(399)).fires


def _bursty_visits(seed: int) -> list[int]:
    """Twenty days of visits every other day, starting at irregular intervals (gamma, mean
    55 days), a visit a fortnight or so between them: a steady customer whose visits come
    in clumps."""
    rng = random.Random(seed)
    bursts, t = set(), rng.uniform(0, 55)
    while t < 520:
        bursts.update(range(int(t), int(t) + 20))
        t += rng.gammavariate(1.2, 55 / 1.2)
    return [d for d in range(520) if rng.random() < (0.5 if d in bursts else 0.05)]


def test_a_visitor_whose_visits_come_in_clumps_is_not_flagged_in_every_lull():
    """Counted as independent days, the lull after a burst is a fall (a dozen active days
    in the baseline, one in the window); weighed by how clumped this customer's weeks have
    been, it is their habit."""
    plain = ActivityParams(dispersion_min_weeks=0)
    fired = {"plain": 0, "weighed": 0}
    for seed in range(4):
        s = state_with(logins_on(_bursty_visits(seed)))
        for d in range(200, 520):
            for name, params in (("plain", plain), ("weighed", ActivityParams())):
                sig = evaluate(s, at(d), params)
                fired[name] += sig is not None and sig.fires
    assert fired["plain"] >= 60                     # firing days over four such customers' year
    assert fired["weighed"] <= fired["plain"] // 2


def test_a_clumped_visitors_evidence_says_its_p_is_weighed_for_the_clumps():
    s = state_with(logins_on(_bursty_visits(0)))
    details = [sig.detail for d in range(200, 520) if (sig := evaluate(s, at(d))) is not None]
    assert any(", visits clumped x" in d for d in details)
    steady = state_with(logins_on([d for d in range(0, 400) if d % 5 in (0, 2)]))
    assert ", visits clumped" not in evaluate(steady, at(399)).detail


# ---------------------------------------------------------------------- the depth of visits


def _fall_with_minutes(before_minutes: float, after_minutes: float, seed: int = 3) -> CustomerState:
    """Every other day for eight weeks with page views, then four visit days in four weeks
    (14 -> 4: a fall the day count alone judges at P ~ 0.005, short of the alarm);
    each visit day's time on site varies around the given minutes."""
    rng = random.Random(seed)

    def minutes(m: float) -> int:
        return int(60 * m * rng.lognormvariate(0, 0.3))

    active = {d: (1, 3, minutes(before_minutes), 0) for d in EVERY_OTHER_DAY}
    active.update({d: (1, 2, minutes(after_minutes), 0) for d in (60, 67, 74, 81)})
    return state_with(active)


def test_shorter_visits_beside_fewer_ones_make_the_alarm_that_fewer_alone_does_not():
    same = evaluate(_fall_with_minutes(8, 8), NOW)
    shorter = evaluate(_fall_with_minutes(8, 1.5), NOW)

    assert not same.fires and "visits shorter" not in same.detail
    assert shorter.fires
    found = re.search(r"with visits shorter: ([\d.]+) vs ([\d.]+) minutes a day on the site, P=", shorter.detail)
    assert found and float(found[1]) < 2.5 and float(found[2]) > 6, shorter.detail


def test_shorter_visits_alone_never_fire_and_longer_ones_never_count():
    # the same minutes fall without fewer visit days: not an activity drop
    active = {d: (1, 3, 480, 0) for d in EVERY_OTHER_DAY}
    active.update({d: (1, 3, 60, 0) for d in range(57, 85, 2)})
    assert not evaluate(state_with(active), NOW).fires
    longer = evaluate(_fall_with_minutes(2, 10), NOW)
    assert not longer.fires and "visits shorter" not in longer.detail


def test_without_the_depth_gate_the_day_count_judges_alone():
    off = ActivityParams(depth_gate=0.0)
    assert not evaluate(_fall_with_minutes(8, 1.5), NOW, off).fires


def test_a_bursty_visitors_watch_is_not_escalated_by_the_lull_it_was_raised_on(monkeypatch):
    """A visitor whose days come in bursts (an outside-population stayer: bursts of daily
    visits, weeks of lull between; alone here, so the shop's core customer) is raised at
    `watch` in a lull, the days weighed for their clumping, and at `warning` the next day as
    the lull goes on. The warning's tests against the habit before it weigh the days alike:
    read unweighed, the same lull made it `critical` the next day."""
    import gzip
    from datetime import datetime, timezone
    from pathlib import Path

    import detectors.activity as activity
    from streams.offline import run_offline
    from streams.settings import Settings

    lines = gzip.decompress((Path(__file__).parents[1] / "fixtures" / "bursty-visitor.jsonl.gz").read_bytes())
    end = datetime(2023, 7, 31, tzinfo=timezone.utc)

    def levels(published="watch"):
        result = run_offline(Settings(partitions=1, publish_min_level=published), lines.splitlines(), advance_to=end)
        return [(w["occurred_at"][:10], w["state"], w["level"]) for w in result.warnings]

    assert levels() == [("2023-06-22", "raised", "watch"), ("2023-06-23", "escalated", "warning"),
                        ("2023-07-11", "cleared", "warning")]
    # What the warnings topic carries by default: the episode from the day it reached `warning`.
    assert levels("warning") == [("2023-06-23", "raised", "warning"), ("2023-07-11", "cleared", "warning")]
    held = activity._held
    monkeypatch.setattr(activity, "_held", lambda *a, **kw: held(*a[:8]))   # the hold unweighed, as before
    assert ("2023-06-23", "escalated", "critical") in levels()


# --------------------------------------------------------------------------- last year's same weeks

def _yearly(rate_on_day, years: int = 2, seed: int = 3) -> list[tuple[int, CustomerState]]:
    """A login on each day with probability rate_on_day(day of the year), over `years` years of
    364 days from T0; the state at the end of every day."""
    rng = random.Random(seed)
    state, states = None, []
    for d in range(364 * years):
        if rng.random() < rate_on_day(d % 364):
            state = build([login(day(d))], state)
        if state is not None:
            states.append((d, state))
    return states


def _first_firing(states, first_day: int, last_day: int):
    for d, s in states:
        if first_day <= d <= last_day:
            sig = evaluate(s, day(d, 23.5))
            if sig is not None and sig.fires:
                return d, sig
    return None


def _student(d: int) -> float:
    return 0.05 if 182 <= d < 245 else 0.6      # quiet every July and August, busy the rest of the year


def test_a_fall_in_the_same_weeks_as_last_year_is_judged_against_them_and_does_not_fire_again():
    states = _yearly(_student)
    first = _first_firing(states, 182, 260)
    assert first is not None, "the first summer has no year before it: a fall like any other"
    assert _first_firing(states, 364 + 182, 364 + 260) is None
    # on the days the fall would have fired, the evidence names last year's weeks
    named = [sig.detail for d, s in states if 364 + 182 <= d <= 364 + 260
             for sig in [evaluate(s, day(d, 23.5))] if sig is not None and "the same weeks a year ago too" in sig.detail]
    assert named, "no day judged against last year's weeks"
    assert re.search(r"a year ago too: \d+\.\d then, \d+\.\d before them", named[0]), named[0]


def test_a_fall_without_a_dip_a_year_earlier_fires_as_before():
    # busy all year, then the second summer quiet: last year's same weeks were no dip
    rng, state = random.Random(4), _yearly(lambda d: 0.6, years=1)[-1][1]
    second = []
    for d in range(364, 364 + 300):
        if rng.random() < (0.05 if d >= 364 + 182 else 0.6):
            state = build([login(day(d))], state)
        second.append((d, state))
    fired = _first_firing(second, 364 + 182, 364 + 300)
    assert fired is not None
    assert "the same weeks a year ago" not in fired[1].detail


def _two_summers(last_summer: float, this_summer: float) -> list:
    """(day, state) of a visitor active 90 % of days, and at these rates in two summers."""
    rng, state, states = random.Random(5), None, []
    for d in range(364 + 300):
        summer = 182 <= d % 364 < 245
        rate = (last_summer if d < 364 else this_summer) if summer else 0.9
        if rng.random() < rate:
            state = build([login(day(d))], state)
        if state is not None:
            states.append((d, state))
    return states


def test_a_fall_deeper_than_last_years_still_fires():
    # last summer a dip to a third, this summer nothing but a visit or two
    states = _two_summers(0.3, 0.03)
    # last summer was a dip (the season's test applies), this one is far deeper: it fires
    # within the summer, on 8 active days of 56 where last summer had about 17
    fired = _first_firing(states, 364 + 182, 364 + 245)
    assert fired is not None, "a fall deeper than last year's dip was taken for the season"


def test_a_mild_dip_a_year_ago_is_no_season_to_excuse_a_real_fall():
    """Last summer a dip to about 0.6 of the usual visits: unusual (P under 0.05) but not a
    fall that would fire (at most 0.4 of the weeks before), so not the customer's season.
    This summer's fall to almost nothing is judged against the spring before it alone."""
    states = _two_summers(0.55, 0.05)
    fired = _first_firing(states, 364 + 182, 364 + 245)
    assert fired is not None
    held = [d for d, s in states if 364 + 182 <= d <= 364 + 245
            for sig in [evaluate(s, day(d, 23.5))] if sig is not None and "a year ago" in sig.detail]
    assert held == [], f"judged against last year's mild dip on days {held}"


def test_seasons_count_the_active_days_of_each_block_and_survive_an_encode():
    from detectors.state import decode, encode, season_days
    states = _yearly(_student)
    s = states[-1][1]
    last = s.days[-1]
    # the buckets hold the last 26 weeks: the blocks agree with them there
    recent = [d for d in s.days if d // 28 == last // 28 - 2]
    assert season_days(s, (last // 28 - 2) * 28, (last // 28 - 1) * 28) == len(recent)
    # at the start of the second summer, a year back, beyond the buckets: the first summer's
    # few visits against the busy spring before it
    s = next(s for d, s in states if d == 364 + 182)
    t0_day = T0 // DAY
    summer = season_days(s, t0_day + 182 + 28, t0_day + 182 + 56)
    spring = season_days(s, t0_day + 182 - 56, t0_day + 182 - 28)
    assert summer is not None and spring is not None
    assert summer < 5 < 10 < spring
    assert decode(encode(s)).seasons == s.seasons
