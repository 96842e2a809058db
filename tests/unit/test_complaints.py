"""Complaint increase: unanswered, repeated, escalated complaints, and orders sent back."""

from __future__ import annotations

import pytest

from builders import HOUR, build, complaint, day, login, order, orders_every
from detectors.complaints import ComplaintParams, evaluate, next_change


def handled(raw: float) -> float:
    """Strength reported for components adding up to `raw` while complaints are being handled:
    above the alarm only `handled_gain` (0.4) of the rest counts as churn evidence."""
    return raw if raw <= 0.5 else 0.5 + 0.4 * (raw - 0.5)


def opened(t, kid="k1", category="logistics", severity="medium"):
    return complaint(t, kid, "opened", category, severity)


def resolved(t, kid="k1", category="logistics", severity="medium"):
    return complaint(t, kid, "resolved", category, severity)


def test_a_complaint_unanswered_past_the_deadline_fires_from_day_one():
    s = build([opened(day(0, 9))])                 # a brand-new customer
    sig = evaluate(s, day(0, 9) + 30 * HOUR)
    assert sig.kind == "complaint_increase"
    assert sig.fires
    assert sig.strength == pytest.approx(0.5)
    assert (sig.current, sig.baseline) == (1.0, 0.0)
    assert sig.unit == "complaints per 90 days"
    assert sig.window_days == 90.0
    assert sig.detail == ("1 complaint in 90 days (logistics 1); unresolved: 1 past the 24 h deadline "
                          "(longest 30 h); no usual rate yet")


@pytest.mark.parametrize("age, fires", [
    (24 * HOUR - 1, False),   # just inside the 24 h response deadline
    (24 * HOUR, True),
])
def test_the_response_deadline_is_24_hours(age, fires):
    s = build([opened(day(0))])
    sig = evaluate(s, day(0) + age)
    assert (sig is not None and sig.fires) is fires


def test_the_deadline_is_a_setting():
    s = build([opened(day(0))])
    assert evaluate(s, day(0) + 5 * HOUR, ComplaintParams(response_hours=4)).fires
    assert evaluate(s, day(0) + 5 * HOUR) is None


@pytest.mark.parametrize("severity, status, strength", [
    ("medium", "opened", 0.5),
    ("high", "opened", 0.65),
    # unanswered 0.5 + 0.15 high + 0.1 escalated, and the escalation itself (0.3)
    ("high", "escalated", 1 - (1 - 0.75) * (1 - 0.3)),
])
def test_severity_and_escalation_make_an_unanswered_complaint_stronger(severity, status, strength):
    events = [opened(day(0, 9), severity=severity)]
    if status == "escalated":
        events.append(complaint(day(0, 18), "k1", "escalated", "logistics", severity))
    assert evaluate(build(events), day(2)).strength == pytest.approx(handled(strength))


def test_a_complaint_resolved_in_time_raises_nothing_and_says_where_it_stands():
    s = build([opened(day(0)), resolved(day(0, 20))])
    sig = evaluate(s, day(5))
    # strength 0: nothing against the customer, but a cleared complaint warning can show it
    assert sig.strength == 0.0 and not sig.fires and sig.current == 1.0
    assert "; all resolved" in sig.detail
    assert evaluate(s, day(95)) is None      # out of the 90-day window: nothing to say


def test_a_reopened_complaint_gets_a_fresh_deadline_from_the_reopening():
    s = build([opened(day(0)), resolved(day(0, 20)), complaint(day(10), "k1", "reopened")])
    sig = evaluate(s, day(10) + 20 * HOUR)
    assert not sig.fires                     # the reopening counts (0.3), the deadline not yet
    assert next_change(s, day(10) + 20 * HOUR) == day(11)
    assert evaluate(s, day(11)).fires


def test_open_complaints_untouched_for_half_a_year_are_taken_as_settled():
    s = build([opened(day(0))])
    assert evaluate(s, day(150)).fires
    settled = evaluate(s, day(181))
    # nothing against the customer any more, but a warning that ends here can say why
    assert settled.strength == 0.0 and not settled.fires
    assert "1 still open with no update for over 180 days, taken as settled" in settled.detail
    assert evaluate(s, day(181 + 91)) is None      # a quarter later: nothing to say


