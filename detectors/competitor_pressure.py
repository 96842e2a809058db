"""Competitor pressure: a rival is pulling at a customer who already shows decline.

For a retention team this explains *why* a declining customer may be leaving and where to
counter: a competitor's promotion, price cut or launch in the category where most of the
customer's orders go. It never raises a warning on its own (everyone who buys electronics is
exposed to a rival's electronics sale; most stay): it only strengthens the case when another
signal already shows decline.

What is measured. Market events (not keyed by customer) are folded into a small
category -> `MarketPressure` map with `update_market`; the caller passes the map and
`decline`, the strongest of the customer's other signal strengths. Exposure to a category is
the customer's share of placed orders in it over the last `share_days` days (at least
`min_orders` orders). pressure = max over active market events of event strength x share.

* decline < `min_decline` (0.5): strength = min(`max_alone` 0.3, pressure x (0.5 + decline)),
  never firing;
* otherwise strength = min(1, pressure x (0.5 + decline)): a strong promotion (0.8) in the
  category of 70 % of the orders fires alongside a decline of 0.5 or more.

Defaults, and why: a year of orders (`share_days` 365) covers a full seasonal cycle of what
the customer buys; three orders (`min_orders`) before a share means anything; an event
without an end lasts `default_duration_days` 30 (a typical promotion). `min_decline` 0.5:
pressure fires only beside a decline signal that fires itself. Steady customers show
sub-threshold hints every day (ten quiet days give silence about 0.35); in a simulation of
steady customers exposed to a strong promotion in their main category, a limit of 0.3 made
pressure fire in half of their customer-months, and 0.45 in one in six.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from detectors.signal import Signal
from detectors.state import DAY, PLACED, CustomerState, epoch

KIND = "competitor_pressure"


@dataclass(frozen=True)
class CompetitorParams:
    share_days: int = 365              # window for the customer's category shares, days
    min_orders: int = 3                # placed orders in that window needed for a share
    min_decline: float = 0.5           # decline strength below which pressure cannot fire
    max_alone: float = 0.3             # strength cap without that decline
    default_duration_days: int = 30    # how long an event without `ends_at` stays active


@dataclass(frozen=True)
class MarketPressure:
    """One competitor move in a category, in epoch seconds.

    >>> m = MarketPressure("books", 0.6, "competitor_price_cut", started_at=0, ends_at=None)
    >>> m.active(29 * DAY), m.active(30 * DAY)
    (True, False)
    """

    category: str
    strength: float
    kind: str
    started_at: int
    ends_at: int | None = None

    def until(self, default_duration_days: int = 30) -> int:
        """Event time at which the pressure stops counting."""
        return self.ends_at if self.ends_at is not None else self.started_at + default_duration_days * DAY

    def active(self, now: int, default_duration_days: int = 30) -> bool:
        return self.started_at <= now < self.until(default_duration_days)


@lru_cache(maxsize=4096)   # a shop has a bounded set of category names, asked about on every assessment
def _key(category: str) -> str:
    return category.strip().casefold()


def _seconds(t) -> int | None:
    if t is None:
        return None
    return epoch(t) if isinstance(t, datetime) else int(t)


def update_market(market: Mapping[str, MarketPressure], event,
                  default_duration_days: int = 30) -> dict[str, MarketPressure]:
    """A new market map with `event` (a MarketEvent or anything with its attributes) applied.

    One entry per category: a new event replaces the category's entry unless that entry is
    still active at the new event's start and stronger. The input map is not changed.

    >>> from types import SimpleNamespace as E
    >>> m = update_market({}, E(category="Electronics", kind="competitor_promotion", strength=0.8,
    ...                         occurred_at=0, ends_at=None))
    >>> m = update_market(m, E(category="electronics", kind="competitor_launch", strength=0.3,
    ...                        occurred_at=10 * DAY, ends_at=None))
    >>> m["electronics"].kind, m["electronics"].strength
    ('competitor_promotion', 0.8)
    >>> m = update_market(m, E(category="electronics", kind="competitor_launch", strength=0.3,
    ...                        occurred_at=40 * DAY, ends_at=None))
    >>> m["electronics"].kind
    'competitor_launch'
    """
    new = MarketPressure(
        category=event.category,
        strength=float(event.strength),
        kind=str(event.kind),
        started_at=_seconds(event.occurred_at),
        ends_at=_seconds(getattr(event, "ends_at", None)),
    )
    key = _key(new.category)
    out = dict(market)
    old = out.get(key)
    if (old is not None and old.active(new.started_at, default_duration_days)
            and old.strength > new.strength):
        return out
    out[key] = new
    return out


def category_shares(state: CustomerState, now: int, params: CompetitorParams = CompetitorParams()) -> dict[str, float] | None:
    """Share of the customer's placed orders per category over `share_days`, or None with too few orders.

    >>> s = CustomerState("c", orders=[[t, 10.0, "EUR", 0, 1, c] for t, c in
    ...                                [(1, "Books"), (2, "books"), (3, None), (4, "toys")]])
    >>> category_shares(s, 10)
    {'books': 0.5, 'toys': 0.25}
    """
    # placed_orders() within the window, in one pass over the orders (same list, same order)
    recent = [o for o in state.orders if o[3] == PLACED and now - params.share_days * DAY < o[0] <= now]
    if len(recent) < params.min_orders:
        return None
    raw: dict[str, int] = {}
    for o in recent:
        if o[5]:
            raw[o[5]] = raw.get(o[5], 0) + 1
    counts: dict[str, int] = {}
    for category, n in raw.items():
        key = _key(category)
        counts[key] = counts.get(key, 0) + n
    return {k: v / len(recent) for k, v in counts.items()}


def evaluate(state: CustomerState, now: int, params: CompetitorParams = CompetitorParams(),
             market: Mapping[str, MarketPressure] | None = None, decline: float = 0.0) -> Signal | None:
    """Competitor pressure at event time `now`, or None without exposure to an active market event.

    `decline` is the strongest of the customer's other signal strengths (0..1).

    Examples
    --------
    >>> s = CustomerState("c", orders=[[t * DAY, 10.0, "EUR", 0, 1, c] for t, c in
    ...     enumerate(["electronics"] * 7 + ["books"] * 3)])
    >>> market = {"electronics": MarketPressure("electronics", 0.8, "competitor_promotion", 5 * DAY)}
    >>> evaluate(s, 20 * DAY, market=market, decline=0.1).fires        # never alone
    False
    >>> sig = evaluate(s, 20 * DAY, market=market, decline=0.6)
    >>> sig.fires, sig.current, sig.baseline, sig.unit
    (True, 40.0, 300.0, 'EUR per 30 days in the category')
    >>> sig.detail
    "rival competitor_promotion in 'electronics' (strength 0.8) for 15 days, while 70% of orders are in that category: 2 orders in it since (20 EUR), 5 in the 5 days before (50 EUR)"
    """
    p = params
    if not market:
        return None
    shares = category_shares(state, now, p)
    if not shares:
        return None
    best: tuple[float, MarketPressure, float] | None = None
    for event in market.values():
        share = shares.get(_key(event.category), 0.0)
        if share <= 0 or not event.active(now, p.default_duration_days):
            continue
        pressure = event.strength * share
        if best is None or pressure > best[0]:
            best = (pressure, event, share)
    if best is None or best[0] <= 0:
        return None
    pressure, event, share = best
    # Baseline vs now: the customer's spend in that category per 30 days since the rival
    # moved, against the same rate over the `share_days` before (or their whole history, if
    # shorter). A share of a year's orders barely moves within a promotion's weeks and read
    # "0.75 vs 0.75"; the rate shows the orders that stopped, and spend shows too the
    # customer who still orders as often but buys the cheap things here (orders alone read
    # "3.4 vs 2.5" beside their order value drop). Spend in the currency of most of their
    # orders in the category; orders, where the history has no amounts. The rival's strength
    # and the customer's exposure are in the detail.
    key = _key(event.category)
    start = event.started_at
    placed = [o for o in state.orders if o[3] == PLACED and o[0] <= now and o[5] and _key(o[5]) == key]
    days_since = max(1.0, (now - start) / DAY)
    first = min((o[0] for o in state.orders), default=start)
    base_from = max(start - p.share_days * DAY, min(first, start))
    days_before = max(1.0, (start - base_from) / DAY)
    after = [o for o in placed if o[0] >= start]
    earlier = [o for o in placed if base_from <= o[0] < start]
    currencies: dict[str, int] = {}
    for o in placed:
        currencies[o[2]] = currencies.get(o[2], 0) + 1
    currency = max(sorted(currencies), key=currencies.__getitem__) if currencies else ""
    spent_since = sum(o[1] for o in after if o[2] == currency)
    spent_before = sum(o[1] for o in earlier if o[2] == currency)
    if spent_since + spent_before > 0:
        current, baseline, unit = spent_since, spent_before, f"{currency} per 30 days in the category"
        money = (f" ({spent_since:,.0f} {currency})", f" ({spent_before:,.0f} {currency})")
    else:
        current, baseline, unit = len(after), len(earlier), "orders per 30 days in the category"
        money = ("", "")
    decline = min(max(decline, 0.0), 1.0)
    strength = min(1.0, pressure * (0.5 + decline))
    if decline < p.min_decline:
        strength = min(strength, p.max_alone)
    return Signal(
        kind=KIND,
        strength=strength,
        current=round(30.0 * current / days_since, 2),
        baseline=round(30.0 * baseline / days_before, 2),
        unit=unit,   # the category is named in the detail (a unit has at most 64 characters)
        window_days=round(days_since, 2),
        detail=(f"rival {event.kind} in '{event.category}' (strength {event.strength:g}) for {days_since:.0f} "
                f"day{'' if round(days_since) == 1 else 's'}, "
                f"while {share:.0%} of orders are in that category: {len(after)} order"
                f"{'' if len(after) == 1 else 's'} in it since{money[0]}, {len(earlier)} in the "
                f"{days_before:.0f} days before{money[1]}"),
    )


def next_change(state: CustomerState, now: int, params: CompetitorParams = CompetitorParams(),
                market: Mapping[str, MarketPressure] | None = None) -> int | None:
    """Earliest future time at which an active market event the customer is exposed to ends, or one starts.

    >>> s = CustomerState("c", orders=[[t, 10.0, "EUR", 0, 1, "books"] for t in range(3)])
    >>> next_change(s, 10, market={"books": MarketPressure("books", 0.5, "competitor_launch", 0, 100)})
    100
    >>> next_change(s, 10) is None
    True
    """
    if not market:
        return None
    shares = category_shares(state, now, params) or {}
    times = []
    for event in market.values():
        if shares.get(_key(event.category), 0.0) <= 0:
            continue
        for t in (event.started_at, event.until(params.default_duration_days)):
            if t > now:
                times.append(t)
    return min(times) if times else None
