"""Build customer states for detector tests from event lists with fixed timestamps.

Events are `types.SimpleNamespace` objects carrying the contract attributes plus `kind`,
which `detectors.state.observe` accepts like the pydantic models. Times are given as epoch
seconds (ints) relative to `T0` so tests read in days:

>>> s = build([login(day(0)), order(day(1), 50.0)])
>>> s.applied, len(s.orders)
(2, 1)
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace

from detectors.state import DAY, CustomerState, StateParams, observe, to_datetime

#: 2024-01-01T00:00:00Z: every test timeline starts here.
T0 = int(datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp())
HOUR = 3600
CUSTOMER = "c-1"

_ids = itertools.count(1)


def day(n: float, hours: float = 12.0) -> int:
    """Epoch seconds of day `n` after `T0`, at `hours` o'clock (noon by default)."""
    return T0 + int(round(n * DAY + hours * HOUR))


def _event(kind: str, t: int, customer_id: str, **fields) -> SimpleNamespace:
    return SimpleNamespace(kind=kind, event_id=f"{kind}-{next(_ids)}", customer_id=customer_id,
                           occurred_at=to_datetime(t), **fields)


def login(t: int, customer_id: str = CUSTOMER) -> SimpleNamespace:
    return _event("login", t, customer_id, channel="web", success=True)


def page_view(t: int, dwell_seconds: float = 60.0, customer_id: str = CUSTOMER,
              category: str | None = None) -> SimpleNamespace:
    return _event("page_view", t, customer_id, page="/p", category=category,
                  dwell_seconds=dwell_seconds, session_id=None)


def order(t: int, amount: float, currency: str = "EUR", status: str = "placed",
          category: str | None = None, order_id: str | None = None,
          customer_id: str = CUSTOMER) -> SimpleNamespace:
    return _event("order", t, customer_id, order_id=order_id or f"o-{next(_ids)}", amount=amount,
                  currency=currency, status=status, items=1, category=category)


def complaint(t: int, complaint_id: str, status: str = "opened", category: str = "logistics",
              severity: str = "medium", customer_id: str = CUSTOMER) -> SimpleNamespace:
    return _event("complaint", t, customer_id, complaint_id=complaint_id, status=status,
                  category=category, severity=severity)


def market(t: int, category: str, strength: float, kind: str = "competitor_promotion",
           ends_at: int | None = None) -> SimpleNamespace:
    return SimpleNamespace(event_id=f"m-{next(_ids)}", occurred_at=to_datetime(t), kind=kind,
                           category=category, strength=strength,
                           ends_at=to_datetime(ends_at) if ends_at is not None else None)


def build(events, state: CustomerState | None = None, params: StateParams = StateParams()) -> CustomerState:
    """Apply `events` in the order given (not sorted: tests of late events rely on that)."""
    for e in events:
        state = observe(state, e, params)
    return state


def orders_every(days: float, start: float, end: float, amount: float = 100.0, **kw) -> list:
    """Placed orders every `days` days from day `start` up to (not including) day `end`."""
    out, d = [], start
    while d < end:
        out.append(order(day(d), amount, **kw))
        d += days
    return out


def logins_on(days_list) -> list:
    return [login(day(d)) for d in days_list]


# --------------------------------------------------------------------------- steady population


@dataclass
class SteadyCustomer:
    """A steady customer's habits: own rhythm and basket, realistic noise, no decline."""

    customer_id: str
    login_rate: float           # expected logins per active-eligible day
    views_per_login: float
    order_gap_days: float       # mean days between orders
    order_shape: float          # gamma shape of the gaps: 1 = Poisson buyer, >1 more regular
    basket_median: float
    basket_sigma: float         # log-sd of order amounts
    category: str
    holidays: list[tuple[float, float]] = field(default_factory=list)  # (start day, length)


def steady_population(n: int, seed: int, years: float = 2.0) -> list[SteadyCustomer]:
    """`n` customers with habits drawn from wide but realistic ranges (seeded)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        holidays = []
        for y in range(int(math.ceil(years))):
            # one or two breaks a year of 5 to 16 days with no activity at all
            for _ in range(rng.choice((1, 1, 2))):
                holidays.append((y * 365 + rng.uniform(0, 350), rng.uniform(5, 16)))
        out.append(SteadyCustomer(
            customer_id=f"steady-{i}",
            login_rate=math.exp(rng.uniform(math.log(0.15), math.log(1.5))),
            views_per_login=rng.uniform(0.5, 3.0),
            order_gap_days=math.exp(rng.uniform(math.log(7), math.log(75))),
            order_shape=rng.choice((1.0, 1.0, 1.5, 2.0, 4.0)),
            basket_median=math.exp(rng.uniform(math.log(15), math.log(800))),
            basket_sigma=rng.uniform(0.2, 0.6),
            category=rng.choice(("electronics", "fashion", "grocery", "books", "home")),
            holidays=holidays,
        ))
    return out


def steady_events(c: SteadyCustomer, seed: int, days: int) -> list:
    """Time-ordered events of one steady customer over `days` days from `T0`."""
    rng = random.Random(f"{seed}:{c.customer_id}")
    cid = c.customer_id

    def on_holiday(d: float) -> bool:
        return any(s <= d < s + n for s, n in c.holidays)

    events = []
    for d in range(days):
        if on_holiday(d):
            continue
        # weekly rhythm: busier at weekends
        rate = c.login_rate * (1.3 if d % 7 in (5, 6) else 0.88)
        for _ in range(_poisson(rng, rate)):
            t = day(d, hours=rng.uniform(7, 23))
            events.append(login(t, customer_id=cid))
            for _ in range(_poisson(rng, c.views_per_login)):
                dwell = rng.lognormvariate(math.log(45), 1.0)
                events.append(page_view(t + rng.randint(1, 900), min(dwell, 3600.0), customer_id=cid,
                                        category=c.category))
    d = rng.uniform(0, c.order_gap_days)
    complaints = 0
    while d < days:
        if not on_holiday(d):
            t = day(d, hours=rng.uniform(8, 22))
            amount = round(c.basket_median * rng.lognormvariate(0, c.basket_sigma), 2)
            category = c.category if rng.random() < 0.8 else "other"
            oid = f"{cid}-o{len(events)}"
            events.append(order(t, amount, category=category, order_id=oid, customer_id=cid))
            if rng.random() < 0.04:  # the odd return, a few days later
                events.append(order(t + rng.randint(2, 10) * DAY, amount, status="returned",
                                    category=category, order_id=oid, customer_id=cid))
            if rng.random() < 0.03:  # the odd complaint, resolved within two days
                complaints += 1
                kid = f"{cid}-k{complaints}"
                cat = rng.choice(("product", "logistics", "service", "billing"))
                opened = t + rng.randint(1, 5) * DAY
                events.append(complaint(opened, kid, "opened", cat, "low", customer_id=cid))
                events.append(complaint(opened + rng.randint(1, 20) * HOUR, kid, "resolved", cat, "low",
                                        customer_id=cid))
        d += rng.gammavariate(c.order_shape, c.order_gap_days / c.order_shape)
    events.sort(key=lambda e: e.occurred_at)
    return events


def _poisson(rng: random.Random, mu: float) -> int:
    # Knuth's method: fine for the small means used here
    limit, k, p = math.exp(-mu), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
