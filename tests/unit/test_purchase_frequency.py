"""Purchase frequency drop: fewer orders than the customer's own rhythm predicts."""

from __future__ import annotations

import math
import random

import pytest

from builders import DAY, HOUR, build, day, login, order, orders_every, page_view
from detectors.purchase_frequency import PurchaseFrequencyParams, _betainc, evaluate, next_change, purchase_days
from detectors.signal import poisson_cdf


def bimonthly_then_one():
    """Every 60 days for a year (days 0..360), then once 30 days later (day 390)."""
    return build(orders_every(60, 0, 361) + [order(day(390), 100.0)])


def test_a_bimonthly_buyer_with_one_order_in_six_months_fires_with_evidence():
    s = bimonthly_then_one()
    sig = evaluate(s, day(540))            # 180 days after the last regular order
    assert sig.kind == "purchase_frequency_drop"
    assert sig.fires
    assert sig.unit == "days since last order"
    assert sig.current == 150.0            # the one order was 150 days ago
    assert sig.baseline == pytest.approx(55.71, abs=0.01)   # 390 days over 7 gaps
    assert sig.window_days == 150.0
    assert sig.detail.startswith("no order for 150 days; usually one every 56 days (P=")


def test_the_same_buyer_is_not_flagged_while_still_within_their_rhythm():
    s = bimonthly_then_one()
    for d in range(390, 480):
        assert not evaluate(s, day(d)).fires, d


def test_orders_still_trickling_in_far_too_slowly_are_reported_as_a_rate():
    # a monthly buyer for two years, then one order 80 days after the last regular one
    s = build(orders_every(30, 0, 720) + [order(day(690 + 80), 100.0)])
    sig = evaluate(s, day(690 + 120))
    assert sig.fires
    assert sig.unit == "orders per 30 days"
    assert sig.window_days == 120.0
    assert sig.current == 0.25             # 1 order in 120 days
    assert sig.baseline == 1.0             # one every 30 days
    assert sig.detail.startswith("1 order in the last 120 days; usually 4.0 (one every 30 days); P=")


def test_one_order_where_nearly_four_were_due_fires_before_four_usual_gaps_have_passed():
    """A trickle is guarded by its count (1 order where 3.7 were due), not by the overdue
    test's "two usual gaps per order" (which held "1 in 110 days" of a clockwork monthly
    buyer under the alarm until day 120)."""
    s = build(orders_every(30, 0, 720) + [order(day(690 + 45), 100.0)])
    sig = evaluate(s, day(690 + 110))
    assert sig.fires
    assert sig.detail.startswith("1 order in the last 110 days; usually 3.7 (one every 30 days); P=")
    # not while the one order is what was due: 1 order in 2.9 usual gaps
    assert not evaluate(s, day(690 + 85)).fires


def test_a_trickle_whose_last_order_is_fresh_says_its_evidence_is_discounted():
    """"1 order in 160 days, usually 2.7; P=0.6" reads as a mistake unless the evidence says
    the P is weighed against the order itself; once that order is old the P stands alone."""
    s = build(orders_every(60, 0, 601) + [order(day(700), 80.0)])
    fresh = evaluate(s, day(760))
    assert fresh.unit == "orders per 30 days" and not fresh.fires
    assert fresh.detail.endswith("discounted for the order 60 days ago")
    old = evaluate(s, day(860))
    assert old.fires and "discounted" not in old.detail


def test_a_trickle_ending_in_a_big_basket_counts_the_time_since_it_as_shorter():
    """A last basket worth 1.4 usual ones (3x the amount) stands for more of the usual gap:
    40 days after it the trickle's evidence is discounted as if about 29 days had passed
    (P=0.27, where counting the 40 days in full gives 0.1), and the evidence says it is
    discounted while that shorter time is under two usual gaps (70 days after it, not 100).
    (The basket alone is also worth two usual ones, which covers a usual gap: that reading is
    switched off here, `max_cover` 1, and tested below.)"""
    p = PurchaseFrequencyParams(max_cover=1)
    plain = build(orders_every(30, 0, 720) + [order(day(690 + 80), 100.0)])
    big = build(orders_every(30, 0, 720) + [order(day(690 + 80), 300.0)])
    assert evaluate(plain, day(690 + 120), p).fires
    sig = evaluate(big, day(690 + 120), p)
    assert not sig.fires
    assert sig.unit == "orders per 30 days"
    assert sig.detail.endswith("discounted for the order 40 days ago"), sig.detail
    assert float(sig.detail.split("P=")[1].split(",")[0]) == pytest.approx(0.27, abs=0.02), sig.detail
    assert evaluate(big, day(690 + 150), p).detail.endswith("discounted for the order 70 days ago")
    assert "discounted" not in evaluate(plain, day(690 + 150), p).detail
    assert "discounted" not in evaluate(big, day(690 + 180), p).detail