def test_the_same_problem_twice_in_a_quarter_fires():
    s = build([opened(day(0)), resolved(day(3)), opened(day(40), "k2"), resolved(day(43), "k2")])
    sig = evaluate(s, day(50))
    assert sig.fires
    assert sig.strength == pytest.approx(0.5)
    assert sig.current == 2.0
    assert "repeated: 2 in logistics" in sig.detail


def test_three_times_is_stronger_than_twice():
    events = []
    for i, d in enumerate((0, 30, 60)):
        events += [opened(day(d), f"k{i}"), resolved(day(d + 3), f"k{i}")]
    assert evaluate(build(events), day(70)).strength == pytest.approx(handled(0.7))


def test_repeats_each_resolved_in_time_raise_the_risk_but_do_not_fire_alone():
    s = build([opened(day(0)), resolved(day(0, 20)), opened(day(40), "k2"), resolved(day(40, 20), "k2")])
    sig = evaluate(s, day(50))
    assert not sig.fires
    assert sig.strength == pytest.approx(0.3)
    assert "(all resolved in time)" in sig.detail


def test_a_noisy_but_loyal_customer_is_not_flagged_for_their_usual_complaints():
    # two complaints a quarter for two years, all resolved the next day; still buying
    events, n = [], 0
    for q in range(9):
        for d in (10, 50):
            n += 1
            cat = ("product", "logistics")[n % 2] if q < 8 else "product"
            events += [complaint(day(90 * q + d), f"k{n}", "opened", cat, "low"),
                       complaint(day(90 * q + d, 30), f"k{n}", "resolved", cat, "low")]
    s = build(orders_every(20, 0, 800) + events)
    sig = evaluate(s, day(8 * 90 + 60))
    assert sig is not None and not sig.fires
    assert sig.baseline == pytest.approx(2.0, abs=0.2)
    assert "usual for this customer" in sig.detail
    # two in one category (0.5), as usual for them (x 0.4), resolved and ordering since (x 0.4)
    assert sig.strength == pytest.approx(0.5 * 0.4 * 0.4)


def test_a_usual_rate_needs_half_a_year_of_tenure_before_the_window():
    events = [login(day(0)), opened(day(240)), resolved(day(240, 5)), opened(day(244), "k2"), resolved(day(244, 5), "k2")]
    # at day 245 the 90-day window starts at day 155: 155 days of tenure before it, too few
    assert "no usual rate yet" in evaluate(build(events), day(245)).detail
    # at day 275 it starts at day 185
    assert "no usual rate yet" not in evaluate(build(events), day(275)).detail


def test_two_escalations_in_a_quarter_fire_even_when_both_were_answered():
    events = [opened(day(0, 9), "k1", "billing"), complaint(day(0, 11), "k1", "escalated", "billing"),
              resolved(day(0, 19), "k1", "billing"),
              opened(day(30, 9), "k2", "service"), complaint(day(30, 11), "k2", "escalated", "service"),
              resolved(day(30, 19), "k2", "service")]
    s = build(events)
    assert not evaluate(s, day(5)).fires     # one escalation: 0.3
    sig = evaluate(s, day(35))
    assert sig.fires
    assert sig.strength == pytest.approx(handled(0.6))
    assert "escalated or reopened 2 times" in sig.detail


def test_escalations_of_one_answered_complaint_count_at_most_as_two():
    """Escalated and reopened twice over, then answered: one complaint fought over, no more
    churn evidence than two escalations (escalation_cap), not a near-certain leaver."""
    twice = [opened(day(0, 9)), complaint(day(0, 11), "k1", "escalated"), resolved(day(0, 19)),
             complaint(day(1, 9), "k1", "reopened"), resolved(day(1, 15))]
    four = [opened(day(0, 9)), complaint(day(0, 11), "k1", "escalated"), resolved(day(0, 19)),
            complaint(day(1, 9), "k1", "reopened"), complaint(day(1, 11), "k1", "escalated"),
            resolved(day(1, 19)), complaint(day(2, 9), "k1", "reopened"), resolved(day(2, 15))]
    two_sig, four_sig = evaluate(build(twice), day(5)), evaluate(build(four), day(5))
    assert "escalated or reopened 4 times" in four_sig.detail
    assert four_sig.strength == pytest.approx(two_sig.strength)
    assert four_sig.strength == pytest.approx(handled(0.6))     # 0.54; 0.7 uncapped


