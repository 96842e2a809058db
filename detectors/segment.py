"""Value segment: who the customer is to the business, from recency, frequency and money.

Segments, checked in this order:

* `new`     — first seen less than `new_days` ago: too little history to judge value;
* `lapsed`  — no activity for `lapsed_days`: already gone by any definition;
* `core`    — at least `core_min_value` (reference currency) and `core_min_orders` orders
              in the last 365 days: the customers whose loss hurts most;
* `growth`  — spending faster in the last 90 days than over the year before
              (`growth_ratio` x the annualised rate, with at least two orders);
* `regular` — everyone else.

Amounts in other currencies are converted with the fixed `fx_to_reference` table, for
segmenting only (signals always compare a customer with themselves in one currency).
The default reference is EUR; thresholds are settings because "high value" depends on the
shop: a furniture store and a grocery delivery service differ by an order of magnitude.
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.state import DAY, PLACED, CustomerState

SEGMENTS = ("core", "growth", "regular", "new", "lapsed")

DEFAULT_FX = (
    ("EUR", 1.0), ("USD", 0.92), ("GBP", 1.17), ("CHF", 1.05), ("SEK", 0.087), ("NOK", 0.085),
    ("DKK", 0.134), ("PLN", 0.23), ("CZK", 0.04), ("JPY", 0.0062), ("CNY", 0.13), ("CAD", 0.68),
    ("AUD", 0.61), ("INR", 0.011), ("BRL", 0.17),
)


@dataclass(frozen=True)
class SegmentParams:
    new_days: int = 60                 # tenure (days) below which a customer is `new`
    lapsed_days: int = 180             # days without activity after which a customer is `lapsed`
    core_min_value: float = 1500.0     # reference-currency value over 365 days for `core`
    core_min_orders: int = 6           # placed orders over 365 days for `core`
    growth_ratio: float = 1.5          # last-90-day spend rate vs the year's rate for `growth`
    fx_to_reference: tuple[tuple[str, float], ...] = DEFAULT_FX  # unknown currencies count 1:1


@dataclass(frozen=True)
class ValueFigures:
    segment: str
    value_365d: float
    orders_365d: int
    tenure_days: float


def value_figures(state: CustomerState, now: int, params: SegmentParams = SegmentParams()) -> ValueFigures:
    """Segment and the RFM figures behind it at event time `now`.

    Examples
    --------
    >>> s = CustomerState("c", first_seen=1, last_active=399 * DAY,
    ...                   orders=[[d * DAY, 300.0, "EUR", 0, 1, None] for d in range(40, 400, 45)])
    >>> f = value_figures(s, 400 * DAY)
    >>> f.segment, f.orders_365d, f.value_365d
    ('core', 8, 2400.0)
    """
    fx = dict(params.fx_to_reference)
    tenure = (now - state.first_seen) / DAY if state.first_seen else 0.0
    # placed_orders() filtered to the year, in one pass over the orders (same list, same order)
    year = [o for o in state.orders if o[3] == PLACED and now - 365 * DAY < o[0] <= now]
    value = sum(o[1] * fx.get(o[2], 1.0) for o in year)
    seg = _segment(state, now, params, tenure, year, value, fx)
    return ValueFigures(seg, round(value, 2), len(year), round(tenure, 1))


def _segment(state, now, params, tenure, year, value, fx) -> str:
    if tenure < params.new_days:
        return "new"
    if state.last_active and now - state.last_active >= params.lapsed_days * DAY:
        return "lapsed"
    if value >= params.core_min_value and len(year) >= params.core_min_orders:
        return "core"
    recent = [o for o in year if o[0] > now - 90 * DAY]
    if len(recent) >= 2 and tenure >= 180:
        recent_value = sum(o[1] * fx.get(o[2], 1.0) for o in recent)
        span_days = min(365.0, tenure)
        if recent_value * span_days / 90 >= params.growth_ratio * value:
            return "growth"
    return "regular"