def test_a_random_poisson_buyer_is_never_flagged_over_a_year():
    rng = random.Random(11)
    t, events = 0.0, []
    while t < 730:
        events.append(order(day(t), 40.0))
        t += rng.expovariate(1 / 12)
    s, i = None, 0
    for d in range(730):
        while i < len(events) and events[i].occurred_at.timestamp() <= day(d, 23.9):
            s = build([events[i]], s)
            i += 1
        if d >= 365:
            assert not evaluate(s, day(d, 23.9)).fires, d


def test_a_seasonal_buyer_is_not_flagged_between_seasons():
    # four orders each November-December, one in June, for three years
    days = []
    for y in range(3):
        days += [y * 365 + d for d in (160, 310, 325, 340, 355)]
    s = build([order(day(d), 80.0) for d in sorted(days)])
    last = 2 * 365 + 355
    for d in range(last, last + 170):      # January to mid-June of the next year
        assert not evaluate(s, day(d)).fires, d


def test_a_regular_weekly_buyer_back_from_a_two_week_holiday_is_not_flagged():
    s = build(orders_every(7, 0, 300))
    last = max(purchase_days(s))
    for d in range(0, 21):
        assert not evaluate(s, last + d * DAY).fires, d
    assert evaluate(s, last + 35 * DAY).fires


@pytest.mark.parametrize("orders", [
    [0, 30, 60, 90, 120],        # five orders: too few
    [0, 10, 20, 30, 40, 50, 60], # seven orders over 60 days: too short a history
])
def test_a_new_customer_without_enough_history_gets_no_verdict(orders):
    s = build([order(day(d), 50.0) for d in orders])
    assert evaluate(s, day(400)) is None
    assert next_change(s, day(70)) is None


def test_six_orders_over_a_quarter_are_enough_to_judge():
    s = build([order(day(d), 50.0) for d in (0, 18, 36, 54, 72, 90)])
    assert evaluate(s, day(91)) is not None


@pytest.mark.parametrize("days_without, fires", [
    (59.9, False),    # a clockwork 30-day buyer: the tail is tiny, but under twice the
    (60.0, True),     # usual gap it is lateness, not a drop
])
def test_never_fire_before_twice_the_usual_gap(days_without, fires):
    clockwork = PurchaseFrequencyParams(min_cv2=0.005)
    s = build(orders_every(30, 0, 720))
    last = max(purchase_days(s))
    sig = evaluate(s, last + int(days_without * DAY), clockwork)
    assert sig.fires is fires
    if not fires:
        assert sig.strength == pytest.approx(0.45)   # capped just under the alarm


def test_a_clockwork_monthly_buyer_is_only_watched_just_past_two_missed_orders():
    """34 orders exactly 30 days apart look like a clock, but no rhythm counts as more
    regular than `min_cv2`: two days past twice the gap is a `watch`, not the `critical`
    a perfect clock would read."""
    s = build(orders_every(30, 0, 1020))
    last = max(purchase_days(s))
    sig = evaluate(s, last + 62 * DAY)
    assert 0.5 <= sig.strength < 0.7, sig.strength   # 0.51; 1.0 if the gaps counted as a clock


@pytest.mark.parametrize("days_without, fires", [(27.9, False), (28.0, False), (28.49, False), (28.5, True)])
def test_never_fire_before_four_weeks_of_whole_days_without_an_order(days_without, fires):
    """The floor is 28 whole days after the day of the last order: the orders are at noon,
    so it is reached at midnight, 28.5 days after the last one."""
    s = build(orders_every(3, 0, 200))
    last = max(purchase_days(s))
    assert evaluate(s, last + int(days_without * DAY)).fires is fires