def test_returns_against_the_customers_habit_are_friction():
    regular = orders_every(15, 0, 400)
    returns = [order(day(380), 50.0, status="returned"), order(day(390), 50.0, status="cancelled")]
    s = build(regular + returns)
    sig = evaluate(s, day(400))
    assert sig.strength == pytest.approx(0.4)
    assert sig.current == 2.0
    assert "friction: 2 cancelled or returned orders (usually 0.0)" in sig.detail
    # friction plus a repeated complaint, resolved, with the customer ordering since (a
    # settled repeat counts 0.4 of 0.5): together they still fire
    both = build([opened(day(320)), resolved(day(320, 22)), opened(day(370), "k2"), resolved(day(370, 22), "k2")], s)
    assert evaluate(both, day(400)).strength == pytest.approx(handled(1 - 0.6 * 0.8))
    assert evaluate(both, day(400)).fires


def test_friction_needs_three_times_the_usual_rate_of_returns():
    # four returns in the 450 days before the window: 0.8 per 90 days usually
    regular = orders_every(15, 0, 540) + [order(day(d), 50.0, status="returned") for d in (50, 150, 250, 350)]
    two = [order(day(d), 50.0, status="returned") for d in (470, 500)]
    assert evaluate(build(regular + two), day(540)) is None             # 2 < 3 x 0.8
    four = two + [order(day(d), 50.0, status="returned") for d in (510, 530)]
    sig = evaluate(build(regular + four), day(540))
    assert sig.strength == pytest.approx(0.4)                            # 4 >= 2.4
    assert "friction: 4 cancelled or returned orders (usually 0.8)" in sig.detail


def test_a_customer_who_always_returns_a_lot_shows_no_friction():
    events = []
    for d in range(0, 400, 15):
        events.append(order(day(d), 50.0))
        if d % 45 == 0:
            events.append(order(day(d + 2), 50.0, status="returned"))
    s = build(events)
    assert evaluate(s, day(400)) is None


def test_friction_needs_a_history_to_compare_with():
    s = build([order(day(0), 50.0), order(day(10), 50.0, status="returned"),
               order(day(20), 50.0, status="cancelled"), order(day(30), 50.0, status="returned")])
    assert evaluate(s, day(40)) is None


def test_the_evidence_lists_categories_with_counts():
    s = build([login(day(0)), opened(day(200), "k1", "logistics"), opened(day(210), "k2", "logistics"),
               opened(day(220), "k3", "billing", "high")])
    sig = evaluate(s, day(221))
    assert sig.detail.startswith("3 complaints in 90 days (logistics 2, billing 1); unresolved: 3 past the "
                                 "24 h deadline (longest 504 h, high severity, open over 21 days); "
                                 "repeated: 2 in logistics")
    assert sig.baseline == 0.0


def test_next_change_is_the_earliest_deadline_still_ahead():
    s = build([opened(day(0, 8), "k1"), opened(day(0, 10), "k2"), opened(day(1, 9), "k3")])
    assert next_change(s, day(0, 12)) == day(1, 8)
    assert next_change(s, day(1, 8)) == day(1, 10)
    assert next_change(s, day(3)) is None
    assert next_change(build([opened(day(0, 9)), resolved(day(0, 11))]), day(0, 12)) is None


def test_a_complaint_left_open_for_weeks_is_stronger_than_one_just_overdue():
    s = build([opened(day(0))])
    assert evaluate(s, day(2)).strength == pytest.approx(0.5)
    assert evaluate(s, day(23)).strength == pytest.approx(0.65)
    assert "open over 21 days" in evaluate(s, day(23)).detail


