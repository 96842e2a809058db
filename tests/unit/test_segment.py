"""The value segment: `core` is the shop's own top of repeat buyers, whatever its basket sizes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from detectors.population import Population, PopulationParams
from detectors.segment import SegmentParams, value_figures
from detectors.state import DAY, CustomerState, epoch
from detectors.warning import DetectorParams, assess
from streams.processing import Processor
from streams.settings import Settings

from test_population_restart import WALL, ItemsOnlyTable

NOW = 400 * DAY


def _shop(scale: float, currency: str = "USD", n: int = 100) -> dict[str, CustomerState]:
    """n customers who order every 30 days over the year; customer i's basket is (i + 1) x scale."""
    out = {}
    for i in range(n):
        orders = [[d * DAY, round((i + 1) * scale, 2), currency, 0, 1, None] for d in range(40, 400, 30)]
        out[f"c{i:03d}"] = CustomerState(f"c{i:03d}", first_seen=40 * DAY, last_active=390 * DAY,
                                         last_event=390 * DAY, orders=orders,
                                         gaps=[30] * (len(orders) - 1))
    return out


def _segments(shop: dict[str, CustomerState], segment: SegmentParams = SegmentParams()) -> dict[str, str]:
    pop = Population(PopulationParams(), segment)
    for state in shop.values():
        pop.update(state)
    prior = pop.prior(NOW)
    params = DetectorParams(segment=segment)
    return {cid: assess(state, NOW, params, prior=prior).segment for cid, state in shop.items()}


def test_the_top_tenth_of_repeat_buyers_by_yearly_value_are_core_in_a_shop_of_small_baskets():
    # Baskets of 1 to 100 USD: a year of them is at most 1,200 USD, below the fixed
    # 1,500 EUR, which would call nobody core here.
    shop = _shop(1.0)
    assert {s for s in _segments(shop, SegmentParams(core_share=0)).values()} == {"regular"}
    segments = _segments(shop)
    core = sorted(cid for cid, seg in segments.items() if seg == "core")
    assert core == [f"c{i:03d}" for i in range(90, 100)]
    assert segments["c050"] == "regular"


def test_the_same_customers_are_core_whatever_the_currency_and_scale_of_the_shop():
    small = _segments(_shop(1.0))
    assert _segments(_shop(162.0, "JPY")) == small
    assert _segments(_shop(45.0, "EUR")) == small


def test_a_purchase_log_without_values_has_no_core_or_growth_customers():
    """`convert-orders --no-amounts` writes every order at 0: nobody is judged by spend."""
    def buyer(days: list[int]) -> CustomerState:
        orders = [[d * DAY, 0.0, "EUR", 0, 1, None] for d in days]
        return CustomerState("c", first_seen=days[0] * DAY, last_active=days[-1] * DAY, last_event=days[-1] * DAY,
                             orders=orders)
    speeding_up = buyer([40, 160, 280, 330, 350, 370, 390])   # five orders in the last 90 days, two before
    assert value_figures(speeding_up, NOW).segment == "regular"
    # the same rhythm with values is `growth`: spending faster lately than over the year
    valued = buyer([40, 160, 280, 330, 350, 370, 390])
    valued.orders = [[o[0], 50.0, "EUR", 0, 1, None] for o in valued.orders]
    assert value_figures(valued, NOW).segment == "growth"


def _monthly(first: int, last: int, amount: float = 50.0) -> CustomerState:
    orders = [[d * DAY, amount, "EUR", 0, 1, None] for d in range(first, last + 1, 30)]
    return CustomerState("c", first_seen=first * DAY, last_active=orders[-1][0], last_event=orders[-1][0],
                         orders=orders)


def test_a_customer_is_new_for_their_first_60_days_then_judged_by_value():
    state = _monthly(340, 370)          # first seen on day 340
    assert value_figures(state, 385 * DAY).segment == "new"      # 45 days in
    assert value_figures(state, 401 * DAY).segment == "regular"  # 61 days in


