"""Value segment: who the customer is to the business, from recency, frequency and money.

Segments, checked in this order:

* `new`     — first seen less than `new_days` ago: too little history to judge value;
* `lapsed`  — no activity for `lapsed_days`: already gone by any definition;
* `core`    — among the shop's top `core_share` (a tenth) of repeat buyers by the value of
              their last 365 days, with at least `core_min_orders` orders in them: the
              customers whose loss hurts most. The threshold ranks the buyers who ordered
              in the year before the fit, each by the year up to their last order
              (`year_value`), so those who have left since still count: where many good
              customers leave, fewer than a tenth of those still buying reach it;
* `growth`  — spending faster in the last 90 days than over the year before
              (`growth_ratio` x the annualised rate, with at least two orders);
* `regular` — everyone else.

"High value" depends on the shop: a furniture store's and a grocery delivery service's
yearly customer values differ by an order of magnitude, and a shop in yen by two more. So
the `core` threshold is the shop's own: the value at the top `core_share` quantile of the
repeat buyers (at least `core_min_orders` orders in a year) of the partition's population
sample, recomputed with its fit (`detectors.population`, every 28 days of event time) and
passed here as `core_value`. Until a partition has `min_repeat_buyers` such customers in its
sample, or with `core_share` 0, the fixed `core_min_value` is the threshold instead.

Amounts in other currencies are converted with the fixed `fx_to_reference` table, for
segmenting only (signals always compare a customer with themselves in one currency).
The reference is EUR; a shop that sells in one currency is unaffected by it (but for the
fixed `core_min_value`, in EUR, used until the shop's own threshold is known). A currency
missing from the table counts 1:1: `CHURNWATCH_FX_RATES` adds or corrects rates, and
`churnwatch convert-orders` names the currencies of an export that have none.
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.state import DAY, PLACED, CustomerState

SEGMENTS = ("core", "growth", "regular", "new", "lapsed")

#: EUR per unit of each currency, rounded 2024 averages: for segmenting only (a customer's
#: yearly value against the shop's core threshold), where a few percent do not matter and a
#: currency counted 1:1 (one missing here and from `CHURNWATCH_FX_RATES`) would: a won is
#: not a euro. Operators set their own with `CHURNWATCH_FX_RATES` (they are merged over these).
DEFAULT_FX = (
    ("EUR", 1.0), ("USD", 0.92), ("GBP", 1.17), ("CHF", 1.05), ("SEK", 0.087), ("NOK", 0.085),
    ("DKK", 0.134), ("PLN", 0.23), ("CZK", 0.04), ("JPY", 0.0062), ("CNY", 0.13), ("CAD", 0.68),
    ("AUD", 0.61), ("INR", 0.011), ("BRL", 0.17),
    ("HUF", 0.0025), ("RON", 0.20), ("BGN", 0.51), ("ISK", 0.0067), ("RSD", 0.0085), ("TRY", 0.028),
    ("UAH", 0.023), ("ILS", 0.25), ("AED", 0.25), ("SAR", 0.25), ("QAR", 0.25), ("KWD", 3.0),
    ("EGP", 0.019), ("MAD", 0.092), ("ZAR", 0.050), ("NGN", 0.0006), ("KES", 0.0071),
    ("MXN", 0.050), ("CLP", 0.00098), ("COP", 0.00023), ("PEN", 0.25), ("KRW", 0.00068),
    ("TWD", 0.029), ("HKD", 0.118), ("SGD", 0.69), ("MYR", 0.20), ("THB", 0.026), ("IDR", 0.000058),
    ("PHP", 0.016), ("VND", 0.000037), ("NZD", 0.56),
)


@dataclass(frozen=True)
class SegmentParams:
    new_days: int = 60                 # tenure (days) below which a customer is `new`
    lapsed_days: int = 180             # days without activity after which a customer is `lapsed`
    core_share: float = 0.1            # top share of repeat buyers by yearly value who are `core` (0: fixed threshold)
    core_min_value: float = 1500.0     # reference-currency value over 365 days for `core` without a shop threshold
    core_min_orders: int = 2           # placed orders over 365 days for `core` (and to count as a repeat buyer)
    min_repeat_buyers: int = 10        # repeat buyers in the sample before the shop's threshold is used
    growth_ratio: float = 1.5          # last-90-day spend rate vs the year's rate for `growth`
    fx_to_reference: tuple[tuple[str, float], ...] = DEFAULT_FX  # EUR per unit; unknown currencies count 1:1


@dataclass(frozen=True)
class ValueFigures:
    segment: str
    value_365d: float          # in `currency`: the customer's own when the year's orders share one
    orders_365d: int
    tenure_days: float
    currency: str = "EUR"      # otherwise the reference currency the segment converts to


def value_figures(state: CustomerState, now: int, params: SegmentParams = SegmentParams(),
                  core_value: float = 0.0) -> ValueFigures:
    """Segment and the RFM figures behind it at event time `now`.

    `core_value` is the shop's `core` threshold (`core_threshold`, kept with the partition's
    population fit); 0 (none yet) or `core_share` 0 use `core_min_value`.

    Examples
    --------
    >>> s = CustomerState("c", first_seen=1, last_active=399 * DAY,
    ...                   orders=[[d * DAY, 300.0, "EUR", 0, 1, None] for d in range(40, 400, 45)])
    >>> f = value_figures(s, 400 * DAY)
    >>> f.segment, f.orders_365d, f.value_365d, f.currency
    ('core', 8, 2400.0, 'EUR')

    In a shop whose top tenth of repeat buyers spend 3,000 a year or more, they are not core:

    >>> value_figures(s, 400 * DAY, core_value=3000.0).segment
    'regular'
    """
    fx = dict(params.fx_to_reference)
    tenure = (now - state.first_seen) / DAY if state.first_seen else 0.0
    # placed_orders() filtered to the year, in one pass over the orders (same list, same order)
    year = [o for o in state.orders if o[3] == PLACED and now - 365 * DAY < o[0] <= now]
    value = sum(o[1] * fx.get(o[2], 1.0) for o in year)
    threshold = core_value if core_value > 0 and params.core_share > 0 else params.core_min_value
    seg = _segment(state, now, params, tenure, year, value, fx, threshold)
    currencies = {o[2] for o in year}
    if len(currencies) == 1:
        # shown as the customer paid: a USD shop's figures in USD, not converted to EUR
        (currency,) = currencies
        return ValueFigures(seg, round(sum(o[1] for o in year), 2), len(year), round(tenure, 1), currency)
    return ValueFigures(seg, round(value, 2), len(year), round(tenure, 1))


def year_value(state: CustomerState, params: SegmentParams = SegmentParams()) -> tuple[int, float, int] | None:
    """(placed orders, their value in the reference currency, time of the last) over the 365 days
    up to the customer's last placed order; None without one. A function of the state alone,
    so a population sample rebuilt from the customer table holds the same figures.

    >>> s = CustomerState("c", orders=[[d * DAY, 100.0, "EUR", 0, 1, None] for d in (0, 200, 400)])
    >>> year_value(s)
    (2, 200.0, 34560000)
    """
    fx = dict(params.fx_to_reference)
    placed = [o for o in state.orders if o[3] == PLACED]
    if not placed:
        return None
    last = max(o[0] for o in placed)
    year = [o for o in placed if last - 365 * DAY < o[0]]
    return len(year), sum(o[1] * fx.get(o[2], 1.0) for o in year), last


def core_threshold(values: list[tuple[int, float, int]], now: int, params: SegmentParams = SegmentParams()) -> float:
    """The shop's `core` threshold at `now`: the yearly value at the top `core_share` quantile
    of the repeat buyers among `values` (`year_value` of a population sample) whose last order
    is less than a year before `now`; 0 when there are fewer than `min_repeat_buyers` of them
    or `core_share` is 0.

    >>> buyers = [(3, float(v), 100 * DAY) for v in range(1, 101)]
    >>> core_threshold(buyers, 200 * DAY)
    91.0
    >>> core_threshold(buyers, 466 * DAY), core_threshold(buyers[:9], 200 * DAY)
    (0.0, 0.0)
    """
    if params.core_share <= 0:
        return 0.0
    repeat = sorted(v for n, v, last in values
                    if n >= params.core_min_orders and now - 365 * DAY < last and v > 0)
    if len(repeat) < params.min_repeat_buyers:
        return 0.0
    # the smallest value with at most `core_share` of the repeat buyers above it
    k = min(len(repeat) - 1, max(0, len(repeat) - int(round(params.core_share * len(repeat)))))
    return repeat[k]


def _segment(state, now, params, tenure, year, value, fx, core_min_value) -> str:
    if tenure < params.new_days:
        return "new"
    if state.last_active and now - state.last_active >= params.lapsed_days * DAY:
        return "lapsed"
    if value >= core_min_value and len(year) >= params.core_min_orders:
        return "core"
    recent = [o for o in year if o[0] > now - 90 * DAY]
    # Spend, not orders: in a purchase log without values (every amount 0) nobody is `growth`
    # (0 >= 1.5 x 0 would call every recent buyer so).
    if len(recent) >= 2 and tenure >= 180 and value > 0:
        recent_value = sum(o[1] * fx.get(o[2], 1.0) for o in recent)
        span_days = min(365.0, tenure)
        if recent_value * span_days / 90 >= params.growth_ratio * value:
            return "growth"
    return "regular"
