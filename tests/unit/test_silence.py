"""Silence: quiet far beyond the customer's own rhythm, seen by moving event time forward."""

from __future__ import annotations

import math
import random

import pytest

from builders import DAY, build, day, login, order, page_view
from detectors.silence import evaluate, false_alarm_rate, next_change, purchase_log, rhythm, threshold_days
from detectors.state import CustomerState


def weekly_visitor(weeks: int = 20):
    return build([login(day(7 * w)) for w in range(weeks)])


def test_a_weekly_visitor_silent_for_a_month_raises_silence_with_evidence():
    s = weekly_visitor()
    last = day(7 * 19)
    sig = evaluate(s, last + 30 * DAY)
    assert sig.fires
    assert sig.kind == "silence"
    assert (sig.current, sig.baseline) == (30.0, 7.0)
    assert sig.unit == "days since last activity"
    assert "no activity for 30 days" in sig.detail


def test_a_weekly_visitor_quiet_for_ten_days_is_not_silent():
    s = weekly_visitor()
    ten, twenty = evaluate(s, day(7 * 19) + 10 * DAY), evaluate(s, day(7 * 19) + 20 * DAY)
    assert not ten.fires and not twenty.fires
    assert ten.strength < twenty.strength < 0.5     # the evidence grows with the quiet


def test_a_daily_visitor_back_from_a_ten_day_holiday_never_looked_silent():
    days = [d for d in range(60) if not 30 <= d < 40]
    s, verdicts = None, 0
    for d in range(60):
        if d in days:
            s = build([login(day(d))], s)
        sig = evaluate(s, day(d, 23.9)) if s else None
        assert sig is None or not sig.fires, d
        verdicts += sig is not None
    assert verdicts >= 50      # judged through the holiday, not silent for lack of a verdict


def test_a_seasonal_visitor_with_regular_month_long_breaks_is_not_silent_during_a_break():
    # a burst of visits every 30 days (e.g. pay-day shopping), for a year
    events = [login(day(30 * m + k)) for m in range(12) for k in (0, 1, 2)]
    s = build(events)
    last = day(30 * 11 + 2)
    assert not evaluate(s, last + 45 * DAY).fires
    # bursty gaps (1, 1, 28 days) give a heavy predictive tail: three missed pay-days
    assert evaluate(s, last + 100 * DAY).fires