def test_a_weekly_customer_back_four_weeks_later_on_the_same_weekday_is_not_warned_that_day():
    """A customer who orders every Monday evening and skipped three weeks comes back on the
    fourth Monday, a little later in the evening: their first page view of that session is
    not "no order for 28 days" (warned, then cleared by the order a minute later); the next
    day, still without an order, it is."""
    s = build([order(day(d, 19.0), 60.0) for d in range(0, 371, 7)])
    last = max(purchase_days(s))
    back = last + 28 * DAY + 40 * 60             # four weeks and 40 minutes later
    s = build([page_view(back)], s)
    assert not evaluate(s, back).fires
    assert evaluate(s, (last // DAY + 29) * DAY).fires


def test_strength_is_just_under_the_alarm_one_hour_before_next_change():
    s = bimonthly_then_one()
    t = next_change(s, day(400))
    assert evaluate(s, t).fires
    assert not evaluate(s, t - HOUR).fires
    assert 0.4 < evaluate(s, t - HOUR).strength < 0.5
    stronger = next_change(s, t)
    assert evaluate(s, stronger).strength >= 0.7 > evaluate(s, stronger - HOUR).strength


def test_cancelled_and_returned_orders_are_not_purchases():
    regular = orders_every(60, 0, 361)
    friction = [order(day(420), 90.0, status="cancelled"), order(day(480), 90.0, status="returned")]
    s = build(regular + friction)
    assert purchase_days(s) == purchase_days(build(regular))
    assert evaluate(s, day(540)).current == 180.0


def test_several_orders_on_one_day_count_as_one_purchase():
    s = build([order(day(0, 9), 10.0), order(day(0, 10), 15.0), order(day(1), 12.0)])
    assert len(purchase_days(s)) == 2


def test_strength_grows_while_no_order_arrives():
    s = bimonthly_then_one()
    strengths = [evaluate(s, day(d)).strength for d in range(480, 620, 10)]
    assert strengths == sorted(strengths)
    assert strengths[-1] == 1.0


def test_tail_is_the_poisson_tail_for_exponential_gaps_with_known_rate():
    # with shape 1 and a huge number of gaps the predictive tail tends to P(X <= j | mu)
    n, mean, window = 100_000, 10.0, 45.0
    total = n * mean
    for j in range(3):
        tail = _betainc(n * 1.0, (j + 1) * 1.0, total / (total + window))
        assert tail == pytest.approx(poisson_cdf(j, window / mean), rel=1e-3)


def test_a_customer_who_has_just_ordered_again_is_not_at_full_strength():
    # every 12 days for five months, quiet 87 days, then an order (CDNOW customer 09342)
    before = build(orders_every(12, 0, 156))
    last = max(o[0] for o in before.orders)
    waiting = evaluate(before, last + 87 * DAY - HOUR)
    assert waiting.strength == 1.0                       # long overdue before the return
    back = build([order(last + 87 * DAY, 100.0)], before)
    for d in (0, 1, 6, 11):
        sig = evaluate(back, last + (87 + d) * DAY)
        assert sig.strength < waiting.strength, d
        assert not sig.fires, d                          # within their usual gap again: no warning
    # and if they go quiet again, the trickle is evidence once more
    assert evaluate(back, last + (87 + 40) * DAY).fires


def test_a_fresh_order_always_lowers_purchase_frequency_strength():
    rng = random.Random(5)
    for _ in range(30):
        gap = rng.uniform(7, 40)
        s = build(orders_every(gap, 0, max(gap * rng.randint(7, 15), 120)))
        last = max(o[0] for o in s.orders)
        pause = gap * rng.uniform(2, 6)
        just_before = evaluate(s, last + int(pause * DAY) - HOUR)
        s2 = build([order(last + int(pause * DAY), 100.0)], s)
        just_after = evaluate(s2, last + int(pause * DAY) + HOUR)
        assert just_after.strength <= just_before.strength, (gap, pause)


def test_crossing_times_are_whole_seconds_of_event_time():
    # A sweep assesses at the crossing time: a float there reached day arithmetic
    # downstream (`[0] * weeks` in the activity detector) and failed the sweep.
    rng = random.Random(1)
    found = 0
    for _ in range(300):
        gap, t, days = rng.choice([7, 13, 30, 45, 61]), 0, []
        for _ in range(rng.randint(5, 20)):
            t += max(1, int(rng.gauss(gap, gap * 0.3)))
            days.append(t)
        s = build([order(day(d), 80.0) for d in days])
        now = day(days[-1])
        for lv in (0.5, 0.7, 0.85, 1.0):
            at = next_change(s, now, levels=(lv,))
            if at is not None:
                found += 1
                assert type(at) is int, (days, lv, at)
    assert found > 300


def weekly_buyer_with_a_month_away(break_days: tuple[int, int] | None = (100, 130)):
    """Orders every 7 days and a login every other day from day 0 to day 399, with nothing
    at all from day `break_days[0]` until the return on day `break_days[1]`."""
    def away(d):
        return break_days is not None and break_days[0] <= d < break_days[1]
    events = [e for d in range(0, 400, 7) if not away(d) for e in [order(day(d), 80.0)]]
    events += [login(day(d, 9)) for d in range(0, 400, 2) if not away(d)]
    return build(sorted(events, key=lambda e: e.occurred_at))


def test_a_break_as_long_as_one_they_came_back_from_is_left_to_silence():
    """A weekly buyer who was away for a month last spring and is quiet again: while what
    they came back from holds silence under its alarm, the missed orders are not evidence of
    their own (silence judges the quiet against that month); without that earlier month the
    same quiet fires at four weeks."""
    from detectors.silence import explained_until
    s = weekly_buyer_with_a_month_away()
    assert s.returned[0] >= 30
    last = s.last_active
    without = weekly_buyer_with_a_month_away(break_days=None)
    assert evaluate(without, last + 29 * DAY).fires
    until = explained_until(s, last + DAY)
    assert until > last + 30 * DAY
    for d in range(0, (until - last) // DAY):
        assert not evaluate(s, last + d * DAY).fires, d
    detail = evaluate(s, last + 28 * DAY).detail
    assert "of the 28 days since their last activity: the days after are left to silence" in detail, detail
    # once silence no longer explains the quiet, the orders count again
    assert evaluate(s, until).fires


def test_orders_missed_while_the_customer_still_visits_count_despite_a_past_break():
    s = weekly_buyer_with_a_month_away()
    s = build([login(day(d, 9)) for d in range(400, 440, 2)], s)   # still around, no orders
    sig = evaluate(s, day(431))
    assert sig.fires
    assert "left to silence" not in sig.detail


def test_the_sweep_looks_again_when_the_quiet_stops_being_explained():
    """The crossing found while the quiet is explained cannot fire then; the due time is
    when it stops being explained, and at that time the signal fires."""
    from detectors.silence import explained_until
    from detectors.warning import DetectorParams, _purchase_due
    s = weekly_buyer_with_a_month_away()
    now = s.last_active + DAY
    seen = explained_until(s, now)
    due = _purchase_due(s, now, DetectorParams())
    assert due == seen
    assert not evaluate(s, due - 1).fires
    assert evaluate(s, due).fires


def back_from_a_month_away(orders_after: bool = False, present: bool = False, until: int = 200):
    """The weekly buyer of `weekly_buyer_with_a_month_away` up to day 99, nothing at all
    until a login on day 130 (or, with `present`, logins every other day throughout), then a
    login every other day up to day `until` and, with `orders_after`, weekly orders again
    from day 140."""
    events = [order(day(d), 80.0) for d in range(0, 100, 7)]
    events += [login(day(d, 9)) for d in range(0, 100, 2)]
    events += [login(day(d, 9)) for d in range(100 if present else 130, until, 2)]
    if orders_after:
        events += [order(day(d, 12), 80.0) for d in range(140, 200, 7)]
    return build(sorted(events, key=lambda e: e.occurred_at))


def test_the_days_a_customer_was_away_altogether_are_not_missed_orders():
    """Back from a month with no visit at all, and visiting again, a weekly buyer has not
    ordered for a month: that month is a break (silence's to judge, and it was beyond
    silence's alarm), not orders missed. The same month with the customer visiting and not
    buying is."""
    from detectors.silence import breaks_taken
    from detectors.purchase_frequency import away_spells
    for end in (134, 140, 150):
        s = back_from_a_month_away(until=end + 1)
        at = day(end, 18)
        assert [(a // DAY, b // DAY) for a, b in away_spells(s, breaks_taken(s))] == [(day(99) // DAY, day(130) // DAY)]
        sig = evaluate(s, at)
        assert not sig.fires, end
        assert "31 of them away altogether" in sig.detail                     # days 99 to 129
        assert sig.window_days >= (at - day(98)) / DAY - 7                    # the window shown is the real one
        stayed = back_from_a_month_away(present=True, until=end + 1)
        assert evaluate(stayed, at).fires, end                                # around and not buying: a drop
    # a single look at the shop after the month is not a return: the month still counts
    look = back_from_a_month_away(until=131)
    assert away_spells(look, breaks_taken(look)) == ()
    assert evaluate(look, day(130, 18)).fires
    # ordering again, the month away does not count as a slow trickle either
    s = back_from_a_month_away(orders_after=True)
    for end in range(140, 200, 3):
        assert not evaluate(s, day(end, 18)).fires, end


def test_orders_missed_after_the_return_count_and_the_sweep_finds_when():
    """Back, visiting, and still not buying: the present days add up, and the due time the
    sweep is given is the moment the signal fires."""
    from detectors.warning import DetectorParams, _purchase_due
    s = back_from_a_month_away(until=141)
    now = s.last_active
    due = _purchase_due(s, now, DetectorParams())
    assert due is not None and due > now
    assert evaluate(s, due).fires
    assert not evaluate(s, due - HOUR).fires
    # about four weeks of their presence without an order, beyond the week they usually take
    present_days = (due - day(98)) / DAY - 31
    assert 28 <= present_days <= 35, present_days


def test_a_customer_back_from_a_spell_with_only_cancelled_orders_is_assessed():
    """Orders, none of them placed, and a quiet spell they came back from: nothing to judge
    and no error (an IndexError reached the worker's dead-letter path before)."""
    from detectors.warning import assess, next_due
    events = [login(day(d, 9)) for d in range(0, 60, 2)] + [login(day(d, 9)) for d in range(100, 120, 2)]
    events += [order(day(10), 50.0, status="cancelled"), order(day(110), 40.0, status="cancelled")]
    s = build(sorted(events, key=lambda e: e.occurred_at))
    assert s.returned and s.orders
    a = assess(s, day(119))
    assert all(sig.kind != "purchase_frequency_drop" for sig in a.signals)
    next_due(s, day(119))


def test_a_first_visit_back_waits_for_its_confirmation_when_asked_to():
    """With `now` (the caller's word that no warning is open), the month away is left out
    from the first visit back until three of the customer's usual two-day gaps have passed;
    with no second visit by then it counts again, in full."""
    from detectors.purchase_frequency import away_in_windows, return_pending
    look = back_from_a_month_away(until=131)                 # one login on day 130, then nothing
    until = return_pending(look)
    assert until // DAY == day(130) // DAY + 6 and until % DAY == 0   # midnight six days after the return day
    assert away_in_windows(look) == ()                        # without `now`: no return yet
    assert [(a // DAY, b // DAY) for a, b in away_in_windows(look, now=day(130, 18))] == [(day(99) // DAY, day(130) // DAY)]
    held = evaluate(look, day(130, 18), away=away_in_windows(look, now=day(130, 18)))
    assert not held.fires and "31 of them away altogether" in held.detail
    assert away_in_windows(look, now=until) == ()
    assert evaluate(look, until, away=away_in_windows(look, now=until)).fires
    # confirmed by two more active days, the month is left out whatever the caller says
    back = back_from_a_month_away(until=135)
    assert return_pending(back) == 0
    assert away_in_windows(back) == away_in_windows(back, now=day(134, 18)) != ()


def weekly_then_monthly(big: float, currency: str = "EUR", usual_in_currency: int = 0):
    """Weekly baskets of 40-60 EUR for 29 weeks, then three baskets of `big` four weeks apart
    (days 231, 259, 287): the same spend, if `big` is four usual baskets, in fewer orders.
    The last `usual_in_currency` weekly baskets are paid in `currency` (the same amounts)."""
    rng = random.Random(3)
    weeks = list(range(0, 203, 7))
    events = [order(day(d), round(40 + 20 * rng.random(), 2),
                    currency=currency if i >= len(weeks) - usual_in_currency else "EUR")
              for i, d in enumerate(weeks)]
    return build(events + [order(day(d), big, currency=currency) for d in (231, 259, 287)])


def test_a_buyer_whose_baskets_grew_as_their_orders_thinned_is_not_flagged():
    """Stocking up: four weeks between orders where there was one, but each basket is worth
    three and a half of the usual ones. The usual baskets at the same dates fire 45 days after
    the last order; the bigger ones are judged as the usual baskets they are worth."""
    assert evaluate(weekly_then_monthly(50.0), day(287 + 45)).fires
    stocked = weekly_then_monthly(175.0)
    for d in range(287, 287 + 91):
        assert not evaluate(stocked, day(d)).fires, d
    sig = evaluate(stocked, day(287 + 60))
    assert sig.detail.startswith("1 order in the last 88 days; usually 10.2 (one every 9 days); the last 2 "
                                 "baskets were worth at least 2.2 usual ones each, so judged as 39 days; P=")


def test_bigger_baskets_only_postpone_the_warning_of_a_buyer_who_stops():
    stocked = weekly_then_monthly(175.0)
    t = next_change(stocked, day(288))
    assert day(287 + 140) < t < day(287 + 180)
    sig = evaluate(stocked, t)
    assert sig.fires and "baskets were worth at least 2.2 usual ones each" in sig.detail


def test_one_bigger_last_basket_hardly_delays_a_leavers_warning():
    """A last order of about twice the usual basket is within what chance gives one basket:
    it may be worth at least a little more than a usual one, not twice."""
    rng = random.Random(3)
    usual = [order(day(d), round(40 + 20 * rng.random(), 2)) for d in range(0, 203, 7)]
    plain = next_change(build(usual + [order(day(210), 50.0)]), day(211))
    bigger = next_change(build(usual + [order(day(210), 90.0)]), day(211))
    assert plain <= bigger <= plain + 2 * DAY


@pytest.mark.parametrize("case", ["no amounts", "another currency", "too few in that currency"])
def test_baskets_that_cannot_be_compared_leave_the_rhythm_to_judge_alone(case):
    if case == "no amounts":   # a purchase log without values: amounts 0
        s = build([order(day(d), 0.0) for d in list(range(0, 203, 7)) + [231, 259, 287]])
    elif case == "another currency":   # the big baskets paid in a currency with no usual basket
        s = weekly_then_monthly(175.0, currency="GBP")
    else:                      # only two usual baskets in it (three with the first big one):
        # fewer than `value_min_orders` say nothing of a usual basket, and stretch nothing
        s = weekly_then_monthly(175.0, currency="GBP", usual_in_currency=2)
    sig = evaluate(s, day(287 + 45))
    assert sig.fires and "worth" not in sig.detail


def fortnightly_drought_and_back(answered: bool):
    """Every 14 days to day 196, then nothing until day 252 (56 days), then one order; the
    order on day 252 answered a warning about that drought when `answered`."""
    s = build(orders_every(14, 0, 197) + [order(day(252), 100.0)])
    if answered:
        s.answered = day(252)
    return s


def test_a_drought_answered_by_an_order_is_not_judged_again_while_the_next_order_is_merely_due():
    before = evaluate(fortnightly_drought_and_back(answered=False), day(267))
    assert before.fires and before.detail.startswith("1 order in the last 71 days")
    after = evaluate(fortnightly_drought_and_back(answered=True), day(267))
    assert not after.fires
    for d in range(253, 280):          # two usual gaps after the answer: nothing yet
        assert not evaluate(fortnightly_drought_and_back(answered=True), day(d)).fires, d


def test_after_an_answered_drought_a_customer_late_again_is_judged_on_it_all():
    """Once the customer is late again by the overdue test's guard (twice the usual gap since
    the order that answered the drought), the drought counts again: a customer still buying
    that slowly is warned on all of it."""
    s = fortnightly_drought_and_back(answered=True)
    t = next_change(s, day(253))
    assert t == pytest.approx(day(252 + 2 * 14), abs=3600)   # the trickle's rhythm before the drought
    sig = evaluate(s, t)
    assert sig.fires and sig.detail.startswith("1 order in the last 84 days; usually 6.0"), sig.detail
    assert not evaluate(s, t - 3600).fires
    # the order before the guard: what the window holds besides the drought is judged
    s = build(orders_every(14, 0, 197) + [order(day(252), 100.0), order(day(282), 100.0)])
    s.answered = day(252)
    sig = evaluate(s, day(300))
    assert "56 of them the drought their warning was about (left out: they ordered again after it)" in sig.detail


def _monthly_then_yearly(extra=()):
    """Two years of monthly invoices of about 100 (seat counts vary a little), then one yearly
    invoice of 1,000 on day 750 (ten months' price: the usual discount for paying a year)."""
    rng = random.Random(4)
    orders = [order(day(d), round(100 * rng.uniform(0.9, 1.1), 2)) for d in range(0, 750, 30)]
    return build(sorted(orders + [order(day(750), 1000.0)] + list(extra), key=lambda e: e.occurred_at))


def test_a_yearly_invoice_covers_the_months_it_paid_for():
    """A customer who paid monthly and now pays for the year sends no invoice for twelve
    months. Counted in orders (or as two baskets 2.6 times the usual one) that reads as "no
    order for 164 days; usually one every 30" and fires. The invoice stands for at least
    seven usual ones on its own: the 180 days after it are covered, and the customer is
    judged from there, late as a monthly customer is late (about two usual gaps)."""
    s = _monthly_then_yearly()
    plain = PurchaseFrequencyParams(max_cover=1)
    assert evaluate(s, day(750 + 180), plain).fires
    assert not any(evaluate(s, day(750 + d)).fires for d in range(1, 236, 3))
    sig = evaluate(s, day(750 + 200))
    assert "the basket of 2026-01-20 was worth at least 7 usual ones, so the 180 days it covers are left out: " \
        "judged as 20 days" in sig.detail, sig.detail
    assert sig.current == 200.0 and sig.unit == "days since last order"
    t = next_change(s, day(751))
    assert 750 + 180 + 2 * 25 < (t - day(0)) / DAY < 750 + 180 + 2 * 35
    assert evaluate(s, t).fires and not evaluate(s, t - 3600).fires


def test_small_orders_after_a_yearly_invoice_are_no_trickle():
    """Add-ons and seats bought between yearly invoices are small orders: "1 order in the
    last 200 days" must not fire while the yearly invoice covers the time."""
    s = _monthly_then_yearly([order(day(800), 25.0), order(day(860), 12.0)])
    plain = PurchaseFrequencyParams(max_cover=1)
    assert any(evaluate(s, day(750 + d), plain).fires for d in range(1, 240, 3))
    assert not any(evaluate(s, day(750 + d)).fires for d in range(1, 240, 3))


def test_a_last_basket_twice_the_usual_puts_off_nothing():
    """A leaver's last basket is sometimes twice their usual one by chance: that is no cover
    (fewer than two usual baskets at the lower bound), and the warning comes when it would."""
    rng = random.Random(9)
    orders = [order(day(d), round(60 * math.exp(rng.gauss(0, 0.3)), 2)) for d in range(0, 600, 20)]
    s = build(orders + [order(day(600), 120.0)])
    assert next_change(s, day(601)) == next_change(s, day(601), PurchaseFrequencyParams(max_cover=1))


def test_a_one_off_purchase_of_another_kind_covers_nothing():
    """A handset bought among fortnightly top-ups is fifty top-ups' worth, and no prepayment
    of them: a customer who stops topping up is warned when they would have been without it,
    where the same amount in top-ups covers two months more than its weight as a bigger basket."""
    topups = [order(day(d), 15.0, category="topup") for d in range(0, 400, 14)]
    device = build(topups + [order(day(402), 750.0, category="device"), order(day(406), 15.0, category="topup")])
    no_cover = PurchaseFrequencyParams(max_cover=1)
    assert next_change(device, day(407)) == next_change(device, day(407), no_cover)
    prepaid = build(topups + [order(day(402), 750.0, category="topup"), order(day(406), 15.0, category="topup")])
    assert next_change(prepaid, day(407)) > next_change(prepaid, day(407), no_cover) + 60 * DAY