def test_a_loyal_customer_who_keeps_buying_after_resolved_complaints_is_not_churn_evidence():
    # escalated, then resolved; the customer orders again after each: the relationship
    # carried on, so repeats and escalations weigh little and nothing fires
    regular = orders_every(10, 0, 120)
    complaints = [opened(day(60, 9), "k1", "product"), complaint(day(61), "k1", "escalated", "product"),
                  resolved(day(64), "k1", "product"),
                  opened(day(80, 9), "k2", "product"), complaint(day(81), "k2", "reopened", "product"),
                  resolved(day(85), "k2", "product")]
    loyal = build(regular + complaints)
    sig = evaluate(loyal, day(95))
    assert not sig.fires
    assert "still active since" in sig.detail and "since resolved" in sig.detail
    # the same complaints from a customer who has not ordered since: a repeat worth acting on
    gone = build([o for o in regular if o.occurred_at.timestamp() < day(60)] + complaints)
    assert evaluate(gone, day(95)).fires


def test_a_complaint_neglected_for_weeks_counts_in_full_as_churn_evidence():
    s = build([opened(day(0), severity="high")])
    young, neglected = evaluate(s, day(5)), evaluate(s, day(25))
    assert young.strength == pytest.approx(handled(0.65))      # service recovery due: watch
    assert neglected.strength == pytest.approx(0.8)            # weeks without an answer
    assert neglected.strength >= 0.7 > young.strength


def test_a_customer_who_stayed_through_a_resolved_complaint_is_not_alarmed_by_a_slow_answer():
    history = orders_every(10, 0, 200) + [opened(day(50), "k0", "billing"), resolved(day(52), "k0", "billing")]
    s = build(history + [opened(day(190), severity="high")])
    sig = evaluate(s, day(215))
    assert sig.strength == pytest.approx(handled(0.8))
    assert "earlier complaints resolved and the customer stayed" in sig.detail


def test_a_shop_that_promises_an_answer_within_three_days_is_judged_by_its_own_promise():
    """`CHURNWATCH_COMPLAINT_RESPONSE_HOURS=72`: a complaint still open after 60 hours is on
    time, not overdue; after 73 hours it is, and the evidence names the shop's deadline."""
    from detectors import warning as warn
    from streams.settings import Settings

    params = Settings.from_env({"CHURNWATCH_COMPLAINT_RESPONSE_HOURS": "72"}).detector_params()
    s = build(orders_every(7, 0, 200) + [opened(day(200, 9))])
    on_time, late = day(200, 9) + 60 * HOUR, day(200, 9) + 73 * HOUR

    def complaint_signal(now, p=warn.DetectorParams()):
        return next((x for x in warn.assess(s, now, p).signals if x.kind == "complaint_increase"), None)

    assert complaint_signal(on_time).fires                          # the default 24 h: overdue
    assert "past the 24 h deadline" in complaint_signal(on_time).detail
    assert complaint_signal(on_time, params) is None or not complaint_signal(on_time, params).fires
    late_signal = complaint_signal(late, params)
    assert late_signal.fires and "past the 72 h deadline (longest 73 h)" in late_signal.detail


def test_a_repeat_exactly_at_the_customers_usual_rate_is_habitual():
    # Tenure of exactly four quarters before the window, with eight complaints in it: two a
    # quarter usually, and two this quarter is no more than usual.
    events = [login(day(0))]
    for n in range(8):
        events += [opened(day(10 + 45 * n), f"old{n}"), resolved(day(10 + 45 * n, 20), f"old{n}")]
    events += [opened(day(400), "k1"), resolved(day(400, 20), "k1"),
               opened(day(430), "k2"), resolved(day(430, 20), "k2")]
    sig = evaluate(build(events), day(450))
    assert sig.baseline == pytest.approx(2.0)
    assert "usual for this customer" in sig.detail
    # two in one category (0.5), as usual for them (x 0.4), each resolved in time (x 0.6)
    assert sig.strength == pytest.approx(0.5 * 0.4 * 0.6)