def test_a_customer_back_from_last_years_off_season_is_not_silent_in_this_one_until_it_runs_longer():
    """Active most days from April to September, quiet from October to March, for two years:
    silence judges the last 32 gaps (a few weeks of daily visits), so the off-season read as
    the silence of a daily visitor within a month. A quiet spell no longer than one the
    customer came back from within the last year and a month, and stayed back after, is
    theirs; a little longer is weighed against it (a break of their own), and once last
    year's spell no longer weighs on it (it left the memory, and the quiet that began while
    it was remembered is half as long again as it), the quiet is judged by their rhythm again."""
    def season(year):
        start = 365 * year
        return [login(day(start + d)) for d in range(0, 183) if d % 7 != 3]

    s = build(season(0) + season(1))
    last = day(365 + 182)
    assert s.returned[:2] == [183, day(365) // DAY]        # last winter, remembered (the longest first)
    for quiet in (30, 90, 150, 180):
        sig = evaluate(s, last + quiet * DAY)
        assert not sig.fires, quiet
    assert "came back from 183 quiet days" in evaluate(s, last + 90 * DAY).detail
    longer = evaluate(s, last + 190 * DAY)                 # a week longer than last year's
    assert not longer.fires
    assert "counting a break of theirs: they came back from 183 quiet days" in longer.detail
    assert (s.returned[1] + 401) * DAY < last + 274 * DAY   # last winter left the memory after 219 days
    leaves = last + math.ceil(1.5 * 183 * DAY)             # but weighs on this quiet to 1.5 times its length
    assert next_change(s, last + 90 * DAY) == leaves
    assert not evaluate(s, leaves - 1).fires
    assert evaluate(s, leaves).fires                       # 275 days: judged by their rhythm again
    # the first year alone (nothing to come back from yet): silent within a month
    first = build(season(0))
    assert evaluate(first, day(182) + 30 * DAY).fires


def test_a_new_customer_without_a_rhythm_gets_no_verdict():
    s = build([login(day(0)), login(day(3)), login(day(9))])
    assert evaluate(s, day(200)) is None
    assert next_change(s, day(9)) is None
    assert evaluate(CustomerState("never-active"), day(0)) is None


@pytest.mark.parametrize("offset_days, fires", [
    (-0.01, False),   # just inside the threshold
    (0.0, True),
    (20.0, True),
])
def test_silence_fires_exactly_at_its_threshold(offset_days, fires):
    s = CustomerState("c", last_active=100 * DAY, gaps=[7] * 10)
    thr = threshold_days(s)
    assert 20 < thr < 35      # three to five weekly visits missed
    assert evaluate(s, 100 * DAY + math.ceil((thr + offset_days) * DAY)).fires is fires


@pytest.mark.parametrize("quiet_days", [13.9, 13.99])
def test_under_two_weeks_of_quiet_never_fires_even_for_a_daily_visitor(quiet_days):
    s = CustomerState("c", last_active=100 * DAY, gaps=[1] * 32)
    assert threshold_days(s) >= 14.0
    assert not evaluate(s, 100 * DAY + int(quiet_days * DAY)).fires


def test_a_thin_history_needs_more_silence_than_a_long_one():
    thin = CustomerState("c", last_active=1, gaps=[7] * 4)
    long = CustomerState("c", last_active=1, gaps=[7] * 30)
    assert threshold_days(thin) > threshold_days(long)


def test_a_bursty_visitor_needs_more_silence_than_a_regular_one_with_the_same_mean():
    regular = CustomerState("c", last_active=1, gaps=[6] * 30)
    bursty = CustomerState("c", last_active=1, gaps=[1, 1, 16] * 10)
    assert threshold_days(bursty) > threshold_days(regular) + 10


def test_a_daily_visitor_away_on_a_three_week_holiday_gets_no_warning():
    # a warning needs silence strength 0.7 on its own (detectors.warning): a holiday of
    # three weeks is the break every customer takes, not churn
    s = CustomerState("c", last_active=100 * DAY, gaps=[1] * 32)
    holiday = evaluate(s, 121 * DAY)
    assert holiday.strength < 0.7
    assert evaluate(s, 150 * DAY).strength >= 0.7      # a month and more is not a holiday


def test_a_thin_history_is_shrunk_toward_the_population_rhythm():
    # five gaps of a day do not prove that a customer is never away for three weeks
    thin = CustomerState("c", last_active=100 * DAY, gaps=[1] * 4)
    assert not evaluate(thin, 118 * DAY).fires


def test_the_false_alarm_budget_is_per_month_in_proportion_to_the_mean_gap():
    # At its threshold a customer looks this quiet once in 100 months times (10 days / their
    # mean gap): one more day of waiting saves the same false alarms for everyone (module
    # docstring). A bimonthly buyer's budget is capped at three times the reference.
    daily = CustomerState("c", last_active=1, gaps=[1] * 30)
    weekly = CustomerState("c", last_active=1, gaps=[7] * 30)
    ten = CustomerState("c", last_active=1, gaps=[10] * 30)
    bimonthly = CustomerState("c", last_active=1, gaps=[60] * 30)
    budgets = {}
    for name, s in (("daily", daily), ("weekly", weekly), ("ten", ten), ("bimonthly", bimonthly)):
        budgets[name] = false_alarm_rate(rhythm(s), threshold_days(s))
    assert budgets["ten"] == pytest.approx(0.01 * (300 + 30) / 31 / 10, rel=1e-3)
    assert budgets["weekly"] == pytest.approx(0.01 * (210 + 30) / 31 / 10, rel=1e-3)
    assert budgets["daily"] == pytest.approx(0.01 * (30 + 30) / 31 / 10, rel=1e-3)
    assert budgets["bimonthly"] == pytest.approx(0.03, rel=1e-3)
    assert threshold_days(bimonthly) > 3 * threshold_days(weekly)


def test_next_change_is_exactly_when_each_strength_level_is_reached():
    rng = random.Random(5)
    for _ in range(200):
        gaps = [rng.randint(1, 40) for _ in range(rng.randint(4, 32))]
        s = CustomerState("c", last_active=1_700_000_000 + rng.randint(0, DAY), gaps=gaps)
        now = s.last_active
        for level in (0.5, 0.7, 0.85, 1.0):
            t = next_change(s, now)
            assert evaluate(s, t).strength >= level - 1e-9
            assert evaluate(s, t - 2).strength < level   # to the second (ceil may add one)
            now = t
        assert next_change(s, now) is None


def test_coming_back_clears_silence():
    s = weekly_visitor()
    quiet = day(7 * 19) + 40 * DAY
    assert evaluate(s, quiet).fires
    back = build([page_view(quiet)], s)
    assert evaluate(back, quiet).strength == 0.0


# ---------------------------------------------------------------- short histories: the population's rhythm

from detectors.population import DEFAULT_PRIOR, YOUNG_PRIOR, Prior, p_alive  # noqa: E402

ALIKE = Prior(r=3.0, alpha=27.0)          # customers active every 9 days on average, rates alike


def test_without_a_population_a_short_history_gets_no_verdict_and_with_one_it_does():
    s = build([login(day(0))])
    assert evaluate(s, day(300)) is None
    sig = evaluate(s, day(300), prior=ALIKE)
    assert sig.fires and sig.kind == "silence"
    assert (sig.current, sig.baseline) == (300.0, 9.0)
    assert "after 1 active day" in sig.detail and "are still customers" in sig.detail


def test_a_shop_not_yet_observed_for_the_horizon_judges_no_one_gone():
    # the stand-in of a partition whose customers have been seen for under 180 days: the
    # published fit's rhythm, but no verdict of "more likely gone than not"
    s = build([login(day(0))])
    assert evaluate(s, day(150), prior=DEFAULT_PRIOR).fires
    young = evaluate(s, day(150), prior=YOUNG_PRIOR)
    assert not young.fires and "are still customers" not in young.detail
    assert next_change(s, day(0), prior=YOUNG_PRIOR) is None
    # a customer with a rhythm of their own is still judged by it
    regular = build([login(day(d)) for d in range(0, 60, 3)])
    assert evaluate(regular, day(90), prior=YOUNG_PRIOR).fires


def test_a_first_time_customer_is_judged_later_where_customers_differ_more():
    s = build([login(day(0))])
    alike, spread = threshold_days(s, prior=ALIKE), threshold_days(s, prior=DEFAULT_PRIOR)
    assert 20 < alike < 60                  # rates alike: a month of quiet is already telling
    assert 2 * alike < spread < 365         # CDNOW-like spread of rates: months later, not never
    assert next_change(s, day(0), prior=ALIKE) == day(0) + math.ceil(alike * DAY)
    assert next_change(s, day(0), prior=DEFAULT_PRIOR) == day(0) + math.ceil(spread * DAY)


def test_a_lapsed_one_time_buyer_fires_once_more_likely_gone_than_not_and_escalates_with_the_quiet():
    s = build([login(day(0))])
    t = threshold_days(s, prior=DEFAULT_PRIOR)
    assert p_alive(0, 0.0, t - 1, DEFAULT_PRIOR) > 0.5 >= p_alive(0, 0.0, t + 1, DEFAULT_PRIOR)
    before, after = evaluate(s, day(t - 1), prior=DEFAULT_PRIOR), evaluate(s, day(t + 1), prior=DEFAULT_PRIOR)
    assert not before.fires and after.fires
    # more likely gone than not is a verdict, not an early sign: `warning` when it first
    # fires, `critical` once nine in ten such customers are gone
    assert 0.7 <= after.strength < 0.85
    late = next(d for d in range(int(t), 3000) if p_alive(0, 0.0, d, DEFAULT_PRIOR) <= 0.1)
    assert evaluate(s, day(late - 2), prior=DEFAULT_PRIOR).strength < 0.85 <= evaluate(s, day(late + 1), prior=DEFAULT_PRIOR).strength
    assert "about 50 % are still customers" in after.detail


def pareto_nbd_customer(rng: random.Random, prior: Prior, horizon: float) -> tuple[float, set[int]]:
    """A customer of a Pareto/NBD population (rates gamma(r, alpha), lifetimes exponential
    with rates gamma(s, beta)): their lifetime and their active days up to `horizon`."""
    lam = rng.gammavariate(prior.r, 1.0 / prior.alpha)
    life = rng.expovariate(rng.gammavariate(prior.s, 1.0 / prior.beta))
    days, t = {0}, 0.0
    while True:
        t += rng.expovariate(lam)
        if t > min(life, horizon):
            return life, days
        days.add(int(t))


def test_the_population_verdict_on_short_histories_is_calibrated():
    # Customers drawn from a Pareto/NBD population (rates gamma(r, alpha), lifetimes
    # exponential with rates gamma(s, beta)), observed 150 days after their first activity.
    # Of those with fewer than four repeat days on whom silence fires, at most half are
    # still customers; of those on whom it does not fire, most are.
    prior = Prior(r=1.2, alpha=40.0, s=0.8, beta=150.0)
    rng = random.Random(5)
    horizon = 150
    fired, fired_alive, calm, calm_alive = 0, 0, 0, 0
    for _ in range(6000):
        life, days = pareto_nbd_customer(rng, prior, horizon)
        if len(days) > 4:
            continue
        active = sorted(days)
        state = CustomerState("c", last_active=day(active[-1]),
                              gaps=[b - a for a, b in zip(active, active[1:])])
        alive = life > horizon
        if evaluate(state, day(horizon), prior=prior).fires:
            fired, fired_alive = fired + 1, fired_alive + alive
        else:
            calm, calm_alive = calm + 1, calm_alive + alive
    assert fired > 500 and calm > 500
    assert fired_alive / fired < 0.5 < calm_alive / calm


def test_a_few_more_visits_bring_the_verdict_forward_and_four_gaps_use_the_own_rhythm():
    few = [threshold_days(build([login(day(3 * k)) for k in range(n + 1)]), prior=ALIKE) for n in (0, 1, 2, 3)]
    assert all(a > b for a, b in zip(few, few[1:]))
    own = build([login(day(3 * k)) for k in range(5)])
    assert threshold_days(own, prior=ALIKE) == threshold_days(own)




def test_last_years_holiday_is_remembered_after_an_older_longer_spell_has_left_the_memory():
    """A daily visitor away 60 days in their first year and 30 days the next: once the 60
    days are more than `return_memory_days` (400) ago, the 30 days are what they came back
    from. Kept as a single longest spell, it was lost then (replaced by the next one-day gap),
    and this year's holiday read as a daily visitor's silence after 30 days."""
    away = set(range(100, 160)) | set(range(420, 450))
    s = build([login(day(d)) for d in range(0, 780) if d not in away])
    assert s.returned[:2] == [31, day(450) // DAY]   # from day 419 to day 450; the 61 days are gone
    last = day(779)
    for quiet in (20, 26, 30):
        sig = evaluate(s, last + quiet * DAY)
        assert not sig.fires, quiet
        assert "came back from 31 quiet days" in sig.detail
    forgotten = CustomerState(**{**s.__dict__, "returned": []})
    assert evaluate(forgotten, last + 30 * DAY).fires


def test_a_quiet_a_little_longer_than_their_own_break_is_weighed_against_it():
    """The 31 days they came back from were beyond a daily visitor's alarm: a break of
    their own. This year's quiet is weighed against breaks of that length (log-normal around
    it, `break_log_sd`), so 40 days are not alarming; it fires once the quiet is far longer
    than their break, at the time `next_change` gives."""
    from detectors.silence import own_break
    away = set(range(100, 160)) | set(range(420, 450))
    s = build([login(day(d)) for d in range(0, 780) if d not in away])
    last = day(779)
    assert own_break(s, last + DAY)[:2] == (31, day(450) // DAY)
    sig = evaluate(s, last + 40 * DAY)
    assert not sig.fires
    assert "counting a break of theirs: they came back from 31 quiet days" in sig.detail
    t = next_change(s, last + 40 * DAY)
    assert not evaluate(s, t - 1).fires and evaluate(s, t).fires
    assert 60 * DAY < t - last < 100 * DAY          # about 2.5 times their break, for a daily visitor
    # a spell within their usual alarm is not a break of theirs: a weekly visitor's 12 days
    weekly = build([login(day(d)) for d in range(0, 400, 7)] + [login(day(d)) for d in range(405, 800, 7)])
    assert own_break(weekly, day(800)) is None


# ---------------------------------------------------------------- purchase logs: the shop's verdict too

LOYAL_SHOP = Prior(r=2.6, alpha=24.0, s=14.6, beta=18_669.0)    # few leave: a lifetime of years
CLUMPED = (0, 1, 2, 3, 33, 34, 35, 65)     # purchases in clusters a month apart: a heavy-tailed rhythm


def purchases(days):
    return build([order(day(d), 40.0) for d in days])


def test_in_a_shop_most_of_whose_customers_leave_a_purchase_log_gets_the_shops_verdict_beside_its_rhythm():
    # by their own clumped rhythm 120 quiet days are not yet unusual; among CDNOW-like
    # customers, who mostly leave within months, fewer than one in ten with such a purchase
    # history are still customers after such a quiet (Pareto/NBD, the published model of
    # purchase logs)
    s = purchases(CLUMPED)
    assert purchase_log(s)
    now = day(65 + 120)
    own = evaluate(s, now)
    assert own.strength < 0.5
    assert p_alive(7, 65.0, 120.0, DEFAULT_PRIOR) < 0.1
    shop = evaluate(s, now, prior=DEFAULT_PRIOR)
    assert 0.7 <= shop.strength < 0.85 and shop.current == own.current and shop.baseline == own.baseline
    assert shop.detail.startswith(own.detail)             # the rhythm stays the evidence ...
    assert shop.detail.endswith("of this shop's customers with 8 purchase days, quiet this long, about 8 % "
                                "are still customers")    # ... the verdict beside it


def test_a_customer_who_also_visits_is_judged_by_their_rhythm_alone():
    # the same days as visits: Pareto/NBD's Poisson reading of visits misreads holidays and
    # clumps (a daily visitor three weeks away would be "gone"): the false-alarm budget rules
    visitor = build([login(day(d)) for d in CLUMPED])
    assert not purchase_log(visitor)
    assert evaluate(visitor, day(65 + 120), prior=DEFAULT_PRIOR).strength == evaluate(visitor, day(65 + 120)).strength
    assert threshold_days(visitor, prior=DEFAULT_PRIOR) == threshold_days(visitor)
    # one visit between purchases is enough to be a visitor
    mixed = build([order(day(d), 40.0) for d in CLUMPED[:7]] + [login(day(50))]
                  + [order(day(d), 40.0) for d in CLUMPED[7:]])
    assert not purchase_log(mixed)


def test_a_purchase_log_needs_the_stricter_verdict_nine_in_ten_gone():
    s = purchases(CLUMPED)
    t = threshold_days(s, prior=DEFAULT_PRIOR)
    assert t < threshold_days(s) - 30
    # it fires where P(alive) falls under 0.1, not 0.5 as for a short history
    assert p_alive(7, 65.0, t - 0.5, DEFAULT_PRIOR) > 0.1 >= p_alive(7, 65.0, t + 0.5, DEFAULT_PRIOR)
    assert evaluate(s, day(65) + int((t - 0.5) * DAY), prior=DEFAULT_PRIOR).strength < 0.5
    assert evaluate(s, day(65) + int((t + 0.5) * DAY), prior=DEFAULT_PRIOR).strength >= 0.7


def test_a_quiet_no_longer_than_a_spell_they_came_back_from_stays_under_the_alarm_whatever_the_shop():
    s = purchases([10 * k for k in range(8)] + [70 + 90 + 3 * k for k in range(12)])
    assert purchase_log(s)
    last = 70 + 90 + 33
    assert evaluate(s, day(last + 80), prior=DEFAULT_PRIOR).strength < 0.5
    assert next_change(s, day(last), prior=DEFAULT_PRIOR) >= day(last + 90)


@pytest.mark.parametrize("prior", [DEFAULT_PRIOR, LOYAL_SHOP], ids=["most-leave", "few-leave"])
def test_next_change_is_exactly_when_each_level_is_reached_on_a_purchase_log(prior):
    rng = random.Random(11)
    for _ in range(100):
        days = [0]
        for _ in range(rng.randint(4, 32)):
            days.append(days[-1] + rng.randint(1, 40))
        s = purchases(days)
        now = s.last_active
        for level in (0.5, 0.7, 0.85, 1.0):
            t = next_change(s, now, prior=prior)
            if t is None:
                break
            assert evaluate(s, t, prior=prior).strength >= level - 1e-9
            assert evaluate(s, t - 2, prior=prior).strength < level
            now = t


def test_the_shops_verdict_on_purchase_logs_is_calibrated():
    # Customers of a Pareto/NBD population with five to twelve purchase days, observed 200
    # days after their first: of those the verdict warns and their rhythm alone would not,
    # few are still customers.
    prior = Prior(r=1.2, alpha=40.0, s=0.8, beta=150.0)
    rng = random.Random(7)
    horizon = 200
    warned, warned_alive = 0, 0
    for _ in range(20000):
        life, days = pareto_nbd_customer(rng, prior, horizon)
        if not 5 <= len(days) <= 12:
            continue
        active = sorted(days)
        state = CustomerState("c", last_active=day(active[-1]), last_active_day=day(active[-1]) // DAY,
                              gaps=[b - a for a, b in zip(active, active[1:])],
                              orders=[[day(d), 40.0, "EUR", 0, 1, None] for d in active])
        if evaluate(state, day(horizon), prior=prior).strength >= 0.7 > evaluate(state, day(horizon)).strength:
            warned, warned_alive = warned + 1, warned_alive + (life > horizon)
    assert warned > 150
    assert warned_alive / warned < 0.15
