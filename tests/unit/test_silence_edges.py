"""Silence at the edges of its rules: the floor, a remembered spell's end, the lapse verdict, purchase logs."""

from __future__ import annotations

from detectors.silence import SilenceParams, evaluate, next_change, returned_until, threshold_days
from detectors.state import DAY, CustomerState


def test_silence_never_fires_under_the_floor_even_where_the_rhythm_would():
    # a weekly visitor fires at ~30 days by default; with a 40-day floor, 35 days may not fire
    s = CustomerState("c", last_active=100 * DAY, gaps=[7] * 10)
    p = SilenceParams(floor_days=40)
    assert evaluate(s, 135 * DAY).fires                      # the rhythm alone would fire
    sig = evaluate(s, 135 * DAY, p)
    assert not sig.fires and sig.strength < 0.5
    assert threshold_days(s, p) == 40                        # consistent with the schedule
    assert evaluate(s, 140 * DAY, p).fires


def test_the_sweep_scheduled_at_the_end_of_a_remembered_spell_fires_there():
    # a daily visitor back from 30 quiet days; without an own-break term the quiet is held
    # only while no longer than those 30 days: the sweep at that very instant must fire
    p = SilenceParams(own_breaks_per_year=0)
    s = CustomerState("c", last_active=500 * DAY, last_active_day=500, gaps=[1] * 30, returned=[30, 300])
    due = next_change(s, 500 * DAY, p)
    assert due == returned_until(s, p) == 530 * DAY
    assert not evaluate(s, due - 1, p).fires
    assert evaluate(s, due, p).fires


def test_a_spell_explains_the_quiet_once_the_customer_stayed_back_exactly_came_back_days():
    # back on day 372 from 150 quiet days, last active on day 400: exactly 28 days back
    stayed = CustomerState("c", last_active=400 * DAY, last_active_day=400, returned=[150, 372])
    assert returned_until(stayed) == 550 * DAY
    short = CustomerState("c", last_active=400 * DAY, last_active_day=400, returned=[150, 373])
    assert returned_until(short) == 0                         # 27 days back: not yet theirs


def test_the_populations_lapse_verdict_waits_for_the_floor_too():
    # a shop whose customers leave fast: P(alive) is 4 % after 13 quiet days, yet under
    # `floor_days` (14) quiet is never a churn sign on its own
    from detectors.population import Prior
    fast = Prior(r=3.0, alpha=10.0, s=1.0, beta=5.0)
    s = CustomerState("c", last_active=100 * DAY, last_active_day=100, gaps=[1, 2, 1])
    early = evaluate(s, 113 * DAY, prior=fast)
    assert not early.fires and "4 %" in early.detail
    assert evaluate(s, 114 * DAY, prior=fast).fires


def test_one_visit_day_among_the_orders_is_not_a_purchase_log():
    from detectors.silence import purchase_log
    # six active days (gaps), six orders, but two of them on day 120: day 100 was a visit only
    orders = [[d * DAY, 20.0, "EUR", 0, 1, None] for d in (0, 30, 50, 90, 120, 120)]
    s = CustomerState("c", orders=orders, gaps=[30, 20, 40, 10, 20], last_active_day=120)
    assert not purchase_log(s)
    orders[-1][0] = 100 * DAY
    orders.sort()
    assert purchase_log(CustomerState("c", orders=orders, gaps=[30, 20, 40, 10, 20], last_active_day=120))