def test_a_customer_quiet_for_180_days_is_lapsed_whatever_they_spent():
    state = _monthly(1, 361, amount=500.0)      # core by the fixed threshold while buying
    assert value_figures(state, 362 * DAY).segment == "core"
    assert value_figures(state, (361 + 170) * DAY).segment == "core"
    assert value_figures(state, (361 + 190) * DAY).segment == "lapsed"


def test_a_recent_customer_spending_fast_is_not_growth_before_half_a_year():
    # five orders in the last 90 days, one before: spending faster lately, by 1.5 x or more
    days = [NOW // DAY - d for d in (170, 80, 60, 40, 20, 5)]
    state = CustomerState("c", first_seen=days[0] * DAY, last_active=days[-1] * DAY, last_event=days[-1] * DAY,
                          orders=[[d * DAY, 50.0, "EUR", 0, 1, None] for d in days])
    assert value_figures(state, NOW).segment == "regular"       # 170 days of tenure
    state.first_seen -= 20 * DAY                                # the same orders, 190 days of tenure
    assert value_figures(state, NOW).segment == "growth"


def test_a_one_off_big_spender_is_not_core():
    shop = _shop(1.0)
    shop["big"] = CustomerState("big", first_seen=100 * DAY, last_active=390 * DAY, last_event=390 * DAY,
                                orders=[[390 * DAY, 5000.0, "USD", 0, 1, None]])
    segments = _segments(shop)
    assert segments["big"] == "regular" and segments["c099"] == "core"


def test_without_enough_repeat_buyers_the_fixed_threshold_applies():
    # (with ten, a small shop's partitions of a few dozen customers already rank their own)
    shop = _shop(20.0, n=9)           # 9 repeat buyers: too few for a shop threshold
    pop = Population(PopulationParams(), SegmentParams())
    for state in shop.values():
        pop.update(state)
    assert pop.prior(NOW).core_value == 0.0
    # 12 orders of 20 x (i + 1) USD: 1,500 EUR from customer 6 on
    segments = _segments(shop)
    assert [cid for cid, seg in sorted(segments.items()) if seg == "core"] == [f"c{i:03d}" for i in range(6, 9)]
    assert value_figures(shop["c006"], NOW).value_365d >= 1500


def _order(cid: str, at: datetime, amount: float, n: int) -> bytes:
    return json.dumps({"event_id": f"{cid}-{n}", "customer_id": cid, "occurred_at": at.isoformat(),
                       "order_id": f"{cid}-o{n}", "amount": amount, "currency": "USD"}).encode()


def test_a_restarted_worker_keeps_the_shops_core_threshold_with_the_population_fit():
    customers, models = ItemsOnlyTable(), {}
    t0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)

    def run(p: Processor, days: range, offset: int) -> int:
        for day in days:
            for i in range(60):
                if day % 10 == i % 10:
                    at = t0 + timedelta(days=day, minutes=i)
                    out = p.handle("orders", 0, offset, f"c{i}".encode(), _order(f"c{i}", at, 5.0 + i, offset))
                    assert out.dead_letter_reason is None, out.outputs
                    offset += 1
        return offset

    proc = Processor(Settings(), DetectorParams(), customers, {}, models=models, wall_clock=lambda: WALL)
    run(proc, range(0, 120), 0)
    period, fitted = proc.population_of(0).fitted
    # 60 repeat buyers of 5 to 64 USD a basket: the top tenth spend about 59 USD a basket or more
    assert fitted.core_value > 0
    now = epoch(t0 + timedelta(days=120))
    restarted = Processor(Settings(), DetectorParams(), customers, {}, models=models, wall_clock=lambda: WALL)
    assert restarted.population_of(0).prior(now) == fitted
    # a setting turns it off: the fixed threshold, and nobody in this shop is core
    off = Settings.from_env({"CHURNWATCH_CORE_SHARE": "0"}).detector_params()
    state = CustomerState("c59", first_seen=epoch(t0), last_active=now, last_event=now,
                          orders=[[now - d * DAY, 64.0, "USD", 0, 1, None] for d in range(0, 120, 10)])
    assert value_figures(state, now, off.segment, fitted.core_value).segment == "regular"
    assert value_figures(state, now, DetectorParams().segment, fitted.core_value).segment == "core"


