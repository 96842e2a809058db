"""Model features: what the online model sees of a customer, from the bounded state."""

from __future__ import annotations

import math

import pytest

from builders import build, complaint, day, login, order, page_view
from detectors.features import FEATURE_NAMES, FeatureParams, features, from_assessment, from_vector, vector
from detectors.state import DAY, CustomerState, encode
from detectors.warning import assess


def weekly_buyer(weeks: int = 26, amount: float = 100.0):
    """Logs in and orders every Monday, views two pages each time."""
    events = []
    for w in range(weeks):
        t = day(7 * w)
        events += [login(t), page_view(t + 60), page_view(t + 120), order(t + 300, amount)]
    return build(events)


def test_every_feature_is_present_finite_and_in_the_fixed_order():
    f = features(weekly_buyer(), day(7 * 25 + 1))
    assert list(f) == list(FEATURE_NAMES)
    assert all(isinstance(v, float) and math.isfinite(v) for v in f.values())


def test_a_customer_with_no_history_gets_finite_neutral_features():
    f = features(CustomerState("nobody"), day(0))
    assert all(math.isfinite(v) for v in f.values())
    assert f["log_orders_365d"] == 0.0 and f["open_complaints"] == 0.0
    assert f["log_days_since_order"] == pytest.approx(math.log1p(365.0))


def test_a_steady_weekly_buyer_shows_no_trend_and_a_small_quiet_ratio():
    now = day(7 * 25, 18)
    f = features(weekly_buyer(), now)
    assert f["log_active_days_trend"] == pytest.approx(0.0, abs=0.15)
    assert f["log_logins_trend"] == pytest.approx(0.0, abs=0.15)
    # two page views a visit, as before: steady against their own views, not their logins
    assert f["log_views_trend"] == pytest.approx(0.0, abs=0.15)
    # tenure counts from the first event (day 0), whatever the quiet since the last one
    assert f["log_tenure_days"] == pytest.approx(math.log1p((now - day(0)) / DAY))
    assert f["log_order_value_ratio"] == pytest.approx(0.0)
    assert f["quiet_to_usual_gap"] < 0.1
    assert f["order_overdue_ratio"] < 0.1


def test_going_quiet_raises_recency_and_lowers_engagement_trends():
    s = weekly_buyer()
    steady = features(s, day(7 * 25, 18))
    quiet = features(s, day(7 * 25 + 35))
    assert quiet["log_days_since_active"] == pytest.approx(math.log1p(35), abs=0.01)
    assert quiet["quiet_to_usual_gap"] == pytest.approx(35 / 7, abs=0.1)
    assert quiet["order_overdue_ratio"] == pytest.approx(5.0, abs=0.1)
    assert quiet["log_active_days_trend"] < steady["log_active_days_trend"] - 1.0
    assert quiet["log_views_trend"] < steady["log_views_trend"] - 1.0
    assert quiet["log_orders_30d"] == 0.0 < steady["log_orders_30d"]


@pytest.mark.parametrize("window, expected", [("log_orders_30d", 5), ("log_orders_90d", 13), ("log_orders_365d", 26)])
def test_orders_are_counted_in_their_windows(window, expected):
    f = features(weekly_buyer(), day(7 * 25, 18))
    assert round(math.expm1(f[window])) == expected


def test_smaller_recent_baskets_give_a_negative_value_ratio():
    # the last 13 weekly baskets (the 90-day window) are 40 % of the usual 100
    s = build([order(day(7 * w), 100.0 if w < 13 else 40.0) for w in range(26)])
    f = features(s, day(7 * 25 + 1))
    assert f["log_order_value_ratio"] == pytest.approx(math.log(40 / 100), abs=0.01)


def test_open_complaints_recent_complaints_and_returns_are_counted():
    s = build([
        complaint(day(10), "k1"), complaint(day(11), "k1", status="resolved"),
        complaint(day(100), "k2"), complaint(day(101), "k3", status="escalated"),
        order(day(95), 50.0), order(day(96), 50.0, status="returned"), order(day(97), 50.0, status="cancelled"),
        order(day(20), 50.0, status="returned"),  # older than 90 days at day 120
    ])
    f = features(s, day(120))
    assert f["open_complaints"] == 2.0
    assert f["complaints_90d"] == 2.0
    assert f["returns_cancels_90d"] == 2.0


def test_rule_strengths_segment_and_risk_come_from_the_assessment():
    s = weekly_buyer()
    now = day(7 * 25 + 60)
    a = assess(s, now)
    f = from_assessment(s, a)
    strengths = {sig.kind: sig.strength for sig in a.signals}
    assert strengths["silence"] > 0.5
    assert f["signal_silence"] == strengths["silence"]
    assert f["rule_risk"] == a.risk_score
    assert f[f"segment_{a.segment}"] == 1.0
    assert sum(v for k, v in f.items() if k.startswith("segment_")) == 1.0


def test_features_do_not_change_the_state():
    s = weekly_buyer()
    before = encode(s)
    features(s, day(7 * 25 + 40), strengths={"silence": 0.9}, segment="core", rule_risk=0.9)
    assert encode(s) == before


def test_the_vector_form_round_trips_and_refuses_another_length():
    f = features(weekly_buyer(), day(7 * 25 + 9))
    back = from_vector(vector(f))
    assert list(back) == list(FEATURE_NAMES)
    assert all(back[k] == pytest.approx(f[k], abs=5e-5) for k in FEATURE_NAMES)
    with pytest.raises(ValueError, match="expected"):
        from_vector(vector(f)[:-1])


def test_an_order_later_than_the_assessment_time_is_not_counted():
    # A sweep assesses at its partition's clock, which can be behind an order already
    # applied from a topic that runs ahead: the features are those of that time.
    s = weekly_buyer()
    ahead = build([order(day(7 * 25 + 3), 500.0)], s)
    now = day(7 * 25 + 1)
    with_it, without = features(ahead, now), features(s, now)
    order_features = [n for n in FEATURE_NAMES if "order" in n]
    assert len(order_features) >= 5
    assert {n: with_it[n] for n in order_features} == {n: without[n] for n in order_features}


def test_the_overdue_ratio_is_capped_for_a_customer_gone_for_years():
    # a weekly buyer quiet for two years is 104 gaps overdue: capped, so one such
    # customer cannot dominate the linear model
    f = features(weekly_buyer(), day(7 * 25 + 730))
    assert f["order_overdue_ratio"] == FeatureParams().max_ratio
    assert f["quiet_to_usual_gap"] == FeatureParams().max_ratio
