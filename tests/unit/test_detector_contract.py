"""What every detector promises, checked over all of them, and the false-alarm rate on steady customers."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from builders import (CUSTOMER, DAY, HOUR, build, complaint, day, login, order, page_view, steady_events,
                      steady_population)
from detectors import activity, competitor_pressure, complaints, order_value, purchase_frequency, silence
from detectors.signal import SIGNAL_KINDS, Signal
from detectors.state import CustomerState, decode, encode, observe
from schemas.outputs import Signal as SignalContract


@dataclass(frozen=True)
class Detector:
    name: str
    kind: str
    evaluate: Callable[[CustomerState, int], Signal | None]
    next_change: Callable[[CustomerState, int], int | None]


def _with_market(state: CustomerState, now: int) -> Signal | None:
    # a strong promotion in every category the customer buys in, beside a firing decline
    cats = {o[5] for o in state.orders if o[5]}
    market = {c: competitor_pressure.MarketPressure(c, 0.9, "competitor_promotion", now - DAY) for c in cats}
    return competitor_pressure.evaluate(state, now, competitor_pressure.CompetitorParams(), market, 0.8)


def _plain(module) -> Detector:
    return Detector(module.__name__.rsplit(".", 1)[1], module.KIND if hasattr(module, "KIND") else "silence",
                    lambda s, now: module.evaluate(s, now), lambda s, now: module.next_change(s, now))


DETECTORS = [_plain(m) for m in (silence, purchase_frequency, order_value, activity, complaints)] + [
    Detector("competitor_pressure", "competitor_pressure", _with_market,
             lambda s, now: competitor_pressure.next_change(s, now)),
]
IDS = [d.name for d in DETECTORS]


def declining_customer() -> tuple[CustomerState, int]:
    """A year of steady habits, then fewer visits and orders, smaller baskets, complaints."""
    rng = random.Random(9)
    events = []
    for d in range(320):
        if rng.random() < 0.6:
            events.append(login(day(d, 9)))
            events.append(page_view(day(d, 9.2), dwell_seconds=rng.uniform(20, 300)))
        if d % 14 == 0:
            events.append(order(day(d, 15), rng.uniform(500, 1000), category="electronics"))
    for d in (335, 350, 365):
        events.append(login(day(d, 9)))
        events.append(page_view(day(d, 9.1), dwell_seconds=4))
    events += [order(day(d, 15), a, category="electronics") for d, a in ((330, 240.0), (345, 210.0), (352, 260.0))]
    events += [order(day(353, 15), 260.0, category="electronics", status="returned"),
               order(day(340, 15), 80.0, status="cancelled")]
    events += [complaint(day(340), "k1", "opened", "logistics", "high"),
               complaint(day(355), "k2", "opened", "logistics", "medium"),
               complaint(day(356), "k2", "escalated", "logistics", "high")]
    events.sort(key=lambda e: e.occurred_at)
    return build(events), day(370)


@pytest.fixture(scope="module")
def declining():
    return declining_customer()


@pytest.mark.parametrize("det", DETECTORS, ids=IDS)
def test_every_detector_has_a_verdict_on_a_declining_customer(det, declining):
    state, now = declining
    sig = det.evaluate(state, now)
    assert sig is not None
    assert sig.kind == det.kind and sig.kind in SIGNAL_KINDS
    assert 0.0 <= sig.strength <= 1.0
    assert all(math.isfinite(x) for x in (sig.strength, sig.current, sig.baseline, sig.window_days))
    contract = SignalContract(**sig.as_dict())       # fits the churn-warning contract
    assert contract.detail == sig.detail and contract.unit == sig.unit


@pytest.mark.parametrize("det", DETECTORS, ids=IDS)
def test_a_detector_does_not_change_the_state_it_reads(det, declining):
    state, now = declining
    before = encode(state)
    det.evaluate(state, now)
    det.next_change(state, now)
    assert encode(state) == before


@pytest.mark.parametrize("det", DETECTORS, ids=IDS)
def test_the_verdict_survives_a_round_trip_through_the_table_encoding(det, declining):
    state, now = declining
    restored = decode(encode(state))
    assert det.evaluate(restored, now) == det.evaluate(state, now)
    assert det.next_change(restored, now) == det.next_change(state, now)


@pytest.mark.parametrize("det", DETECTORS, ids=IDS)
def test_the_same_input_gives_the_same_output(det, declining):
    state, now = declining
    copy = state.copy()
    assert det.evaluate(state, now) == det.evaluate(copy, now) == det.evaluate(state, now)


FIRST_EVENTS = {
    "login": lambda t: login(t),
    "page_view": lambda t: page_view(t, 3.0),
    "order": lambda t: order(t, 99.0, category="electronics"),
    "cancelled_order": lambda t: order(t, 99.0, status="cancelled", category="electronics"),
    "complaint": lambda t: complaint(t, "k1", "opened", "service", "high"),
}


@pytest.mark.parametrize("det", DETECTORS, ids=IDS)
@pytest.mark.parametrize("first", sorted(FIRST_EVENTS))
def test_no_verdict_for_a_customer_seen_once(det, first):
    t = day(100)
    state = observe(None, FIRST_EVENTS[first](t))
    assert det.evaluate(state, t) is None
    if first != "complaint":    # an unanswered complaint is a risk from the first day
        assert det.evaluate(state, t + 60 * DAY) is None


@pytest.mark.parametrize("det", DETECTORS, ids=IDS)
def test_state_stays_bounded_as_events_pile_up(det):
    rng = random.Random(2)
    kinds = ["login"] * 5 + ["page_view"] * 8 + ["order", "cancelled_order", "complaint"]
    state, sizes = None, []
    for i in range(5000):
        t = day(730 * i / 5000, 0) + rng.randint(0, 3 * HOUR)
        kind = rng.choice(kinds)
        if kind == "complaint":
            event = complaint(t, f"k{i}", rng.choice(["opened", "escalated", "resolved"]),
                              rng.choice(["product", "logistics", "service", "billing"]), "low")
        else:
            event = FIRST_EVENTS[kind](t)
        state = observe(state, event)
        if i % 500 == 499:
            sizes.append(len(encode(state)))
            det.evaluate(state, t)
    assert max(sizes) < 32_000
    assert sizes[-1] <= 1.25 * sizes[len(sizes) // 2]   # flat, not growing with history
    assert state.customer_id == CUSTOMER


# --------------------------------------------------------------------------- false alarms

# Target: at most 5 false warnings per 1,000 steady customers per month. The simulated
# customers (tests/unit/builders.py) have their own rhythms with realistic noise: Poisson and
# more regular buyers with gaps of 7 to 75 days, baskets varying by a log-sd of 0.2-0.6,
# 0.15 to 1.5 logins a day, one or two offline holidays of 5 to 16 days a year, the odd
# return and quickly resolved complaint. One year of history, then one year evaluated daily;
# a customer-month counts when a detector fires on any day of it.
#
# Measured over eight such populations of 300 (seeds 1-8; firing customer-months per 1,000,
# mean and range): purchase frequency 4.8 (1.9-9.4), order value 2.6 (1.7-3.6), activity 4.4
# (3.3-5.6; 5.3 (3.6-6.1) since its eight-week scale), complaints 1.4 (0.3-3.1); any of the four 13 (11-17).
# Silence (seed 7 alone, 2026-12-07): 3.1. The long droughts
# of Poisson buyers and offline holidays are real, so the bounds below sit at twice the
# target per detector and four times it for any of them: they catch a regression, while the
# target itself is for warnings, which `detectors.warning` grades further.
STEADY_CUSTOMERS = 300
MONTH_DAYS = 365 / 12
PER_DETECTOR_BOUND = 2 * 5.0 / 1000
ANY_DETECTOR_BOUND = 4 * 5.0 / 1000
CUSTOMER_LEVEL = ("purchase_frequency", "order_value", "activity", "complaints")


@pytest.fixture(scope="module")
def steady_firing():
    """{detector: set of (customer, month) with the detector firing on some day of that month}."""
    fired: dict[str, set] = {name: set() for name in (*CUSTOMER_LEVEL, "silence", "competitor_pressure")}
    alone = 0
    for c in steady_population(STEADY_CUSTOMERS, seed=7):
        events = steady_events(c, seed=7, days=730)
        promo = {c.category: competitor_pressure.MarketPressure(c.category, 0.9, "competitor_promotion",
                                                                day(380), day(720))}
        state, i, ov_cache = None, 0, (None, None)
        for d in range(730):
            now = day(d, 23.99)
            while i < len(events) and events[i].occurred_at.timestamp() <= now:
                state = observe(state, events[i])
                i += 1
            if d < 365 or state is None:
                continue
            month = int((d - 365) // MONTH_DAYS)
            # order value changes only with orders: re-evaluate it when they change
            if ov_cache[0] != len(state.orders):
                ov_cache = (len(state.orders), order_value.evaluate(state, now))
            signals = {
                "silence": silence.evaluate(state, now),
                "purchase_frequency": purchase_frequency.evaluate(state, now),
                "order_value": ov_cache[1],
                "activity": activity.evaluate(state, now),
                "complaints": complaints.evaluate(state, now),
            }
            decline = max((s.strength for s in signals.values() if s), default=0.0)
            signals["competitor_pressure"] = competitor_pressure.evaluate(
                state, now, competitor_pressure.CompetitorParams(), promo, decline)
            for name, sig in signals.items():
                if sig is not None and sig.fires:
                    fired[name].add((c.customer_id, month))
            if signals["competitor_pressure"] and signals["competitor_pressure"].fires \
                    and not any(s and s.fires for n, s in signals.items() if n != "competitor_pressure"):
                alone += 1
    return fired, alone


@pytest.mark.parametrize("name", (*CUSTOMER_LEVEL, "silence"))
def test_steady_customers_rarely_trip_a_detector(name, steady_firing):
    fired, _ = steady_firing
    rate = len(fired[name]) / (STEADY_CUSTOMERS * 12)
    assert rate <= PER_DETECTOR_BOUND, f"{name}: {rate * 1000:.1f} firing customer-months per 1,000"


def test_steady_customers_rarely_trip_any_customer_level_detector(steady_firing):
    fired, _ = steady_firing
    union = set().union(*(fired[n] for n in CUSTOMER_LEVEL))
    rate = len(union) / (STEADY_CUSTOMERS * 12)
    assert rate <= ANY_DETECTOR_BOUND, f"{rate * 1000:.1f} firing customer-months per 1,000"


def test_competitor_pressure_never_fires_alone_on_steady_customers(steady_firing):
    # The decline passed to it is the strongest other signal, so this holds as long as the
    # detector keeps its cap under 0.5 without a firing decline (its own rule is tested in
    # test_warning.py and test_competitor_pressure.py). Under this year-long 0.9 promotion in
    # every customer's category it fires in 12.5 customer-months per 1,000 (seed 7), each
    # beside another firing signal.
    _, alone = steady_firing
    assert alone == 0


def test_evidence_is_joined_within_zero_and_one_whatever_a_strength_says():
    from detectors.signal import noisy_or
    assert noisy_or([]) == 0.0
    assert noisy_or([0.5, 0.5]) == pytest.approx(0.75)
    # a strength out of range counts as certain or as nothing, never beyond
    assert noisy_or([1.4]) == 1.0
    assert noisy_or([-0.3, 0.5]) == pytest.approx(0.5)
    assert noisy_or([1.2, 0.3]) == 1.0