def test_a_personal_call_states_the_customers_yearly_value_in_the_currency_they_pay_in():
    from detectors.warning import suggest_actions

    usd = CustomerState("u", first_seen=40 * DAY, last_active=390 * DAY, last_event=390 * DAY,
                        orders=[[d * DAY, 200.0, "USD", 0, 1, None] for d in range(40, 400, 30)])
    value = value_figures(usd, NOW)
    assert (value.segment, value.value_365d, value.currency) == ("core", 2400.0, "USD")
    call = next(a for a in suggest_actions(usd, NOW, [], 2, value) if a.action == "personal_call")
    assert "12 orders, 2,400 USD in 12 months" in call.reason
    # paid in two currencies: the figures are converted to the reference currency
    mixed = CustomerState("m", first_seen=40 * DAY, last_active=390 * DAY, last_event=390 * DAY,
                          orders=[[d * DAY, 200.0, "USD" if d % 20 else "GBP", 0, 1, None] for d in range(40, 400, 30)])
    assert value_figures(mixed, NOW).currency == "EUR"


def test_a_personal_call_is_for_core_customers_only():
    """The brief's personal call is for high-value customers: a `growth` customer (spending faster
    in the last 90 days, whatever their value) at level `warning` gets the cause's own actions."""
    from detectors.warning import suggest_actions

    growth = CustomerState("g", first_seen=40 * DAY, last_active=390 * DAY, last_event=390 * DAY,
                           orders=[[d * DAY, 20.0, "EUR", 0, 1, None] for d in (40, 200, 340, 360, 375, 390)])
    value = value_figures(growth, NOW)
    assert value.segment == "growth"
    assert "personal_call" not in [a.action for a in suggest_actions(growth, NOW, [], 2, value)]
    core = value_figures(growth, NOW, core_value=50.0)
    assert core.segment == "core"
    assert "personal_call" in [a.action for a in suggest_actions(growth, NOW, [], 2, core)]


def _mixed_shop(rates: dict[str, str]) -> dict[str, str]:
    """A euro shop (every customer's yearly value 120-12,000 EUR) where ten customers pay in a
    second currency, 300,000 a month in it: 3.6 million a year, about 2,450 EUR in won."""
    shop = _shop(10.0, currency="EUR")
    for i in range(10):
        orders = [[d * DAY, 300_000.0, "KRW", 0, 1, None] for d in range(40, 400, 30)]
        shop[f"k{i:02d}"] = CustomerState(f"k{i:02d}", first_seen=40 * DAY, last_active=390 * DAY,
                                          last_event=390 * DAY, orders=orders, gaps=[30] * (len(orders) - 1))
    return _segments(shop, Settings.from_env(rates).detector_params().segment)


def test_customers_paying_in_won_are_judged_by_their_value_in_euros_not_taken_one_to_one():
    # the top tenth of the euro customers spend 10,800-12,000 EUR a year; 2,450 EUR is not core
    segments = _mixed_shop({})
    assert {segments[f"k{i:02d}"] for i in range(10)} == {"regular"}
    assert sum(s == "core" for s in segments.values()) == 11
    # an operator's own rate for the currency replaces the built-in one: at 0.004 EUR a won
    # (14,400 EUR a year) the ten are the shop's top customers
    segments = _mixed_shop({"CHURNWATCH_FX_RATES": "KRW=0.004"})
    assert {segments[f"k{i:02d}"] for i in range(10)} == {"core"}
